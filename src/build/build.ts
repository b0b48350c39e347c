// The build: every cell through derivation, every emitter and the numeric checks, into one file tree.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Diagnostic, registerSource } from '../spec/diagnostic.js';
import { VANISHING_CELLS } from '../docs/input.js';
import { BuildCache, cacheKey } from './cache.js';
import { CellJob, COMMAND, type Documented, type PartKind } from './cell.js';
import type { FileTree } from './files.js';
import { plan, runTasks, type Task } from './pool.js';
import { startRenderer } from './render.js';
import { runtimeFiles } from './runtime.js';
import { useTemplateFolder } from '../text/templates.js';
import { trace } from '../text/trace.js';

export { COMMAND, LIMITS } from './cell.js';

export interface BuildOptions {
  readonly cellsDir: string;
  readonly only?: readonly string[];
  /** Run the numeric checks (gradient check, kernels against the reference). */
  readonly verify: boolean;
  /** Build the documentation site (generated/docs). */
  readonly docs: boolean;
  readonly log: (line: string) => void;
  /** Called as each cell is done: for a progress bar. */
  readonly progress?: (done: number, total: number, label: string) => void;
  /** Cache folder (see cache.ts); no cache when undefined. */
  readonly cacheDir?: string;
  /** Type-check the emitted TypeScript under strict (the tests always do; slow, off by default). */
  readonly typecheck?: boolean;
}

export interface CellReport {
  readonly name: string;
  readonly params: number;
  readonly paramsFormula: string;
  readonly forwardFlops: number;
  readonly backwardFlops: number;
  readonly savedBytes: number;
  readonly gradCheck?: number;
  readonly kernelF64?: number;
  readonly kernelF32?: number;
  readonly ms: number;
  /** Every part of this cell came from the build cache. */
  readonly cached: boolean;
}

export interface BuildResult {
  readonly tree: FileTree;
  readonly reports: CellReport[];
  /** Paths owned by the selected cells (all paths when no --only). */
  readonly owns: (path: string) => boolean;
}

export function specFiles(cellsDir: string): string[] {
  let isDir = false;
  try {
    isDir = statSync(cellsDir).isDirectory();
  } catch {}
  if (!isDir)
    throw new Diagnostic(`no folder '${cellsDir}': cellgen build reads the cell specs (*.cell.yaml) from it`, undefined, `run cellgen in your project's root, pass --cells <dir>, or start one with 'cellgen new my-cell' (see 'cellgen --help')`);
  return readdirSync(cellsDir).filter((f) => f.endsWith('.cell.yaml')).sort().map((f) => join(cellsDir, f));
}

/**
 * The text of a spec file. Anything but a readable regular file (a folder, a named pipe that would block the build, a
 * broken link) is a Diagnostic naming it.
 */
