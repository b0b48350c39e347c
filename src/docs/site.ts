// Writes the static documentation site: every page is rendered in memory first, so a bad formula writes nothing.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import Handlebars from 'handlebars';
import { compileTemplate } from '../text/templates.js';
import type { CellDoc, DocEquation, SiteInput } from './model.js';
import { loadTex, TexRenderer } from './tex.js';
import { formatBytes, formatInt, formatNumber, linkify, safeHref } from './html.js';
import { projectContent } from './markdown.js';
import { plottable, vanishingSvg } from './plot.js';
import { proseHtml } from './prose.js';
import { agreementView } from './agreement.js';
import { findTemplatesDir } from './input.js';
import { FAMILIES } from '../derive/roles.js';

export interface SiteOptions {
  /** Folder holding layout.hbs and friends; found by walking up from this file when omitted. */
  templatesDir?: string;
  /**
   * Rendered pages by key. A page's key is a hash of exactly the input it shows (and the caller
   * mixes in the version of cellgen and its templates), so a cached page is the page it would render.
   */
  pageCache?: { get(key: string): string | undefined; set(key: string, html: string): void };
}

interface Page {
  path: string;
  html: string;
}

const PAGE_TEMPLATES = ['layout', 'index', 'cell', 'vanishing', 'training', 'content', 'agreement', 'kernels', 'code'] as const;
type Templates = Record<(typeof PAGE_TEMPLATES)[number], Handlebars.TemplateDelegate>;

async function loadTemplates(dir: string): Promise<{ hbs: typeof Handlebars; t: Templates; css: string }> {
  // An isolated instance: helpers registered here never leak into other users of handlebars.
  const hbs = Handlebars.create();
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const entries = await Promise.all(
    PAGE_TEMPLATES.map(async (name) => {
      const src = await readFile(path.join(dir, `${name}.hbs`), 'utf8');
      return [name, compileTemplate(hbs, src, { strict: true })] as const;
    }),
  );
  const css = await readFile(path.join(dir, 'style.css'), 'utf8');
  return { hbs, t: Object.fromEntries(entries) as Templates, css };
}

function validate(input: SiteInput): void {
  const seen = new Set<string>();
  for (const cell of input.cells) {
    // The name becomes a file name and a URL: keep it to characters that need no escaping in either.
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(cell.name)) {
      throw new Error(`docs: cell name ${JSON.stringify(cell.name)} must be letters, digits, '-' or '_'`);
    }
    if (seen.has(cell.name)) throw new Error(`docs: two cells are named "${cell.name}"`);
    seen.add(cell.name);
    for (const k of cell.kernels) {
      if (safeHref(k.href) === undefined) throw new Error(`docs: cell "${cell.name}": kernel link ${JSON.stringify(k.href)} is not a relative path or http(s) URL`);
    }
  }
}

/** A page's renderer plus the two helpers templates use for prose math: {{{math "..."}}} and {{{imath "..."}}}. */
function pageTex(page: string) {
  const tex = new TexRenderer(page);
  let n = 0;
  const helpers = {
    math: (s: string) => tex.render(s, `template formula ${++n}`, true),
    imath: (s: string) => tex.render(s, `template formula ${++n}`, false),
  };
  return { tex, helpers };
}

const SECTIONS = [
  { key: 'forward', id: 'forward', title: 'Forward step', what: 'forward equation' },
  { key: 'backward', id: 'backward', title: 'Backward step (BPTT adjoints)', what: 'backward equation' },
  { key: 'gradients', id: 'gradients', title: 'Parameter gradients', what: 'gradient equation' },
  { key: 'jacobian', id: 'jacobian', title: 'Recurrent Jacobian', what: 'Jacobian equation' },
] as const;

/** Display equations, numbered once per page (the renderer holds the page's count). */
function equations(tex: TexRenderer, cell: CellDoc, eqs: DocEquation[], what: string) {
  return eqs.map((eq, i) => ({ ...tex.equation(eq, `cell "${cell.name}", ${what} ${i + 1} (${eq.lhs} = ...)`), no: ++tex.numbered }));
}

interface NavItem {
  label: string;
  href: string;
  active: boolean;
}

