// A build worker thread (see pool.ts): computes the parts of one cell at a time with the compiler, which
// it starts loading as soon as it starts, and posts them back; the main thread caches and assembles them.

import { parentPort, workerData } from 'node:worker_threads';
import { Diagnostic } from '../spec/diagnostic.js';
import { CellJob, type PartKind } from './cell.js';
import { trace } from '../text/trace.js';
import { useTemplateFolder } from '../text/templates.js';

export interface WorkRequest {
  readonly id: number;
  readonly file: string;
  readonly text: string;
  readonly parts: readonly PartKind[];
}

export interface WorkReply {
  readonly id: number;
  readonly parts?: Partial<Record<PartKind, unknown>>;
  /** A user mistake (Diagnostic) or another error, rebuilt by the main thread. */
  readonly error?: { readonly diagnostic: boolean; readonly message: string; readonly span?: Diagnostic['span']; readonly hint?: string; readonly stack?: string };
}

const port = parentPort;
if (port) {
  // Start esbuild's service (a child process: its start-up then overlaps the compiler's loading here; the checks
  // transpile each emitted module with it), and load the compiler while the main thread sends the first cell.
  void import('../check/kernels.js').then((k) => k.startEsbuild());
  trace('worker started');
  useTemplateFolder((workerData as { templates?: string } | undefined)?.templates);
  const ready = import('./work.js').then((w) => (trace('compiler loaded'), w));
  // One cell at a time, in the order sent (the pool sends the next before this one is done).
  let queue: Promise<unknown> = Promise.resolve();
  port.on('message', (m: WorkRequest) => {
    queue = queue.then(async () => {
      let reply: WorkReply;
      try {
        await ready;
        reply = { id: m.id, parts: await new CellJob(m.file, m.text, undefined).compute(m.parts) };
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        reply = { id: m.id, error: { diagnostic: e instanceof Diagnostic, message: err.message, span: (e as Diagnostic).span, hint: (e as Diagnostic).hint, stack: err.stack } };
      }
      port.postMessage(reply);
    });
  });
}
