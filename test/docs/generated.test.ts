// The committed documentation site (generated/docs) in headless Chromium: every formula renders, the plot is there.

import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, chromiumAvailable, checkSite, type SiteCheck } from './browser.js';
import { CELL_NAMES } from '../helpers.js';

const onCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const haveChromium = chromiumAvailable();

describe.runIf(!haveChromium && onCI)('generated docs in Chromium (CI)', () => {
  it('has Chromium', () => {
    expect.fail(`${CHROMIUM_PATH} is missing on CI (install the chromium package)`);
  });
});

describe.runIf(haveChromium)('generated docs in Chromium', () => {
  let result: SiteCheck;
  beforeAll(async () => {
    // Long generated-code pages are checked but not photographed.
    result = await checkSite('generated/docs', { screenshotDir: fileURLToPath(new URL('../../test-output/docs-generated', import.meta.url)), screenshotOf: (p) => !p.startsWith('code/') });
  }, 900_000);

  it('finds no problem on any page: formulas, KaTeX CSS and fonts, links to the kernels, offline, layout', () => {
    expect(result.problems).toEqual([]);
  });

  it('has the index, the topic pages and one page per shipped cell', () => {
    const paths = result.pages.map((p) => p.path);
    for (const n of CELL_NAMES) expect(paths).toContain(`cells/${n}.html`);
    for (const p of ['index.html', 'vanishing.html', 'training.html', 'spec-format.html', 'agreement.html', 'kernels.html']) expect(paths).toContain(p);
    for (const n of CELL_NAMES) expect(paths).toContain(`code/${n}.ts.html`);
  });

  it('checks every page at a phone width and a desktop width', () => {
    const at = (v: string) => result.pages.filter((p) => p.viewport === v).map((p) => p.path);
    expect(at('phone')).toEqual(at('desktop'));
    expect(at('phone').length).toBeGreaterThan(CELL_NAMES.length * 3);
  });

  it('draws the agreement experiment: accuracy, gradient norms and the two clipping plots', () => {
    const a = result.pages.find((p) => p.path === 'agreement.html')!;
    expect(a.plots).toBe(4);
    expect(result.pages.find((p) => p.path === 'vanishing.html')!.plots).toBe(2);
  });

  it('renders every formula on every cell page, with no KaTeX error node', () => {
    for (const p of result.pages.filter((x) => x.path.startsWith('cells/'))) {
      expect(p.katexErrors, p.path).toBe(0);
      expect(p.formulas, p.path).toBeGreaterThan(p.equations);
      expect(p.katex, p.path).toBeGreaterThanOrEqual(p.formulas);
      expect(p.equations, p.path).toBeGreaterThan(5);
    }
  });

  it('draws the measured vanishing-gradient plot with one line per cell', () => {
    const v = result.pages.find((p) => p.path === 'vanishing.html')!;
    expect(v.plotSeries).toBe(3);
    expect(v.plotLines).toBe(3);
  });
});