export function readSpecFile(file: string): string {
  let s: ReturnType<typeof statSync> | undefined;
  try {
    s = statSync(file);
  } catch {}
  const what = !s ? 'a broken link' : s.isDirectory() ? 'a folder' : !s.isFile() ? 'not a regular file' : undefined;
  const hint = 'cellgen reads every *.cell.yaml in the folder: remove or rename it';
  if (what) throw new Diagnostic(`${file} is ${what}, not a spec file`, undefined, hint);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Diagnostic(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, undefined, hint);
  }
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const files = specFiles(opts.cellsDir);
  if (files.length === 0) throw new Diagnostic(`no *.cell.yaml files in ${opts.cellsDir}`, undefined, "create one with 'cellgen new <name>'");
  const cache = opts.cacheDir === undefined ? undefined : new BuildCache(opts.cacheDir);
  useTemplateFolder(cache && join(cache.dir, 'hbs'));
  const jobs = files.map((f) => new CellJob(f.split('\\').join('/'), readSpecFile(f), cache));
  const names = jobs.map((j) => j.name);
  for (const o of opts.only ?? []) if (!names.includes(o)) throw new Diagnostic(`--only names '${o}', which is not a cell in ${opts.cellsDir}`, undefined, `cells: ${names.join(', ')}`);
  const selected = jobs.filter((j) => !opts.only || opts.only.includes(j.name));
  const tree: FileTree = new Map();
  const reports: CellReport[] = [];
  const total = selected.length + (opts.docs ? 1 : 0);
  let done = 0;
  // The parts no cache holds are computed first, on worker threads where there are any (pool.ts).
  const t0 = performance.now();
  const ms = new Map<CellJob, number>();
  const tasks: Task[] = [];
  for (const job of jobs) {
    registerSource(job.file, job.text);
    const want: PartKind[] = selected.includes(job) ? ['emit', ...(opts.verify ? ['verify' as const] : [])] : [];
    if (opts.docs) want.push('doc');
    const parts = job.missing(want);
    const heavy = parts.includes('doc') && (VANISHING_CELLS as readonly string[]).includes(job.name);
    if (parts.length) tasks.push({ job, parts, weight: (heavy ? 1e9 : 0) + job.text.length });
  }
  trace(`cache read: ${tasks.length} cells to build`);
  const { workers, local } = plan(tasks.length);
  // The site's formulas from the last build (the templates', the prose's), and the render worker when there is much
  // to render (render.ts): it starts now, so it loads and draws while this thread builds the cells.
  const siteMemo = opts.docs ? cache?.get<[string, string][]>('tex', SITE_MEMO()) : undefined;
  const renderer = opts.docs ? await startRenderer(jobs, tasks.filter((t) => t.parts.includes('doc')).map((t) => t.job), cache, svgStore(cache), siteMemo) : undefined;
  try {
    return await assemble();
  } finally {
    renderer?.close();
  }
  async function assemble(): Promise<BuildResult> {
    // esbuild (which the checks transpile each emitted module with) starts its service, a child process, while this
    // thread loads the compiler.
    if (tasks.length && workers === 0) void import('../check/kernels.js').then((k) => k.startEsbuild());
    if (workers > 0) {
      done = selected.filter((j) => !tasks.some((t) => t.job === j)).length;
      const threads = workers + (local ? 1 : 0);
      opts.progress?.(done, total, `building ${tasks.length} cell${tasks.length === 1 ? '' : 's'} on ${threads} thread${threads === 1 ? '' : 's'}`);
      // Meanwhile this thread loads the documentation renderer.
      const warm = opts.docs && !renderer ? siteWarmer(jobs, cache) : async () => {};
      const preload = opts.docs && !local ? import('../docs/site.js').then(() => import('../docs/tex.js')).then((t) => t.loadTex()).then(warm).catch(() => {}) : undefined;
      await runTasks(
        tasks,
        workers,
        (job) => {
          ms.set(job, performance.now() - t0);
          if (selected.includes(job)) opts.progress?.(++done, total, job.name);
        },
        local,
        warm,
      );
      await preload;
      trace('cells built');
    }
    for (const job of selected) {
      if (workers === 0) opts.progress?.(done, total, job.name);
      const t1 = performance.now();
      const e = await job.emitted();
      for (const [p, text] of e.files) tree.set(p, text);
      const v = opts.verify ? await job.verified() : undefined;
      const { files: _files, ...stats } = e;
      reports.push({ name: job.name, ...stats, ...v, ms: ms.get(job) ?? performance.now() - t1, cached: job.cached });
      if (workers === 0) opts.progress?.(++done, total, job.name);
    }
    const index = jobs.map((j) => `export * as ${camel(j.name)} from './${j.name}.js';`).join('\n');
    tree.set('ts/index.ts', `// Every generated cell module; generated by \`${COMMAND}\`, do not edit.\n${index}\n`);
    for (const [p, text] of runtimeFiles(COMMAND)) tree.set(`wgsl/${p}`, text);
    if (opts.typecheck) {
      opts.log('type-checking the generated TypeScript');
      const { typeCheck } = await import('./typecheck.js');
      typeCheck([...tree].filter(([p]) => p.startsWith('ts/') && p.endsWith('.ts')).map(([path, text]) => ({ path, text: text as string })), jobs.filter((j) => !selected.includes(j)).map((j) => j.name));
    }
    if (opts.docs) {
      opts.progress?.(done, total, 'docs');
      // The site is built from every cell; with --only, unselected cells are documented too.
      const parts: Documented[] = [];
      if (renderer) parts.push(...(await renderer.documentAll(jobs)));
      else for (const j of jobs) parts.push(await j.documented());
      const ahead = (await renderer?.rendered()) ?? [];
      for (const [p, content] of await site(parts, cache, siteMemo ?? [], ahead)) tree.set(`docs/${p}`, content);
      trace('site rendered');
      opts.progress?.(++done, total, 'docs');
    }
    const owned = new Set(selected.map((j) => j.name));
    const owns = (path: string): boolean => {
      if (!opts.only) return true;
      const m = /^(?:latex|ts|wgsl)\/([a-z0-9-]+)[./]/.exec(path);
      return m ? owned.has(m[1]!) : true;
    };
    return { tree, reports, owns };
  }
}

