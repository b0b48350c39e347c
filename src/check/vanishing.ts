// Measures ||∂h_T/∂s_t|| against the lag T - t with the generated kernels: the vanishing-gradient story.

import type { CompiledCell } from '../derive/compile.js';
import { numel } from '../ir/shape.js';
import type { KernelModule } from './kernels.js';
import { Random } from '../runtime/random.js';

export interface VanishingPoint {
  lag: number;
  norm: number;
}

/**
 * For each lag k, the Frobenius norm of ∂h_k/∂s_0 (over all states s, so the LSTM's cell path counts) along one
 * random trajectory: weights uniform in ±1/√H, as at init. The state Jacobian S_k = ∂s_k/∂s_0 (N × N, N the total
 * state size) is built as a product over the segments between consecutive lags, S_k = M_k S_j with
 * M_k = ∂s_k/∂s_j: the kernel runs the segment from the trajectory's state s_j with N batch rows, and the backward,
 * seeded with dL/ds_k = e_i in row i, returns the rows of M_k as dL/ds_j. Every step runs once (N rows), not once
 * per lag and output row.
 *
 * `kernels`: the module's WebAssembly SIMD kernels (float32; the default, where the module has them) or its float64
 * TypeScript kernels. The segments and the trajectory run on them; the product S_k and the norms are float64 either
 * way. The float32 segments move the norms of the docs' cells by at most 3e-7 relative at every lag
 * (test/check/vanishing.test.ts bounds it by 1e-6) and cost about a third: a build runs the float64 kernels, large
 * functions, once, mostly unoptimised.
 */
export function measureVanishing(c: CompiledCell, mod: KernelModule, opts: { hidden: number; input: number; lags: readonly number[]; seed: number; kernels?: 'f64' | 'wasm' }): VanishingPoint[] {
  const k = opts.kernels !== 'f64' && mod.wasm ? mod.wasm : mod.f64;
  const conv = k === mod.f64 ? (r: Record<string, Float64Array>) => r : (r: Record<string, Float64Array>) => Object.fromEntries(Object.entries(r).map(([n, v]) => [n, Float32Array.from(v)]));
  const rng = new Random(opts.seed);
  const sizes: Record<string, number> = {};
  for (const s of c.spec.sizes) sizes[s.name] = s.name === 'input' ? opts.input : opts.hidden;
  const scale = 1 / Math.sqrt(opts.hidden);
  const params = conv(Object.fromEntries(c.cell.params.map((p) => [p.name, rng.array(numel(p.shape, sizes), scale)])));
  const lags = [...new Set(opts.lags)].sort((a, b) => a - b);
  const maxLag = lags[lags.length - 1] ?? 0;
  const xName = c.cell.inputs[0]!.name;
  const I = numel(c.cell.inputs[0]!.shape, sizes);
  const xOne = rng.array(maxLag * I, 1);
  const initOne = Object.fromEntries(c.cell.prev.map((s) => [s.name, rng.array(numel(s.shape, sizes), 0.5)]));
  // The state vector: every state's components in turn.
  const states: { name: string; n: number; off: number }[] = [];
  let N = 0;
  for (const s of c.cell.prev) {
    states.push({ name: s.name, n: numel(s.shape, sizes), off: N });
    N += numel(s.shape, sizes);
  }
  const output = states.find((s) => s.name === c.spec.output)!;
  const trajectory = maxLag > 0 ? k.forward(sizes, params, conv({ [xName]: xOne }), { steps: maxLag, batch: 1, init: conv(initOne) }).states : {};
  const stateAt = (t: number, s: { name: string; n: number }) => (t === 0 ? initOne[s.name]! : Float64Array.from(trajectory[s.name]!.subarray((t - 1) * s.n, t * s.n)));
  let S: Float64Array = new Float64Array(N * N);
  for (let i = 0; i < N; i++) S[i * N + i] = 1;
  const byLag = new Map<number, number>();
  let from = 0;
  for (const k of lags) {
    if (k > from) S = from === 0 ? segmentJacobian(0, k) : multiply(segmentJacobian(from, k), S, N);
    from = k;
    let ss = 0;
    for (let i = output.off * N; i < (output.off + output.n) * N; i++) ss += S[i]! * S[i]!;
    byLag.set(k, Math.sqrt(ss));
  }
  return opts.lags.map((lag) => ({ lag, norm: byLag.get(lag)! }));

  /** ∂s_to/∂s_from (N × N, row-major). */
  function segmentJacobian(from: number, to: number): Float64Array {
    const steps = to - from;
    // Every batch row runs the same segment; row i asks for row i of the Jacobian.
    const x = new Float64Array(steps * N * I);
    for (let t = 0; t < steps; t++) for (let b = 0; b < N; b++) x.set(xOne.subarray((from + t) * I, (from + t + 1) * I), (t * N + b) * I);
    const init: Record<string, Float64Array> = {};
    const seed: Record<string, Float64Array> = {};
    for (const s of states) {
      const v = stateAt(from, s);
      const a = (init[s.name] = new Float64Array(N * s.n));
      for (let b = 0; b < N; b++) a.set(v, b * s.n);
      const d = (seed[s.name] = new Float64Array(steps * N * s.n));
      for (let j = 0; j < s.n; j++) d[((steps - 1) * N + s.off + j) * s.n + j] = 1;
    }
    const fw = k.forward(sizes, params, conv({ [xName]: x }), { steps, batch: N, init: conv(init) });
    const bw = k.backward(fw.tape, conv(seed));
    const M = new Float64Array(N * N);
    for (const s of states) {
      const g = bw.init[s.name]!;
      for (let r = 0; r < N; r++) for (let j = 0; j < s.n; j++) M[r * N + s.off + j] = g[r * s.n + j]!;
    }
    return M;
  }
}

/** A · B for N × N row-major matrices. */
function multiply(A: Float64Array, B: Float64Array, N: number): Float64Array {
  const C = new Float64Array(N * N);
  for (let r = 0; r < N; r++)
    for (let m = 0; m < N; m++) {
      const v = A[r * N + m]!;
      if (v === 0) continue;
      for (let col = 0, rb = m * N, rc = r * N; col < N; col++) C[rc + col]! += v * B[rb + col]!;
    }
  return C;
}
