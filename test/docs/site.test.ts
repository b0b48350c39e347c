// The docs site: files, determinism, build-time KaTeX errors, escaping, then the pages in headless Chromium.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSite } from '../../src/docs/site.js';
import type { SiteInput } from '../../src/docs/model.js';
import { CHROMIUM_PATH, chromiumAvailable, checkSite, type SiteCheck } from './browser.js';
import { HOSTILE, equationCount, fixture } from './fixture.js';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'cellgen-docs-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function build(name: string, input: SiteInput = fixture()): Promise<{ dir: string; files: string[] }> {
  const dir = path.join(tmp, name);
  const files = await writeSite(input, dir);
  return { dir, files };
}

const read = (dir: string, file: string) => readFile(path.join(dir, file), 'utf8');

describe('writeSite', () => {
  it('writes the index, a page per cell, the topic pages, the stylesheet and KaTeX with its fonts', async () => {
    const { files } = await build('files');
    for (const f of ['index.html', 'cells/rnn.html', 'cells/gru.html', 'vanishing.html', 'training.html', 'spec-format.html', 'style.css', 'katex/katex.min.css']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('katex/fonts/') && f.endsWith('.woff2')).length).toBeGreaterThan(10);
    expect(files).toEqual([...files].sort());
  });

  it('gives the same bytes for the same input', async () => {
    const a = await build('det-a');
    const b = await build('det-b');
    expect(b.files).toEqual(a.files);
    for (const f of a.files) {
      const [x, y] = await Promise.all([readFile(path.join(a.dir, f)), readFile(path.join(b.dir, f))]);
      expect(x.equals(y), f).toBe(true);
    }
  });

  it('throws on a malformed formula, naming the cell and the equation, and writes nothing', async () => {
    const input = fixture();
    input.cells[1]!.backward[1] = { lhs: '\\delta z_t', rhs: '\\frac{\\delta h_t' };
    const dir = path.join(tmp, 'bad');
    await expect(writeSite(input, dir)).rejects.toThrow(/cells\/gru\.html: bad LaTeX in cell "gru", backward equation 2 \(\\delta z_t = \.\.\.\)/);
    expect(existsSync(dir)).toBe(false);
  });

  it('throws on a malformed size symbol or parameter formula too', async () => {
    const input = fixture();
    input.cells[0]!.paramCount.formula = '\\frac{H';
    await expect(writeSite(input, path.join(tmp, 'bad2'))).rejects.toThrow(/cell "rnn", parameter count formula/);
  });

  it('escapes names, titles, descriptions, notes and the spec source', async () => {
    const { dir } = await build('escape');
    const gru = await read(dir, 'cells/gru.html');
    const index = await read(dir, 'index.html');
    for (const html of [gru, index]) {
      expect(html).not.toContain('<script');
      expect(html).not.toContain('<img');
    }
    expect(gru).toContain('GRU &lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; &amp; friends');
    expect(gru).toContain('&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;');
    expect(gru).toContain('note with &lt;em&gt;markup&lt;/em&gt; &amp; an ampersand');
    expect(gru).toContain('hidden &lt;i&gt;size&lt;/i&gt;');
    expect(gru).toContain('<a href="https://arxiv.org/abs/1406.1078">');
    expect(gru).not.toContain('<u>');
    const spec = await read(dir, 'spec-format.html');
    expect(spec).not.toContain('<script');
    expect(spec).toContain('<a href="https://example.org">a link</a>');
    expect(spec).toContain('<table class="md">');
  });

  it('escapes cell names in the vanishing plot and its table', async () => {
    const input = fixture();
    input.vanishing[1]!.cell = '<script>alert("plot")</script>';
    const { dir } = await build('escape-plot', input);
    const html = await read(dir, 'vanishing.html');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;plot&quot;)&lt;/script&gt;');
  });

  it('numbers equations once per page, so the numbers run on across sections', async () => {
    const { dir } = await build('numbers');
    const html = await read(dir, 'cells/gru.html');
    const numbers = [...html.matchAll(/<span class="eq-no">\((\d+)\)<\/span>/g)].map((m) => Number(m[1]));
    expect(numbers).toEqual(Array.from({ length: equationCount(fixture().cells[1]!) }, (_, i) => i + 1));
    expect(html).toContain('id="eq-1"');
  });

  it('puts the equations first and the spec after them on a cell page', async () => {
    const { dir } = await build('order');
    const html = await read(dir, 'cells/rnn.html');
    const at = (id: string) => html.indexOf(`<section id="${id}">`);
    expect(at('forward')).toBeGreaterThan(0);
    expect(at('forward')).toBeLessThan(at('backward'));
    expect(at('jacobian')).toBeLessThan(at('cost'));
    expect(at('kernels')).toBeLessThan(at('spec'));
  });

  it('typesets the formulas in a description and leaves code names alone', async () => {
    const { dir } = await build('prose');
    const html = await read(dir, 'cells/rnn.html');
    const desc = html.slice(html.indexOf('<div class="description">'), html.indexOf('</div>', html.indexOf('<div class="description">')));
    expect((desc.match(/class="katex"/g) ?? []).length).toBe(2);
    expect(desc).toContain('linear_before_reset');
    expect(desc).toContain('<annotation encoding="application/x-tex">h_t = \\tanh(W_h x_t + U_h h_{t-1} + b_h)</annotation>');
    expect(desc).toContain('<annotation encoding="application/x-tex">\\operatorname{diag}(1 - h_t^2) U_h</annotation>');
  });

  it('explains the pre-activation symbols in a legend', async () => {
    const { dir } = await build('legend');
    const html = await read(dir, 'cells/gru.html');
    expect(html).toContain('<div class="legend">');
    expect(html).toContain('note with &lt;em&gt;markup&lt;/em&gt;');
  });

  it('groups the cells in the navigation by family, RNN before GRU, on every page', async () => {
    const input = fixture();
    input.cells.push({ ...structuredClone(input.cells[0]!), name: 'lstm', title: 'An LSTM', family: 'LSTM' }, { ...structuredClone(input.cells[0]!), name: 'odd', title: 'Odd one', family: 'Other' });
    const { dir } = await build('nav', input);
    for (const f of ['index.html', 'cells/gru.html', 'kernels.html']) {
      const html = await read(dir, f);
      const fams = [...html.matchAll(/<section class="nav-family" aria-label="([^"]+) family">/g)].map((m) => m[1]);
      expect(fams, f).toEqual(['RNN', 'GRU', 'LSTM', 'Other']);
    }
  });

  it('shows the generated code inside the site, escaped, and links to it from the cell page', async () => {
    const { dir } = await build('code');
    const code = await read(dir, 'code/gru.ts.html');
    expect(code).not.toContain('<script');
    expect(code).toContain('&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;');
    const cell = await read(dir, 'cells/gru.html');
    expect(cell).toContain('href="../code/gru.ts.html"');
    expect(cell).not.toMatch(/href="\.\.\/\.\.\//);
  });

  it('leaves out the agreement page when there are no results', async () => {
    const input = fixture();
    delete input.agreement;
    const { files } = await build('no-agreement', input);
    expect(files).not.toContain('agreement.html');
    expect(files).toContain('kernels.html');
  });

  it('refuses kernel links with a script scheme and cell names that are not file names', async () => {
    const a = fixture();
    a.cells[0]!.kernels = [{ label: 'x', href: 'javascript:alert(1)' }];
    await expect(writeSite(a, path.join(tmp, 'bad3'))).rejects.toThrow(/kernel link/);
    const b = fixture();
    b.cells[0]!.name = '../evil';
    await expect(writeSite(b, path.join(tmp, 'bad4'))).rejects.toThrow(/cell name/);
  });
});

