// The site's rendering off the main thread: a render worker (docs/render-client.ts) that draws the figures and
// renders the formulas while this thread compiles, checks and documents the cells. It starts at the beginning of a
// build when enough is uncached, and is fed as early as each input exists: the agreement figures (committed data)
// and the templates' formulas at once, each cell's formulas as its doc part is computed (docs/prerender.ts), the
// vanishing figure once its curves are known. The site (build.ts) then finds everything in the renderer's memo and
// the figure store, and renders in this thread only what is missing, which gives the same bytes.

import { VANISHING_CELLS } from '../docs/input.js';
import type { BuildCache } from './cache.js';
import type { CellJob, Documented } from './cell.js';
import { trace } from '../text/trace.js';

/**
 * Fewest cells whose doc part is missing for which a worker is started when nothing else is to render: it costs its
 * own module loading and warm-up (~0.2-0.3 s of CPU), and one cell's formulas take KaTeX about 30 ms.
 */
const MIN_CELLS = 4;

type SvgStore = { get(key: string): string | undefined; set(key: string, svg: string): void } | undefined;

export interface SiteRenderer {
  /** Computes the doc parts of `jobs` (in order, one at a time in this thread), feeding the worker as each is done. */
  documentAll(jobs: readonly CellJob[]): Promise<Documented[]>;
  /** Waits for everything sent; the formulas rendered, as memo entries (the figures are in the store already). */
  rendered(): Promise<[string, string][]>;
  close(): void;
}

/**
 * The site's renderer for this build when the worker can run here and there is something to render: the worker starts
 * at once when a figure or the templates' formulas are not in the cache, or at least MIN_CELLS cells are to be
 * documented (CELLGEN_RENDER_WORKER=1: one; =0: never); with fewer, the cells' formulas are rendered in this thread,
 * and the worker starts only if the vanishing figure turns out to be new. Else undefined.
 */
export async function startRenderer(jobs: readonly CellJob[], toDocument: readonly CellJob[], cache: BuildCache | undefined, store: SvgStore, siteMemo: unknown): Promise<SiteRenderer | undefined> {
  const client = await import('../docs/render-client.js');
  if (!client.renderWorkerAvailable()) return undefined;
  const [{ agreementResults, findTemplatesDir, vanishingOf }, plot, { agreementSpecs }, prerender, cell] = await Promise.all([
    import('../docs/input.js'),
    import('../docs/plot.js'),
    import('../docs/agreement.js'),
    import('../docs/prerender.js'),
    import('./cell.js'),
  ]);
  const forced = process.env.CELLGEN_RENDER_WORKER === '1';
  const templates = siteMemo === undefined;
  // Nothing to document and the templates rendered: a build that changed no cell (its figures are cached with its pages).
  if (!toDocument.length && !templates && !forced) return undefined;
  plot.useSvgStore(store);
  const results = agreementResults();
  const figures = (results ? agreementSpecs(results) : []).filter((s) => plot.knownSvg(plot.svgKey(s)) === undefined);
  const shown = jobs.filter((j) => (VANISHING_CELLS as readonly string[]).includes(j.name));
  // Formulas go to the worker when there are many; figures always do (vega then loads there, not here), the vanishing
  // figure once its curves turn out to be new.
  const bulk = templates || toDocument.length >= (forced ? 1 : MIN_CELLS);
  if (!figures.length && !bulk && !toDocument.some((j) => shown.includes(j))) return undefined;
  let started: InstanceType<typeof client.RenderWorker> | undefined;
  const worker = (): InstanceType<typeof client.RenderWorker> => {
    if (started) return started;
    trace(`render worker: ${figures.length} figures, ${templates && bulk ? 'the templates' : 'no templates'}, ${bulk ? toDocument.length : 0} cells`);
    return (started = new client.RenderWorker());
  };
  const drawing: Promise<void>[] = [];
  const draw = (spec: Parameters<typeof plot.svgKey>[0]): void => {
    const key = plot.svgKey(spec);
    if (plot.knownSvg(key) === undefined) drawing.push(worker().svg(spec).then((svg) => void (svg !== undefined && plot.rememberSvg(key, svg))));
  };
  // Figures first: loading vega is the longest part of the worker's work.
  figures.forEach(draw);
  if (bulk) {
    if (templates) worker().templates(findTemplatesDir());
    prerender.useRemoteTex((items) => worker().tex(items));
  }
  // The vanishing figure as soon as its curves are known: their cells are documented first, and each cell's curves
  // are taken as its doc part is computed (before its formulas come back) or from the cache.
  const curves = new Map<CellJob, Documented>();
  const seen = (job: CellJob, d: Documented): void => {
    if (!shown.includes(job) || curves.has(job)) return;
    curves.set(job, d);
    if (curves.size < shown.length) return;
    const series = vanishingOf(shown.flatMap((j) => curves.get(j)!.vanishing ?? []));
    if (series.length) draw(plot.vanishingSpec(series));
  };
  cell.watchDocuments(seen);
  return {
    documentAll: async (all) => {
      for (const j of shown) if (j.has('doc')) seen(j, await j.documented());
      const first = [...all].sort((a, b) => Number(shown.includes(b)) - Number(shown.includes(a)));
      const settled = new Map(await Promise.all(first.map(async (j) => [j, await j.documented().then((d) => ({ d }), (e: unknown) => ({ e }))] as const)));
      // A failure is reported as the single-thread build reports it: the first failing cell in file order.
      const failed = all.map((j) => settled.get(j)!).find((r) => 'e' in r);
      if (failed && 'e' in failed) throw failed.e;
      const docs = all.map((j) => (settled.get(j) as { d: Documented }).d);
      for (const j of shown) seen(j, docs[all.indexOf(j)]!);
      return docs;
    },
    rendered: async () => {
      trace('render worker: waiting for the last results');
      const tex = (await started?.rendered()) ?? [];
      await Promise.all(drawing);
      if (started) trace(`render worker: ${started.sent.formulas} formulas, ${started.sent.figures} figures rendered`);
      return tex;
    },
    close: () => {
      prerender.useRemoteTex(undefined);
      cell.watchDocuments(undefined);
      started?.close();
    },
  };
}