/** Cells by family in the notes' order (RNN, GRU, LSTM, then any other), each family from the fewest parameters. */
export function families(cells: readonly CellDoc[]): { name: string; cells: CellDoc[] }[] {
  const names = [...new Set(cells.map((c) => c.family))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return names.map((name) => ({ name, cells: cells.filter((c) => c.family === name).sort((a, b) => a.paramCount.example - b.paramCount.example || a.name.localeCompare(b.name)) }));
}
const rank = (f: string) => {
  const i = (FAMILIES as readonly string[]).indexOf(f);
  return i < 0 ? FAMILIES.length : i;
};

function nav(input: SiteInput, current: string, root: string): { main: NavItem[]; families: { name: string; cells: NavItem[] }[]; cellActive: boolean } {
  const item = (label: string, file: string) => ({ label, href: root + file, active: file === current });
  const main = [item('Overview', 'index.html'), item('Vanishing gradients', 'vanishing.html')];
  if (input.agreement) main.push(item('Agreement experiment', 'agreement.html'));
  main.push(item('Long sequences', 'training.html'), item('Using the kernels', 'kernels.html'));
  if (input.specFormatMarkdown !== undefined) main.push(item('Spec format', 'spec-format.html'));
  const fams = families(input.cells).map((f) => ({ name: f.name, cells: f.cells.map((c) => item(c.title, `cells/${c.name}.html`)) }));
  return { main, families: fams, cellActive: current.startsWith('cells/') || current.startsWith('code/') };
}

function layout(t: Templates, input: SiteInput, file: string, title: string, body: string, formulas: number): Page {
  const root = file.includes('/') ? '../' : '';
  const html = t.layout({ title, root, nav: nav(input, file, root), body, formulas });
  return { path: file, html };
}

function indexPage(t: Templates, input: SiteInput): Page {
  const { tex, helpers } = pageTex('index.html');
  const rows = input.cells.map((cell) => ({
    name: cell.name,
    title: cell.title,
    href: `cells/${cell.name}.html`,
    sizes: cell.sizes.length ? tex.render(cell.sizes.map((s) => `${s.symbol} = ${s.example}`).join(',\\; '), `cell "${cell.name}", example sizes`, false) : '',
    paramFormula: tex.render(cell.paramCount.formula, `cell "${cell.name}", parameter count formula`, false),
    paramExample: formatInt(cell.paramCount.example),
    opsForward: formatInt(cell.ops.forward),
    opsBackward: formatInt(cell.ops.backward),
    saved: formatBytes(cell.savedBytesPerStep),
  }));
  const benchmark = input.benchmarkMarkdown === undefined ? undefined : projectContent(input.benchmarkMarkdown);
  const body = t.index({ rows, benchmark }, { helpers });
  return layout(t, input, 'index.html', 'Cells compared', body, tex.count);
}

function cellPage(t: Templates, input: SiteInput, cell: CellDoc): Page {
  const file = `cells/${cell.name}.html`;
  const { tex, helpers } = pageTex(file);
  const sections = SECTIONS.map((s) => ({ id: s.id, title: s.title, key: s.key, equations: equations(tex, cell, cell[s.key], s.what) }));
  const width = Math.max(0, ...cell.example.tables.map((tb) => tb.values.length));
  const example = {
    title: cell.example.title,
    indices: Array.from({ length: width }, (_, i) => i + 1),
    rows: cell.example.tables.map((tb, i) => ({
      name: tb.name,
      latex: tex.render(tb.latexName, `cell "${cell.name}", example table ${i + 1} name`, false),
      values: tb.values.map((v) => formatNumber(v)),
      pad: width - tb.values.length,
    })),
  };
  const body = t.cell(
    {
      name: cell.name,
      title: cell.title,
      description: proseHtml(cell.description, tex, `cell "${cell.name}", description`),
      family: cell.family,
      legend: cell.legend.map((l, i) => ({
        symbol: tex.render(l.symbol, `cell "${cell.name}", legend ${i + 1} symbol`, false),
        definition: tex.render(l.definition, `cell "${cell.name}", legend ${i + 1} definition`, false),
        note: l.note,
      })),
      references: cell.references.map(linkify),
      specSource: cell.specSource,
      sizes: cell.sizes.map((s, i) => ({ name: s.name, symbol: tex.render(s.symbol, `cell "${cell.name}", size ${i + 1} symbol`, false), example: formatInt(s.example) })),
      paramCount: tex.render(`P = ${cell.paramCount.formula}`, `cell "${cell.name}", parameter count formula`, true),
      paramExample: formatInt(cell.paramCount.example),
      opsForward: formatInt(cell.ops.forward),
      opsBackward: formatInt(cell.ops.backward),
      saved: formatBytes(cell.savedBytesPerStep),
      sections,
      example,
      kernels: cell.kernels.map((k) => {
        const href = safeHref(k.href)!;
        return { label: k.label, href: /^https?:/i.test(href) || href.startsWith('#') ? href : '../' + href };
      }),
    },
    { helpers },
  );
  return layout(t, input, file, cell.title, body, tex.count);
}

async function vanishingPage(t: Templates, input: SiteInput): Promise<Page> {
  const { tex, helpers } = pageTex('vanishing.html');
  const byName = new Map(input.cells.map((c) => [c.name, c]));
  const points = plottable(input.vanishing);
  const drawn = input.vanishing.filter((s) => points.some((p) => p.cell === s.cell));
  const dropped = input.vanishing.reduce((n, s) => n + s.points.length, 0) - points.length;
  const summary = drawn.map((s) => {
    const ps = points.filter((p) => p.cell === s.cell).sort((a, b) => a.lag - b.lag);
    const first = ps[0]!;
    const last = ps[ps.length - 1]!;
    // Geometric mean of the per-step ratio: the base of the exponential the notes predict.
    const factor = last.lag > first.lag ? Math.pow(last.norm / first.norm, 1 / (last.lag - first.lag)) : NaN;
    const cell = byName.get(s.cell);
    return {
      cell: s.cell,
      href: cell ? `cells/${cell.name}.html#jacobian` : undefined,
      firstLag: formatInt(first.lag),
      firstNorm: formatNumber(first.norm, 3),
      lastLag: formatInt(last.lag),
      lastNorm: formatNumber(last.norm, 3),
      factor: Number.isNaN(factor) ? '\u2014' : formatNumber(factor, 3),
    };
  });
  const jacobians = input.cells
    .filter((c) => c.jacobian.length > 0)
    .map((c) => ({ name: c.name, title: c.title, href: `cells/${c.name}.html#jacobian`, equations: equations(tex, c, c.jacobian, 'Jacobian equation') }));
  const svg = drawn.length > 0 ? await vanishingSvg(input.vanishing) : '';
  const trained = input.agreement ? await agreementView(input.agreement, tex, ['gradient']) : undefined;
  const body = t.vanishing(
    { svg, series: drawn.length, summary, dropped, setup: input.vanishingSetup, jacobians, trained },
    { helpers },
  );
  return layout(t, input, 'vanishing.html', 'Vanishing gradients', body, tex.count);
}

/** A generated file shown as text inside the site. */
function codePage(t: Templates, input: SiteInput, cell: CellDoc, f: CellDoc['code'][number]): Page {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(f.file)) throw new Error(`docs: cell "${cell.name}": code file name ${JSON.stringify(f.file)} must be letters, digits, '.', '-' or '_'`);
  const file = `code/${f.file}.html`;
  const body = t.code({ label: f.label, cell: cell.title, cellHref: `../cells/${cell.name}.html`, text: f.text, lines: f.text.split('\n').length });
  return layout(t, input, file, f.label, body, 0);
}

