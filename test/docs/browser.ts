// Opens every page of a built docs site in headless Chromium and reports what did not render, load or resolve.
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a sandbox-less container that must not reach the network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface PageCheck {
  /** Relative to the site root, with `/`. */
  path: string;
  /** What the generator says it rendered (`main[data-formulas]`). */
  formulas: number;
  katex: number;
  katexErrors: number;
  /** Numbered equations (`li.eq`), each holding one display formula. */
  equations: number;
  katexFontFamily?: string;
  /** Lines drawn in the vanishing plot, and the series the generator meant to draw. */
  plotLines?: number;
  plotSeries?: number;
  /** Figures on the page (each checked: one drawn line per series). */
  plots: number;
  viewport: 'phone' | 'desktop';
  screenshot?: string;
}

export interface SiteCheck {
  pages: PageCheck[];
  /** Empty when the site is fine; each entry names the page. */
  problems: string[];
}

/** The widths every page is checked at: a phone and a desktop. */
export const VIEWPORTS = [
  { name: 'phone', width: 375, height: 740 },
  { name: 'desktop', width: 1280, height: 900 },
] as const;

export interface CheckOptions {
  /** Where to save one full-page PNG per page (created if missing). */
  screenshotDir?: string;
  /** Which pages get a screenshot (all when absent). */
  screenshotOf?: (path: string) => boolean;
  /** Reuse a browser; otherwise one is launched and closed. */
  browser?: Browser;
}

async function htmlFiles(dir: string, rel = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await htmlFiles(dir, r)));
    else if (e.name.endsWith('.html')) out.push(r);
  }
  return out;
}

/** What one page reports from inside the browser. */
interface InPage {
  formulas: number;
  katex: number;
  katexErrors: number;
  equations: number;
  equationFormulas: number;
  katexFontFamily?: string;
  fontsLoaded: string[];
  fontsFailed: string[];
  plotLines?: number;
  plotSeries?: number;
  plots: { series: number; lines: number; width: number }[];
  cut: string[];
  ids: string[];
  links: string[];
  overflow: number;
}

// Runs inside the page; a string because the project's TypeScript config has no DOM types.
// Every <details> is opened first, so menus are measured too. A formula is cut when it reaches past
// the edge of a box that hides overflow; inside a box that scrolls it is reachable.
const IN_PAGE = `(async () => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  await document.fonts.ready;
  const cut = [];
  for (const k of document.querySelectorAll('.katex')) {
    const r = k.getBoundingClientRect();
    let box = k.parentElement;
    while (box && box !== document.body && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
    const o = box && box !== document.body ? getComputedStyle(box).overflowX : 'visible';
    if (o === 'auto' || o === 'scroll') continue;
    const right = o === 'visible' ? window.innerWidth : box.getBoundingClientRect().right;
    if (r.right > right + 1) cut.push((k.textContent || '').slice(0, 60));
  }
  const figures = [...document.querySelectorAll('figure.plot[data-series]')];
  const main = document.querySelector('main');
  const first = document.querySelector('.katex');
  const figure = document.querySelector('figure.plot[data-series]');
  const faces = [...document.fonts];
  return {
    formulas: Number(main ? main.getAttribute('data-formulas') : NaN),
    katex: document.querySelectorAll('.katex').length,
    katexErrors: document.querySelectorAll('.katex-error').length,
    equations: document.querySelectorAll('li.eq').length,
    equationFormulas: document.querySelectorAll('li.eq .katex').length,
    katexFontFamily: first ? getComputedStyle(first).fontFamily : undefined,
    fontsLoaded: faces.filter((f) => f.status === 'loaded').map((f) => f.family.replace(/["']/g, '')),
    fontsFailed: faces.filter((f) => f.status === 'error').map((f) => f.family + ' ' + f.style + ' ' + f.weight),
    plotLines: figure ? figure.querySelectorAll('svg g.mark-line > path').length : undefined,
    plotSeries: figure ? Number(figure.getAttribute('data-series')) : undefined,
    plots: figures.map((f) => ({ series: Number(f.getAttribute('data-series')), lines: f.querySelectorAll('svg g.mark-line > path').length, width: f.querySelector('svg') ? f.querySelector('svg').getBoundingClientRect().width : 0 })),
    cut,
    ids: [...document.querySelectorAll('[id]')].map((e) => e.id),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  };
})()`;

