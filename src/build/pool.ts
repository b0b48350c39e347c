// Runs the cells' uncached parts in worker threads (worker.ts), several cells at once: a cold build uses
// every core, and a rebuild of one cell loads the compiler in a worker while the main thread reads the
// cache and loads the documentation renderer. Results are cached and assembled by the main thread in
// file order, so the output does not depend on which worker finished first.
//
// Workers need compiled JavaScript (the CLI bundle or dist/); run from TypeScript sources (the tests),
// or with CELLGEN_WORKERS=0, the parts are computed in this thread as before.

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Diagnostic } from '../spec/diagnostic.js';
import type { CellJob, PartKind } from './cell.js';
import type { WorkReply, WorkRequest } from './worker.js';
import { templateFolder } from '../text/templates.js';

export interface Task {
  readonly job: CellJob;
  readonly parts: readonly PartKind[];
  /** Bigger first: the slowest cells start first. */
  readonly weight: number;
}

const workerUrl = new URL('./worker.js', import.meta.url);

/**
 * How to run `n` tasks: how many worker threads, and whether this thread takes tasks too (`workers: 0`: all in this
 * thread). V8 keeps about one core busy beside a busy thread (concurrent compilation and garbage collection), and
 * each worker loads and warms up the compiler again, so workers pay off only on the cores beyond two: on a 2-core
 * machine a build in one thread was faster, cold (3.5 s against 5.8 s) and with one changed spec (2.5-3.0 s
 * against 2.8-4.9 s, under load). CELLGEN_WORKERS=<k> asks for k workers anyway. With workers and more than one
 * task, this thread builds cells too, so no core loads the compiler twice; with one task it reads the cache and
 * loads the site renderer meanwhile.
 */
export function plan(n: number): { workers: number; local: boolean } {
  if (n === 0 || !workerUrl.href.startsWith('file:') || !existsSync(fileURLToPath(workerUrl))) return { workers: 0, local: false };
  const env = process.env.CELLGEN_WORKERS;
  const asked = env !== undefined && /^\d+$/.test(env) ? Number(env) : Math.max(0, availableParallelism() - 2);
  const workers = Math.min(asked, n);
  return { workers, local: workers > 0 && n > 1 };
}

function rebuild(e: NonNullable<WorkReply['error']>): Error {
  if (e.diagnostic) return new Diagnostic(e.message, e.span, e.hint);
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * Computes every task's parts on `count` workers (and in this thread too when `local`, calling `between` after each
 * of its cells) and fills them into the jobs.
 * Calls `done` as each cell finishes (successfully). If cells fail, throws the error of the first failing cell in task
 * order once all have finished.
 */
export async function runTasks(tasks: readonly Task[], count: number, done: (job: CellJob) => void, local = false, between?: () => Promise<void>): Promise<void> {
  const order = [...tasks.keys()].sort((a, b) => tasks[b]!.weight - tasks[a]!.weight || a - b);
  const errors = new Map<number, Error>();
  const workers = Array.from({ length: count }, () => new Worker(workerUrl, { workerData: { templates: templateFolder() } }));
  // Each worker has two cells in hand, so it never waits for this thread to finish a cell of its own.
  const feed = (w: Worker) =>
    new Promise<void>((resolve, reject) => {
      const held = new Map<number, Task>();
      const send = (): void => {
        for (let i = held.size < 2 ? order.shift() : undefined; i !== undefined; i = held.size < 2 ? order.shift() : undefined) {
          const t = tasks[i]!;
          held.set(i, t);
          const req: WorkRequest = { id: i, file: t.job.file, text: t.job.text, parts: t.parts };
          w.postMessage(req);
        }
        if (held.size === 0) resolve();
      };
      w.on('message', (r: WorkReply) => {
        const t = held.get(r.id)!;
        held.delete(r.id);
        if (r.error) errors.set(r.id, rebuild(r.error));
        else {
          for (const k of t.parts) t.job.fill(k, r.parts![k]);
          t.job.built();
          done(t.job);
        }
        send();
      });
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`build worker stopped (exit code ${code}) while building ${[...held.values()].map((t) => t.job.name).join(', ')}`)));
      send();
    });
  const here = async (): Promise<void> => {
    // esbuild's service starts while this thread loads the compiler (see worker.ts).
    void import('../check/kernels.js').then((k) => k.startEsbuild());
    for (let i = order.shift(); i !== undefined; i = order.shift()) {
      const t = tasks[i]!;
      try {
        await t.job.compute(t.parts);
        t.job.built();
        done(t.job);
      } catch (e) {
        errors.set(i, e instanceof Error ? e : new Error(String(e)));
      }
      // Let the workers' replies in before the next cell, and do what the caller has to do meanwhile.
      await new Promise((r) => setImmediate(r));
      await between?.();
    }
  };
  try {
    await Promise.all([...workers.map(feed), ...(local ? [here()] : [])]);
  } finally {
    // Not awaited, and unreferenced: Node 20 sometimes never reports the exit of a worker stopped while busy (see
    // docs/render-client.ts); the threads end with the process.
    for (const w of workers) {
      w.terminate().catch(() => {});
      w.unref();
    }
  }
  const first = [...errors.keys()].sort((a, b) => a - b)[0];
  if (first !== undefined) throw errors.get(first)!;
}
