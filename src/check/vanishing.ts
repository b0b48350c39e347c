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
 * For each lag k, runs k steps from a random state with H batch rows and seeds dL/dh_k = e_i in row
 * i: the backward's dL/ds_0 rows are then the rows of ∂h_k/∂s_0, whose Frobenius norm (over all
 * states, so the LSTM's cell path counts) is reported. Weights are uniform in ±1/√H, as at init.
 */
export function measureVanishing(c: CompiledCell, mod: KernelModule, opts: { hidden: number; input: number; lags: readonly number[]; seed: number }): VanishingPoint[] {
  const rng = new Random(opts.seed);
  const sizes: Record<string, number> = {};
  for (const s of c.spec.sizes) sizes[s.name] = s.name === 'input' ? opts.input : opts.hidden;
  const H = numel(c.cell.prev.find((s) => s.name === c.spec.output)!.shape, sizes);
  const scale = 1 / Math.sqrt(opts.hidden);
  const params = Object.fromEntries(c.cell.params.map((p) => [p.name, rng.array(numel(p.shape, sizes), scale)]));
  const maxLag = Math.max(...opts.lags);
  const xOne = rng.array(maxLag * numel(c.cell.inputs[0]!.shape, sizes), 1);
  const initOne = Object.fromEntries(c.cell.prev.map((s) => [s.name, rng.array(numel(s.shape, sizes), 0.5)]));
  const out: VanishingPoint[] = [];
  for (const k of opts.lags) {
    const B = H;
    const I = numel(c.cell.inputs[0]!.shape, sizes);
    // Every batch row runs the same sequence; row i asks for row i of the Jacobian.
    const x = new Float64Array(k * B * I);
    for (let t = 0; t < k; t++) for (let b = 0; b < B; b++) x.set(xOne.subarray(t * I, (t + 1) * I), (t * B + b) * I);
    const init = Object.fromEntries(Object.entries(initOne).map(([n, v]) => {
      const a = new Float64Array(B * v.length);
      for (let b = 0; b < B; b++) a.set(v, b * v.length);
      return [n, a];
    }));
    const fw = mod.f64.forward(sizes, params, { [c.cell.inputs[0]!.name]: x }, { steps: k, batch: B, init });
    const seed = new Float64Array(k * B * H);
    for (let b = 0; b < B; b++) seed[((k - 1) * B + b) * H + b] = 1;
    const bw = mod.f64.backward(fw.tape, { [c.spec.output]: seed });
    let ss = 0;
    for (const s of c.cell.prev) for (const v of bw.init[s.name]!) ss += v * v;
    out.push({ lag: k, norm: Math.sqrt(ss) });
  }
  return out;
}
