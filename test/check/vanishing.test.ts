// The vanishing-gradient curves of the docs: exact Jacobian norms on the float64 kernels (against forward mode through
// the reference evaluator, which shares no code with the generated kernels or the segment product), the build's faster
// WebAssembly path against them, and the story the curves tell.

import { describe, expect, it } from 'vitest';
import { importTs } from '../../src/check/kernels.js';
import { tangentSequence } from '../../src/check/reference.js';
import { measureVanishing } from '../../src/check/vanishing.js';
import type { CompiledCell } from '../../src/derive/compile.js';
import { vanishingSeries } from '../../src/docs/data.js';
import { VANISHING_HIDDEN, VANISHING_LAGS } from '../../src/docs/input.js';
import { emitCpuModule } from '../../src/emit/wasm/index.js';
import { numel } from '../../src/ir/shape.js';
import { Random } from '../../src/runtime/random.js';
import { shipped } from '../helpers.js';

/** ‖∂h_k/∂s_0‖_F for each k, by forward mode: one tangent per state component, seeded e_j in batch row j. */
function tangentNorms(c: CompiledCell, opts: { hidden: number; input: number; lags: readonly number[]; seed: number }): number[] {
  // The same draws, in the same order, as measureVanishing.
  const rng = new Random(opts.seed);
  const sizes: Record<string, number> = {};
  for (const s of c.spec.sizes) sizes[s.name] = s.name === 'input' ? opts.input : opts.hidden;
  const params = Object.fromEntries(c.cell.params.map((p) => [p.name, rng.array(numel(p.shape, sizes), 1 / Math.sqrt(opts.hidden))]));
  const T = Math.max(...opts.lags);
  const I = numel(c.cell.inputs[0]!.shape, sizes);
  const xOne = rng.array(T * I, 1);
  const initOne = Object.fromEntries(c.cell.prev.map((s) => [s.name, rng.array(numel(s.shape, sizes), 0.5)]));
  const N = c.cell.prev.reduce((n, s) => n + numel(s.shape, sizes), 0);
  const x = new Float64Array(T * N * I);
  for (let t = 0; t < T; t++) for (let b = 0; b < N; b++) x.set(xOne.subarray(t * I, (t + 1) * I), (t * N + b) * I);
  const init: Record<string, Float64Array> = {};
  const dInit: Record<string, Float64Array> = {};
  let off = 0;
  for (const s of c.cell.prev) {
    const n = numel(s.shape, sizes);
    init[s.name] = new Float64Array(N * n).map((_, i) => initOne[s.name]![i % n]!);
    dInit[s.name] = new Float64Array(N * n);
    for (let j = 0; j < n; j++) dInit[s.name]![(off + j) * n + j] = 1;
    off += n;
  }
  const xName = c.cell.inputs[0]!.name;
  const dParams = Object.fromEntries(c.cell.params.map((p) => [p.name, new Float64Array(numel(p.shape, sizes))]));
  const tan = tangentSequence(c.cell, sizes, params, { batch: N, steps: T, inputs: { [xName]: x }, init }, { params: dParams, inputs: { [xName]: new Float64Array(x.length) }, init: dInit });
  const H = numel(c.cell.prev.find((s) => s.name === c.spec.output)!.shape, sizes);
  const h = tan[c.spec.output]!;
  return opts.lags.map((k) => Math.sqrt(h.subarray((k - 1) * N * H, k * N * H).reduce((a, v) => a + v * v, 0)));
}

describe('vanishing-gradient curves', () => {
  it.each(['lstm', 'gru-reset-after', 'rnn-tanh'])('%s: the segment product equals the Jacobian norm by forward mode', async (name) => {
    const c = shipped(name);
    const mod = await importTs(emitCpuModule(c, 'test').text);
    const opts = { hidden: 5, input: 3, lags: [3, 1, 4, 9, 4], seed: 11 };
    const got = measureVanishing(c, mod, { ...opts, kernels: 'f64' });
    expect(got.map((p) => p.lag)).toEqual(opts.lags);
    const want = tangentNorms(c, opts);
    for (const [i, p] of got.entries()) expect(Math.abs(p.norm - want[i]!) / want[i]!).toBeLessThan(1e-12);
    // The default, the WebAssembly float32 kernels, agrees closely (float32 segments, float64 product).
    const fast = measureVanishing(c, mod, { ...opts, kernels: 'wasm' });
    for (const [i, p] of fast.entries()) expect(Math.abs(p.norm - want[i]!) / want[i]!).toBeLessThan(1e-5);
  });

  it.each(['rnn-tanh', 'gru', 'lstm'])("%s: the docs' curve runs on the WebAssembly kernels and agrees with the float64 product to 1e-6", async (name) => {
    const c = shipped(name);
    const mod = await importTs(emitCpuModule(c, 'test').text);
    expect(mod.wasm).toBeDefined();
    // Which kernels the docs' curve ran on.
    const calls = { f64: 0, wasm: 0 };
    const counted = (k: 'f64' | 'wasm') => ({ forward: (...a: Parameters<typeof mod.f64.forward>) => (calls[k]++, mod[k]!.forward(...a)), backward: mod[k]!.backward });
    const series = vanishingSeries(c, { ...mod, f64: counted('f64'), wasm: counted('wasm') })!;
    expect(calls.f64).toBe(0);
    expect(calls.wasm).toBeGreaterThan(1);
    const opts = { hidden: VANISHING_HIDDEN, input: 8, lags: VANISHING_LAGS, seed: 7 };
    const exact = measureVanishing(c, mod, { ...opts, kernels: 'f64' });
    const fast = measureVanishing(c, mod, opts);
    expect(series.points.map((p) => p.lag)).toEqual([...VANISHING_LAGS]);
    for (const [i, p] of exact.entries()) {
      expect(Math.abs(fast[i]!.norm - p.norm) / p.norm).toBeLessThan(1e-6);
      // The docs print 6 significant digits.
      expect(Math.abs(series.points[i]!.norm - p.norm) / p.norm).toBeLessThan(1e-5);
    }
  }, 60_000);

  it('shows the story of the docs: the tanh RNN loses its gradient first, the gated cells keep it longer', async () => {
    const curve = async (name: string) => {
      const c = shipped(name);
      return new Map(vanishingSeries(c, await importTs(emitCpuModule(c, 'test').text))!.points.map((p) => [p.lag, p.norm]));
    };
    const [rnn, gru, lstm] = await Promise.all(['rnn-tanh', 'gru', 'lstm'].map(curve));
    for (const k of [32, 64]) {
      expect(rnn!.get(k)!).toBeLessThan(gru!.get(k)! / 10);
      expect(rnn!.get(k)!).toBeLessThan(lstm!.get(k)! / 10);
    }
    // Every curve decays with the lag.
    for (const m of [rnn!, gru!, lstm!]) expect(m.get(64)!).toBeLessThan(m.get(8)! * 1e-3);
  }, 60_000);
});