const SITE_MEMO = () => cacheKey('site formulas');

/**
 * Site work that can start before every cell is built (on a thread that would otherwise wait, or between cells): the
 * figures, drawn into the figure store (docs/plot.ts), so the site, rendered last on one thread, finds them drawn.
 * Each call does at most one step; errors are left to the site to report.
 */
function siteWarmer(jobs: readonly CellJob[], cache: BuildCache | undefined): () => Promise<void> {
  let agreement = false;
  let vanishing = false;
  return async () => {
    try {
      if (!agreement) {
        agreement = true;
        const [{ agreementResults }, plot, tex, { agreementView }] = await Promise.all([import('../docs/input.js'), import('../docs/plot.js'), import('../docs/tex.js'), import('../docs/agreement.js')]);
        const results = agreementResults();
        if (!results) return;
        plot.useSvgStore(svgStore(cache));
        await tex.loadTex();
        await agreementView(results, new tex.TexRenderer('agreement.html'));
      } else if (!vanishing) {
        const shown = jobs.filter((j) => (VANISHING_CELLS as readonly string[]).includes(j.name));
        if (!shown.every((j) => j.has('doc'))) return;
        vanishing = true;
        const [{ vanishingOf }, plot] = await Promise.all([import('../docs/input.js'), import('../docs/plot.js')]);
        const curves = vanishingOf((await Promise.all(shown.map((j) => j.documented()))).flatMap((d) => d.vanishing ?? []));
        plot.useSvgStore(svgStore(cache));
        if (curves.length) await plot.vanishingSvg(curves);
      }
    } catch {
      // The site draws it again and reports the error.
    }
  };
}

const svgStore = (cache: BuildCache | undefined) => cache && { get: (key: string) => cache.getText('svg', cacheKey(key)), set: (key: string, svg: string) => cache.setText('svg', cacheKey(key), svg) };

/**
 * The documentation site's files; pages whose input is unchanged come from the cache. `old`: the site's own formulas
 * from the last build; `ahead`: formulas the render worker rendered.
 */
async function site(parts: Documented[], cache: BuildCache | undefined, old: [string, string][], ahead: [string, string][]): Promise<[string, string | Uint8Array][]> {
  const { assembleSiteInput } = await import('../docs/input.js');
  const { renderSite } = await import('../docs/site.js');
  const tex = await import('../docs/tex.js');
  const input = assembleSiteInput(parts.map((p) => p.doc), parts.flatMap((p) => p.vanishing ?? []));
  const pageCache = cache && {
    get: (key: string) => cache.getText('page', cacheKey(key)),
    set: (key: string, html: string) => cache.setText('page', cacheKey(key), html),
  };
  // Formulas: each cell's from its doc part, the pages' own (templates, prose) from the last build.
  const before = tex.texRendered;
  const { svgDrawn } = await import('../docs/plot.js');
  const drawnBefore = svgDrawn();
  tex.addTexMemo(old);
  tex.addTexMemo(ahead);
  const cells = new Set<string>();
  for (const p of parts) {
    tex.addTexMemo(p.tex ?? []);
    for (const [k] of p.tex ?? []) cells.add(k);
  }
  tex.takeTexMemo();
  const { useSvgStore } = await import('../docs/plot.js');
  useSvgStore(svgStore(cache));
  let files;
  try {
    files = await renderSite(input, { pageCache });
  } finally {
    useSvgStore(undefined);
  }
  trace(`site: ${tex.texRendered - before} formulas and ${svgDrawn() - drawnBefore} figures rendered in this thread`);
  // Kept when it changed: formulas rendered here or by the worker that the last build's list lacks.
  const now = [...new Map([...old, ...tex.takeTexMemo()])].filter(([k]) => !cells.has(k));
  if (now.length !== old.length || now.some(([k], i) => k !== old[i]![0])) cache?.set('tex', SITE_MEMO(), now);
  return files;
}

/**
 * The export name of a cell in generated/ts/index.ts: `gru-reset-after` -> `gruResetAfter`. A hyphen before a digit
 * becomes `_` (`a-1b` -> `a_1b`), so distinct cell names never share an export (`a1b` stays `a1b`).
 */
export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => (/[0-9]/.test(c) ? `_${c}` : c.toUpperCase()));
}