// The browser half needs Chromium: skipped with a message on a workstation without it, a failure on CI.
const onCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const haveChromium = chromiumAvailable();
if (!haveChromium && !onCI) {
  console.warn(`test/docs: skipping the browser checks: ${CHROMIUM_PATH} not found (apt-get install -y chromium fonts-dejavu-core); with CI=true this fails instead`);
}

describe.runIf(!haveChromium && onCI)('docs site in Chromium (CI)', () => {
  it('has Chromium', () => {
    expect.fail(`${CHROMIUM_PATH} is missing on CI: the docs browser checks cannot run (install the chromium package)`);
  });
});

describe.runIf(haveChromium)('docs site in Chromium', () => {
  const input = fixture();
  let dir = '';
  let result: SiteCheck;
  const page = (p: string) => result.pages.find((x) => x.path === p)!;

  beforeAll(async () => {
    ({ dir } = await build('browser', input));
    // The fixture's kernel links point into the site; give them something to land on.
    await mkdir(path.join(dir, 'kernels'), { recursive: true });
    for (const k of input.cells.flatMap((c) => c.kernels)) if (k.href.startsWith('kernels/')) await writeFile(path.join(dir, k.href), '// kernel\n');
    result = await checkSite(dir, { screenshotDir: fileURLToPath(new URL('../../test-output/docs', import.meta.url)) });
  });

  it('finds no problem on any page (formulas, KaTeX CSS and fonts, links, offline, layout)', () => {
    expect(result.problems).toEqual([]);
    expect([...new Set(result.pages.map((p) => p.path))]).toEqual(['agreement.html', 'cells/gru.html', 'cells/rnn.html', 'code/gru.ts.html', 'code/rnn.ts.html', 'index.html', 'kernels.html', 'spec-format.html', 'training.html', 'vanishing.html']);
    // Every page is checked at a phone's width and a desktop's.
    expect(result.pages.filter((p) => p.viewport === 'phone').length).toBe(result.pages.filter((p) => p.viewport === 'desktop').length);
  });

  it('renders every equation of every cell page, with no KaTeX error', () => {
    for (const cell of input.cells) {
      const p = page(`cells/${cell.name}.html`);
      expect(p.equations).toBe(equationCount(cell));
      // Equations, plus one display for the parameter count and inline formulas for sizes, example names and prose.
      expect(p.katex).toBe(p.formulas);
      expect(p.katex).toBeGreaterThan(equationCount(cell));
      expect(p.katexErrors).toBe(0);
    }
  });

  it('loads the KaTeX stylesheet', () => {
    expect(page('cells/gru.html').katexFontFamily).toContain('KaTeX_Main');
  });

  it('draws every plot of the agreement page, one line per series', () => {
    const a = page('agreement.html');
    expect(a.plots).toBe(4);
    expect(result.problems.filter((p) => p.includes('plot'))).toEqual([]);
  });

  it('reports a formula cut by a box that hides overflow, and a page wider than a phone', async () => {
    const { dir: cut } = await build('cut', input);
    const css = await read(cut, 'style.css');
    await writeFile(path.join(cut, 'style.css'), `${css}\n.katex-display { overflow: hidden !important; } main { min-width: 500px; }\n`);
    const r = await checkSite(cut);
    expect(r.problems.some((p) => p.includes('(phone, 375px)') && p.includes('formula cut at the right edge'))).toBe(true);
    expect(r.problems.some((p) => p.includes('(phone, 375px)') && p.includes('wider than the window'))).toBe(true);
    expect(r.problems.some((p) => p.includes('(desktop') && p.includes('wider than the window'))).toBe(false);
  });

  it('draws the vanishing plot with one line per cell', () => {
    const v = page('vanishing.html');
    expect(v.plotLines).toBe(input.vanishing.length);
    expect(v.equations).toBe(input.cells.reduce((n, c) => n + c.jacobian.length, 0));
  });

  it('reports a site whose KaTeX stylesheet, fonts or link targets are missing', async () => {
    const { dir: broken } = await build('broken', input);
    await rm(path.join(broken, 'katex', 'katex.min.css'));
    const r = await checkSite(broken);
    expect(r.problems.some((p) => p.startsWith('cells/gru.html (') && p.includes('.katex font-family'))).toBe(true);
    expect(r.problems.some((p) => p.includes('failed to load') && p.includes('katex.min.css'))).toBe(true);
    expect(r.problems.some((p) => p.includes('broken link') && p.includes('kernels/gru.wgsl'))).toBe(true);
  });

  it('saves a screenshot of every page', () => {
    for (const p of result.pages) expect(existsSync(p.screenshot!), p.path).toBe(true);
  });
});