export async function checkSite(dir: string, options: CheckOptions = {}): Promise<SiteCheck> {
  const root = path.resolve(dir);
  const files = await htmlFiles(root);
  const problems: string[] = [];
  const pages: PageCheck[] = [];
  const ids = new Map<string, Set<string>>();
  const links: { from: string; url: string }[] = [];
  if (files.length === 0) problems.push(`${root}: no .html files`);
  if (options.screenshotDir) await mkdir(options.screenshotDir, { recursive: true });

  const browser = options.browser ?? (await launchChromium());
  try {
    for (const vp of VIEWPORTS) {
    const context = await browser.newContext({ viewport: { width: vp.width, height: vp.height }, deviceScaleFactor: 1 });
    for (const file of files) {
      const page = await context.newPage();
      const say = (msg: string) => problems.push(`${file} (${vp.name}, ${vp.width}px): ${msg}`);
      // The site must work offline: anything but file: and data: is a leak to the network.
      page.on('request', (r) => {
        if (!/^(file|data|about):/.test(r.url())) say(`requests ${r.url()}`);
      });
      page.on('requestfailed', (r) => say(`failed to load ${r.url()} (${r.failure()?.errorText ?? 'unknown'})`));
      page.on('console', (m) => {
        if (m.type() === 'error') say(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => say(`page error: ${e.message}`));
      const url = pathToFileURL(path.join(root, file)).href;
      await page.goto(url, { waitUntil: 'load' });
      const r = (await page.evaluate(IN_PAGE)) as InPage;
      if (vp.name === 'desktop') {
        ids.set(url, new Set(r.ids));
        for (const l of r.links) links.push({ from: file, url: l });
      }
      for (const c of r.cut) say(`formula cut at the right edge: ${c}`);
      r.plots.forEach((p, i) => {
        if (!(p.series > 0) || p.lines !== p.series) say(`plot ${i + 1} has ${p.lines} lines for ${p.series} series`);
        if (!(p.width > 0)) say(`plot ${i + 1} has no drawing`);
      });

      if (!(r.formulas >= 0)) say('main[data-formulas] is missing');
      else if (r.katex !== r.formulas) say(`${r.katex} .katex elements, but the generator rendered ${r.formulas} formulas`);
      if (r.equationFormulas !== r.equations) say(`${r.equations} numbered equations hold ${r.equationFormulas} formulas`);
      if (r.katexErrors > 0) say(`${r.katexErrors} .katex-error elements`);
      if (r.katex > 0) {
        if (!r.katexFontFamily?.includes('KaTeX_Main')) say(`.katex font-family is "${r.katexFontFamily}": katex.min.css did not load`);
        if (!r.fontsLoaded.includes('KaTeX_Main')) say('the KaTeX_Main font did not load');
      }
      for (const f of r.fontsFailed) say(`font failed to load: ${f}`);
      if (r.overflow > 0) say(`page is ${r.overflow}px wider than the window`);

      const check: PageCheck = {
        path: file,
        formulas: r.formulas,
        katex: r.katex,
        katexErrors: r.katexErrors,
        equations: r.equations,
        katexFontFamily: r.katexFontFamily,
        plotLines: r.plotLines,
        plotSeries: r.plotSeries,
        plots: r.plots.length,
        viewport: vp.name,
      };
      if (options.screenshotDir && (options.screenshotOf?.(file) ?? true)) {
        check.screenshot = path.join(options.screenshotDir, file.replace(/\.html$/, '').replace(/[/\\]/g, '_') + `.${vp.name}.png`);
        await page.screenshot({ path: check.screenshot, fullPage: true });
      }
      pages.push(check);
      await page.close();
    }
    await context.close();
    }
  } finally {
    if (!options.browser) await browser.close();
  }

  // Links inside the site must reach a file, and an anchor must reach an id on that page.
  for (const { from, url } of links) {
    if (!url.startsWith('file:')) continue;
    const u = new URL(url);
    const hash = decodeURIComponent(u.hash.slice(1));
    u.hash = '';
    const target = decodeURIComponent(u.pathname);
    if (!existsSync(target)) problems.push(`${from}: broken link to ${url}`);
    else if (hash !== '' && ids.has(u.href) && !ids.get(u.href)!.has(hash)) problems.push(`${from}: no #${hash} in ${url}`);
  }
  return { pages, problems };
}
