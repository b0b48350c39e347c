// A build worker thread (see pool.ts): computes the parts of one cell at a time with the compiler, which
// it starts loading as soon as it starts, and posts them back; the main thread caches and assembles them.

import { parentPort } from 'node:worker_threads';
import { Diagnostic } from '../spec/diagnostic.js';
import { CellJob, type PartKind } from './cell.js';

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
  // Load the compiler while the main thread reads the cache and sends the first cell.
  const ready = import('./work.js');
  port.on('message', (m: WorkRequest) => {
    void (async (): Promise<WorkReply> => {
      try {
        await ready;
        const job = new CellJob(m.file, m.text, undefined);
        const parts: Partial<Record<PartKind, unknown>> = {};
        for (const k of m.parts) parts[k] = k === 'emit' ? await job.emitted() : k === 'verify' ? await job.verified() : await job.documented();
        return { id: m.id, parts };
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        return { id: m.id, error: { diagnostic: e instanceof Diagnostic, message: err.message, span: (e as Diagnostic).span, hint: (e as Diagnostic).hint, stack: err.stack } };
      }
    })().then((r) => port.postMessage(r));
  });
}