function kernelsPage(t: Templates, input: SiteInput): Page {
  const { tex, helpers } = pageTex('kernels.html');
  const first = input.cells[0];
  const body = t.kernels({ example: first?.name ?? 'gru', families: families(input.cells).map((f) => ({ name: f.name, cells: f.cells.map((c) => ({ name: c.name, title: c.title, code: c.code.map((k) => ({ label: k.label, href: `code/${k.file}.html` })) })) })) }, { helpers });
  return layout(t, input, 'kernels.html', 'Using the kernels', body, tex.count);
}

function trainingPage(t: Templates, input: SiteInput): Page {
  const { tex, helpers } = pageTex('training.html');
  const body = t.training({}, { helpers });
  return layout(t, input, 'training.html', 'Long sequences: clipping, truncation, bidirectional and deep RNNs', body, tex.count);
}

function contentPage(t: Templates, input: SiteInput, file: string, title: string, src: string): Page {
  return layout(t, input, file, title, t.content({ title, html: projectContent(src) }), 0);
}

/** KaTeX's stylesheet and exactly the font files it references, so the site renders offline. */
async function katexAssets(): Promise<{ css: string; fonts: { from: string; to: string }[] }> {
  const require = createRequire(import.meta.url);
  const cssPath = require.resolve('katex/dist/katex.min.css');
  const css = await readFile(cssPath, 'utf8');
  const names = [...new Set([...css.matchAll(/url\((?:["']?)fonts\/([^)"']+)(?:["']?)\)/g)].map((m) => m[1]!))].sort();
  const fontsDir = path.join(path.dirname(cssPath), 'fonts');
  return { css, fonts: names.map((n) => ({ from: path.join(fontsDir, n), to: `katex/fonts/${n}` })) };
}

