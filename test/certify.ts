// Certifies a cell end to end: reference finite differences, and the emitted float64/float32 TS and wasm kernels
// against the reference, finite differences and the dot-product test through the f64 kernels.

import { type CompiledCell } from '../src/derive/compile.js';
import { checkKernels, importTs, type KernelModule } from '../src/check/kernels.js';
import { gradCheck, type Problem, randomProblem } from '../src/check/gradcheck.js';
import { Random } from '../src/runtime/random.js';
import { tangentSequence } from '../src/check/reference.js';
import { emitCpuModule } from '../src/emit/wasm/index.js';

export interface Certificate {
  /** Worst relative error of reference finite differences against the derived BPTT. */
  readonly referenceFd: number;
  /** Worst scaled error of the kernels against the reference, per precision. */
  readonly f64: number;
  readonly f32: number;
  /** The WebAssembly SIMD kernels (float32). */
  readonly wasm: number;
  /** Worst relative error of finite differences of the f64 kernels' loss against their backward. */
  readonly kernelFd: number;
  /** |<J v, w> - <v, Jᵀ w>| / scale, with J v from reference forward mode and Jᵀ w from the f64 kernels. */
  readonly kernelDot: number;
  /** |<J v, w>|, so a test can see the dot-product test compared something. */
  readonly dotScale: number;
}

export async function tsModule(c: CompiledCell): Promise<KernelModule> {
  return importTs(emitCpuModule(c, 'cellgen test').text);
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

function kernelLoss(m: KernelModule, p: Problem): number {
  const fw = m.f64.forward(p.sizes, p.params, p.inputs, { steps: p.steps, batch: p.batch, init: p.init });
  let L = 0;
  for (const s of Object.keys(p.weights)) L += dot(fw.states[s]!, p.weights[s]!);
  return L;
}

/** Finite differences of the f64 kernels (a stencil narrowed near kinks), sampled entries of every tensor. */
function kernelFd(m: KernelModule, p: Problem): number {
  const fw = m.f64.forward(p.sizes, p.params, p.inputs, { steps: p.steps, batch: p.batch, init: p.init });
  const g = m.f64.backward(fw.tape, p.weights);
  let worst = 0;
  const check = (x: Float64Array, an: ArrayLike<number>): void => {
    for (let i = 0; i < x.length; i += Math.max(1, Math.floor(x.length / 9))) {
      const v = x[i]!;
      const at = (d: number): number => ((x[i] = v + d), kernelLoss(m, p));
      let h = 1e-4;
      let fd = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h);
      const half = (at(h / 2) - at(-h / 2)) / h;
      if (Math.abs(half - fd) > 1e-5 * Math.max(1, Math.abs(fd))) {
        h /= 100;
        fd = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h);
      }
      x[i] = v;
      worst = Math.max(worst, Math.abs(fd - an[i]!) / Math.max(Math.abs(fd), Math.abs(an[i]!), 1e-6));
    }
  };
  for (const [k, x] of Object.entries(p.params)) check(x, g.params[k]!);
  for (const [k, x] of Object.entries(p.init)) check(x, g.init[k]!);
  for (const [k, x] of Object.entries(p.inputs)) check(x, g.inputs[k]!);
  return worst;
}

export async function certify(c: CompiledCell, opts: { seed?: number; sizes?: Record<string, number> } = {}): Promise<Certificate> {
  const seed = opts.seed ?? 7;
  const sizes = opts.sizes ?? Object.fromEntries(c.spec.sizes.map((s, j) => [s.name, 3 + 2 * j]));
  const m = await tsModule(c);
  const p = randomProblem(c, { steps: 5, batch: 2, seed, sizes });
  p.readout = undefined;
  const referenceFd = Math.max(...gradCheck(c, p).map((e) => e.maxRelErr));
  const k = checkKernels(c, m, { steps: 5, batch: 3, seed: seed + 1, sizes });
  // Dot-product test: J v from the reference's forward mode, Jᵀ w from the generated f64 backward.
  const rng = new Random(seed + 2);
  const dir = {
    params: Object.fromEntries(Object.entries(p.params).map(([n, v]) => [n, rng.array(v.length)])),
    inputs: Object.fromEntries(Object.entries(p.inputs).map(([n, v]) => [n, rng.array(v.length)])),
    init: Object.fromEntries(Object.entries(p.init).map(([n, v]) => [n, rng.array(v.length)])),
  };
  const jv = tangentSequence(c.cell, p.sizes, p.params, { batch: p.batch, steps: p.steps, inputs: p.inputs, init: p.init }, dir);
  let jvw = 0;
  for (const s of Object.keys(p.weights)) jvw += dot(jv[s]!, p.weights[s]!);
  const fw = m.f64.forward(p.sizes, p.params, p.inputs, { steps: p.steps, batch: p.batch, init: p.init });
  const g = m.f64.backward(fw.tape, p.weights);
  let vjtw = 0;
  for (const n of Object.keys(dir.params)) vjtw += dot(dir.params[n]!, g.params[n]!);
  for (const n of Object.keys(dir.inputs)) vjtw += dot(dir.inputs[n]!, g.inputs[n]!);
  for (const n of Object.keys(dir.init)) vjtw += dot(dir.init[n]!, g.init[n]!);
  const kernelDot = Math.abs(jvw - vjtw) / Math.max(Math.abs(jvw), Math.abs(vjtw), 1e-300);
  return { referenceFd, f64: k.f64, f32: k.f32, wasm: k.wasm, kernelFd: kernelFd(m, p), kernelDot, dotScale: Math.abs(jvw) };
}
