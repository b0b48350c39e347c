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

/** Calls fn, awaiting it only when it returns a promise (no microtask hop for synchronous kernels). */
async function call(fn: () => unknown): Promise<void> {
  const r = fn();
  if (r instanceof Promise) await r;
}

/**
 * Warms a function up until its time per call is stable: JIT tiers, caches, lazily compiled kernels
 * (TF.js at batch 1 needs on the order of 100 calls). Windows hold fewer calls for slow functions
 * (at least 2, about 100 ms), and warming stops after maxMs, checked after every call. Returns the calls made.
 */
export async function warmUntilStable(fn: () => unknown, opts: StableOptions = {}): Promise<number> {
  const { minCalls = 20, window = 10, tolerance = 0.05, maxMs = 5000 } = opts;
  const t0 = performance.now();
  let t = performance.now();
  await call(fn);
  const first = performance.now() - t;
  if (first > maxMs) return 1; // one call longer than the cap: its own JIT warm-up happened inside it
  const w = Math.max(2, Math.min(window, Math.ceil(100 / Math.max(first, 1e-3))));
  const need = Math.max(2 * w, Math.min(minCalls, Math.ceil(maxMs / Math.max(first, 1e-3))));
  let calls = 1;
  let prev = Infinity;
  for (;;) {
    const times: number[] = [];
    for (let i = 0; i < w; i++) {
      t = performance.now();
      await call(fn);
      times.push(performance.now() - t);
      calls++;
      if (performance.now() - t0 > maxMs) return calls;
    }
    const m = median(times);
    if (calls >= need && Math.abs(m - prev) <= tolerance * prev) return calls;
    prev = m;
  }
}

export interface InterleaveOptions {
  /** warm-up of each function before the rounds */
  warm: StableOptions;
  /** calls per sample so that one sample lasts at least this long (one call when a call is longer) */
  minSampleMs: number;
  minRounds: number;
  maxRounds: number;
  /** no new round once the rounds have taken this long (after minRounds) */
  budgetMs: number;
}

/**
 * Times several functions in alternating rounds, one sample of each per round, so that a change of
 * load on the machine hits all of them alike: ratios are taken round by round. Each function is
 * first warmed up until its time per call is stable. Returns ms per call, per function and round.
 */
export async function interleave<K extends string>(fns: Record<K, () => unknown>, o: InterleaveOptions): Promise<Record<K, number[]>> {
  const keys = Object.keys(fns) as K[];
  const calls = {} as Record<K, number>;
  const out = {} as Record<K, number[]>;
  for (const k of keys) {
    await warmUntilStable(fns[k], o.warm);
    const t = performance.now();
    await call(fns[k]);
    calls[k] = Math.max(1, Math.ceil(o.minSampleMs / Math.max(performance.now() - t, 1e-3)));
    out[k] = [];
  }
  const t0 = performance.now();
  for (let r = 0; r < o.maxRounds && (r < o.minRounds || performance.now() - t0 < o.budgetMs); r++) {
    for (const k of keys) {
      const t = performance.now();
      for (let i = 0; i < calls[k]; i++) await call(fns[k]);
      out[k].push((performance.now() - t) / calls[k]);
    }
  }
  return out;
}

/** Median over rounds of a / b (both per round, from interleave). */
export function ratio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}
