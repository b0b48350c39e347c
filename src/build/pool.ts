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

export interface Task {
  readonly job: CellJob;
  readonly parts: readonly PartKind[];
  /** Bigger first: the slowest cells start first. */
  readonly weight: number;
}

const workerUrl = new URL('./worker.js', import.meta.url);

/** How many workers to use for `n` tasks (0: compute in this thread). */
export function workerCount(n: number): number {
  if (n === 0 || !workerUrl.href.startsWith('file:') || !existsSync(fileURLToPath(workerUrl))) return 0;
  const env = process.env.CELLGEN_WORKERS;
  const max = env !== undefined && /^\d+$/.test(env) ? Number(env) : availableParallelism();
  return Math.max(0, Math.min(max, n));
}

function rebuild(e: NonNullable<WorkReply['error']>): Error {
  if (e.diagnostic) return new Diagnostic(e.message, e.span, e.hint);
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * Computes every task's parts on `count` workers and fills them into the jobs. Calls `done` as each cell
 * finishes (successfully). If cells fail, throws the error of the first failing cell in task order once all have finished.
 */
export async function runTasks(tasks: readonly Task[], count: number, done: (job: CellJob) => void): Promise<void> {
  const order = [...tasks.keys()].sort((a, b) => tasks[b]!.weight - tasks[a]!.weight || a - b);
  const errors = new Map<number, Error>();
  const workers = Array.from({ length: count }, () => new Worker(workerUrl));
  try {
    await Promise.all(
      workers.map(async (w) => {
        for (let i = order.shift(); i !== undefined; i = order.shift()) {
          const t = tasks[i]!;
          const req: WorkRequest = { id: i, file: t.job.file, text: t.job.text, parts: t.parts };
          const reply = await new Promise<WorkReply>((resolve, reject) => {
            const onExit = (code: number) => reject(new Error(`build worker stopped (exit code ${code}) while building ${t.job.name}`));
            w.once('error', reject);
            w.once('exit', onExit);
            w.once('message', (r: WorkReply) => {
              w.off('error', reject);
              w.off('exit', onExit);
              resolve(r);
            });
            w.postMessage(req);
          });
          if (reply.error) errors.set(i, rebuild(reply.error));
          else {
            for (const k of t.parts) t.job.fill(k, reply.parts![k]);
            t.job.built();
            done(t.job);
          }
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const first = [...errors.keys()].sort((a, b) => a - b)[0];
  if (first !== undefined) throw errors.get(first)!;
}
