// CELLGEN_TRACE=1: a timeline of the build on stderr (milliseconds since the process started, per thread), to see
// what lies on a build's critical path. Off by default; prints nothing then.

import { isMainThread, threadId } from 'node:worker_threads';

const on = !!process.env.CELLGEN_TRACE;
if (on && isMainThread) process.env.CELLGEN_TRACE_T0 ??= String(performance.timeOrigin);

export function trace(label: string): void {
  if (!on) return;
  const t0 = Number(process.env.CELLGEN_TRACE_T0 ?? performance.timeOrigin);
  process.stderr.write(`[trace ${String(Math.round(performance.timeOrigin + performance.now() - t0)).padStart(5)} ms ${isMainThread ? 'main' : `worker ${threadId}`}] ${label}\n`);
}
