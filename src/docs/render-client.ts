// The main thread's side of the render worker (render-worker.ts): starts it, sends it formulas (each once) and
// figures, and hands back what it rendered. Anything it could not render (a bad formula, a failed figure, a worker
// that stopped) comes back as missing, and the site renders that in the main thread as it always did, reporting the
// error there: the worker only ever saves time, and what it renders are the same bytes (same KaTeX call, same
// drawSvg).
//
// The worker needs compiled JavaScript (the CLI bundle, or dist/): run from TypeScript sources (the tests) there is
// no render-worker.js beside this module, and renderWorkerAvailable() says no.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TopLevelSpec } from 'vega-lite';
import type { RenderReply, RenderRequest } from './render-worker.js';
import { texKey } from './tex.js';

const workerUrl = new URL('./render-worker.js', import.meta.url);

/** Whether a render worker can start here: compiled JavaScript beside this module, and not CELLGEN_RENDER_WORKER=0. */
export function renderWorkerAvailable(): boolean {
  return process.env.CELLGEN_RENDER_WORKER !== '0' && workerUrl.href.startsWith('file:') && existsSync(fileURLToPath(workerUrl));
}

type Ask = RenderRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class RenderWorker {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, (r: RenderReply | undefined) => void>();
  /** Every formula sent, by texKey: its HTML, or undefined where KaTeX failed or the worker stopped. */
  private readonly formulas = new Map<string, Promise<string | undefined>>();
  private readonly done = new Map<string, string>();
  private stopped = false;
  /** How many formulas and figures were sent (for the trace and the tests). */
  readonly sent = { formulas: 0, figures: 0 };

  constructor() {
    this.worker = new Worker(workerUrl);
    // Only waiting for a reply keeps the process alive (ask() refs it): a build that fails leaves no thread behind.
    this.worker.unref();
    this.worker.on('message', (r: RenderReply) => this.settle(r.id, r));
    const stop = (): void => {
      this.stopped = true;
      for (const id of [...this.waiting.keys()]) this.settle(id, undefined);
    };
    this.worker.on('error', stop);
    this.worker.on('exit', stop);
  }

  private settle(id: number, r: RenderReply | undefined): void {
    const f = this.waiting.get(id);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
    f?.(r);
  }

  private ask(req: Ask): Promise<RenderReply | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.ref();
      this.worker.postMessage({ ...req, id } as RenderRequest);
    });
  }

  /** The formulas' HTML (undefined where KaTeX failed); undefined when the worker stopped. Each formula is sent once. */
  async tex(items: readonly (readonly [string, boolean])[]): Promise<(string | undefined)[] | undefined> {
    const fresh = items.filter(([t, d]) => !this.formulas.has(texKey(t, d)));
    const unique = [...new Map(fresh.map((it) => [texKey(it[0], it[1]), it] as const)).values()];
    if (unique.length) {
      this.sent.formulas += unique.length;
      const reply = this.ask({ kind: 'tex', items: unique });
      unique.forEach(([t, d], i) => {
        const key = texKey(t, d);
        this.formulas.set(key, reply.then((r) => this.keep(key, r?.html?.[i] ?? undefined)));
      });
    }
    const html = await Promise.all(items.map(([t, d]) => this.formulas.get(texKey(t, d))!));
    return this.stopped ? undefined : html;
  }

  /** Renders the formulas of the site's templates (templates/docs); their HTML is in rendered() once settled. */
  templates(dir: string): void {
    const reply = this.ask({ kind: 'templates', dir });
    this.formulas.set(`templates ${dir}`, reply.then((r) => {
      for (const [k, html] of r?.entries ?? []) this.keep(k, html);
      return undefined;
    }));
  }

  private keep(key: string, html: string | null | undefined): string | undefined {
    if (typeof html === 'string') this.done.set(key, html);
    return html ?? undefined;
  }

  /** The figure's SVG, or undefined when the worker could not draw it. */
  async svg(spec: TopLevelSpec): Promise<string | undefined> {
    this.sent.figures++;
    return (await this.ask({ kind: 'svg', spec }))?.svg;
  }

  /** Waits for every reply; then every formula rendered so far, as memo entries (tex.ts addTexMemo). */
  async rendered(): Promise<[string, string][]> {
    await Promise.all(this.formulas.values());
    return [...this.done];
  }

  close(): void {
    this.stopped = true;
    for (const id of [...this.waiting.keys()]) this.settle(id, undefined);
    // Not awaited: a worker stopped while it is busy (loading, drawing) sometimes never emitted 'exit' (Node 20), and
    // awaiting that left the CLI's top-level await unsettled (exit code 13 instead of the build's error). Unreferenced,
    // the stopping thread does not hold the process either; it ends with the process.
    this.worker.terminate().catch(() => {});
    this.worker.unref();
  }
}