/**
 * Renders the whole site into outDir and returns the relative paths written, sorted.
 * Deterministic: the same input gives the same bytes. Files from earlier builds are not removed.
 */
export async function writeSite(input: SiteInput, outDir: string, options: SiteOptions = {}): Promise<string[]> {
  const files = await renderSite(input, options);
  for (const [rel, data] of files) {
    const abs = path.join(outDir, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, data);
  }
  return files.map(([rel]) => rel);
}

/** The whole site in memory: (relative path, content), sorted by path. Nothing is written. */
export async function renderSite(input: SiteInput, options: SiteOptions = {}): Promise<[string, string | Uint8Array][]> {
  validate(input);
  const { t, css } = await loadTemplates(options.templatesDir ?? findTemplatesDir());
  const navDeps = { cells: input.cells.map((c) => [c.name, c.title, c.family, c.paramCount.example]), spec: input.specFormatMarkdown !== undefined, agreement: input.agreement !== undefined };
  const page = async (file: string, deps: unknown, render: () => Page | Promise<Page>): Promise<Page> => {
    const key = createHash('sha256').update(JSON.stringify([file, navDeps, deps])).digest('hex');
    const hit = options.pageCache?.get(key);
    if (hit !== undefined) return { path: file, html: hit };
    await loadTex();
    const p = await render();
    options.pageCache?.set(key, p.html);
    return p;
  };
  const rows = input.cells.map((c) => [c.name, c.title, c.sizes, c.paramCount, c.ops, c.savedBytesPerStep]);
  const pages: Page[] = [await page('index.html', [rows, input.benchmarkMarkdown], () => indexPage(t, input))];
  for (const cell of input.cells) pages.push(await page(`cells/${cell.name}.html`, cell, () => cellPage(t, input, cell)));
  const jacobians = input.cells.map((c) => [c.name, c.title, c.jacobian]);
  pages.push(await page('vanishing.html', [input.vanishing, input.vanishingSetup, jacobians, input.agreement], () => vanishingPage(t, input)));
  const agreement = input.agreement;
  if (agreement) {
    pages.push(await page('agreement.html', agreement, async () => {
      const { tex, helpers } = pageTex('agreement.html');
      const body = t.agreement(await agreementView(agreement, tex), { helpers });
      return layout(t, input, 'agreement.html', 'Agreement across a clause: the notes’ story, trained', body, tex.count);
    }));
  }
  pages.push(await page('training.html', null, () => trainingPage(t, input)));
  pages.push(await page('kernels.html', input.cells.map((c) => [c.name, c.title, c.code.map((k) => k.label)]), () => kernelsPage(t, input)));
  for (const cell of input.cells)
    for (const f of cell.code) pages.push(await page(`code/${f.file}.html`, [cell.name, cell.title, f], () => codePage(t, input, cell, f)));
  if (input.specFormatMarkdown !== undefined) {
    const md = input.specFormatMarkdown;
    pages.push(await page('spec-format.html', md, () => contentPage(t, input, 'spec-format.html', 'Spec format', md)));
  }
  const katexFiles = await katexAssets();

  const files: [string, string | Uint8Array][] = pages.map((p) => [p.path, p.html]);
  files.push(['style.css', css], ['katex/katex.min.css', katexFiles.css]);
  for (const f of katexFiles.fonts) files.push([f.to, new Uint8Array(await readFile(f.from))]);
  return files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
