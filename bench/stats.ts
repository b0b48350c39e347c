// Timing and memory helpers for benchmarks: medians, warm-up, time budgets, heap growth per call.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export interface TimingOptions {
  /** run the function for at least this long before sampling (JIT, caches, lazy init) */
  warmupMs?: number;
  /** stop sampling once this much time has been spent (after minSamples) */
  budgetMs?: number;
  minSamples?: number;
  maxSamples?: number;
  /** calls are batched so one sample lasts at least this long: timer resolution and noise */
  minSampleMs?: number;
}

export interface Timing {
  /** median milliseconds per call over the samples */
  medianMs: number;
  minMs: number;
  /** samples taken, and calls per sample */
  samples: number;
  callsPerSample: number;
}

const DEFAULTS: Required<TimingOptions> = { warmupMs: 200, budgetMs: 1000, minSamples: 5, maxSamples: 200, minSampleMs: 5 };

function plan(opts: TimingOptions): Required<TimingOptions> {
  return { ...DEFAULTS, ...opts };
}

/** Median time per call of a synchronous function; sample count adapts to the budget. */
export function timeIt(fn: () => void, opts: TimingOptions = {}): Timing {
  const o = plan(opts);
  let t0 = performance.now(), once = Infinity;
  do {
    const t = performance.now();
    fn();
    once = Math.min(once, performance.now() - t);
  } while (performance.now() - t0 < o.warmupMs);
  const batch = Math.max(1, Math.ceil(o.minSampleMs / Math.max(once, 1e-4)));
  const per: number[] = [];
  t0 = performance.now();
  while (per.length < o.minSamples || (per.length < o.maxSamples && performance.now() - t0 < o.budgetMs)) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) fn();
    per.push((performance.now() - t) / batch);
  }
  return { medianMs: median(per), minMs: Math.min(...per), samples: per.length, callsPerSample: batch };
}

/** As timeIt, for functions that must be awaited (GPU readback, async backends). */
export async function timeItAsync(fn: () => Promise<void>, opts: TimingOptions = {}): Promise<Timing> {
  const o = plan(opts);
  let t0 = performance.now(), once = Infinity;
  do {
    const t = performance.now();
    await fn();
    once = Math.min(once, performance.now() - t);
  } while (performance.now() - t0 < o.warmupMs);
  const batch = Math.max(1, Math.ceil(o.minSampleMs / Math.max(once, 1e-4)));
  const per: number[] = [];
  t0 = performance.now();
  while (per.length < o.minSamples || (per.length < o.maxSamples && performance.now() - t0 < o.budgetMs)) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    per.push((performance.now() - t) / batch);
  }
  return { medianMs: median(per), minMs: Math.min(...per), samples: per.length, callsPerSample: batch };
}

export interface HeapGrowth {
  /** median over rounds of (heapUsed after − before) / calls, both after a full GC; NaN without gc */
  bytesPerCall: number;
  gcAvailable: boolean;
  calls: number;
}

type Gc = () => void;

/**
 * Heap growth per call: steady-state kernels should show ~0. Needs `node --expose-gc`
 * (otherwise reports NaN, since heapUsed without a forced GC measures garbage, not leaks).
 */
export function heapGrowthPerCall(fn: () => void, opts: { calls?: number; rounds?: number; warmupCalls?: number } = {}): HeapGrowth {
  const calls = opts.calls ?? 200, rounds = opts.rounds ?? 3, warm = opts.warmupCalls ?? 20;
  const gc = (globalThis as { gc?: Gc }).gc;
  if (!gc) return { bytesPerCall: NaN, gcAvailable: false, calls: 0 };
  for (let i = 0; i < warm; i++) fn();
  const growth: number[] = [];
  for (let r = 0; r < rounds; r++) {
    gc(); gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < calls; i++) fn();
    gc(); gc();
    growth.push((process.memoryUsage().heapUsed - before) / calls);
  }
  return { bytesPerCall: median(growth), gcAvailable: true, calls: calls * rounds };
}

export interface StableOptions {
  /** calls before the first comparison */
  minCalls?: number;
  /** calls per window: stable when a window's median is within `tolerance` of the previous one */
  window?: number;
  tolerance?: number;
  /** give up (and go on) after this long */
  maxMs?: number;
}

/**
 * Warms a function up until its time per call is stable: JIT tiers, caches, lazily compiled kernels
 * (TF.js at batch 1 needs on the order of 100 calls). Returns the calls made.
 */
export async function warmUntilStable(fn: () => unknown, opts: StableOptions = {}): Promise<number> {
  const { minCalls = 20, window = 10, tolerance = 0.05, maxMs = 5000 } = opts;
  const t0 = performance.now();
  let calls = 0;
  let prev = Infinity;
  for (;;) {
    const times: number[] = [];
    for (let i = 0; i < window; i++) {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    }
    calls += window;
    const m = median(times);
    if ((calls >= minCalls && Math.abs(m - prev) <= tolerance * prev) || performance.now() - t0 > maxMs) return calls;
    prev = m;
  }
}
