// Float64 gradient checks of a derived cell: finite differences and the dot-product (adjoint) test.

import type { CompiledCell } from '../derive/compile.js';
import { numel } from '../ir/shape.js';
import { Random } from '../runtime/random.js';
import { softmaxCrossEntropy } from './readout.js';
import { backwardSequence, forwardSequence, type Params, type SeqInput, type Sizes, tangentSequence } from './reference.js';

/** A random problem: weights, a sequence, initial states, and a scalar loss over all states. */
export interface Problem {
  sizes: Sizes;
  steps: number;
  batch: number;
  params: Params;
  inputs: Record<string, Float64Array>;
  init: Record<string, Float64Array>;
  /** L includes Σ_t <G_s,t, s_t> for every state s: a random linear functional of the whole trajectory. */
  weights: Record<string, Float64Array>;
  readout?: { W: Float64Array; b: Float64Array; targets: Int32Array; classes: number };
}

export function randomProblem(c: CompiledCell, opts: { steps: number; batch: number; seed: number; sizes?: Sizes; scale?: number }): Problem {
  const rng = new Random(opts.seed);
  const sizes = opts.sizes ?? Object.fromEntries(c.spec.sizes.map((s) => [s.name, rng.int(2, 6)]));
  const { steps, batch } = opts;
  const scale = opts.scale ?? 0.6;
  const params: Params = {};
  for (const p of c.cell.params) params[p.name] = rng.array(numel(p.shape, sizes), scale);
  const inputs: Record<string, Float64Array> = {};
  for (const x of c.cell.inputs) inputs[x.name] = rng.array(steps * batch * numel(x.shape, sizes), 1);
  const init: Record<string, Float64Array> = {};
  const weights: Record<string, Float64Array> = {};
  for (const s of c.cell.prev) {
    init[s.name] = rng.array(batch * numel(s.shape, sizes), 0.5);
    weights[s.name] = rng.array(steps * batch * numel(s.shape, sizes), 1);
  }
  let readout: Problem['readout'];
  if (c.spec.readout) {
    const K = sizes[c.spec.readout.classes]!;
    const H = numel(c.cell.prev.find((s) => s.name === c.spec.output)!.shape, sizes);
    const targets = new Int32Array(steps * batch);
    for (let i = 0; i < targets.length; i++) targets[i] = rng.int(0, K - 1);
    readout = { W: rng.array(K * H, scale), b: rng.array(K, scale), targets, classes: K };
  }
  return { sizes, steps, batch, params, inputs, init, weights, readout };
}

function seqOf(p: Problem): SeqInput {
  return { batch: p.batch, steps: p.steps, inputs: p.inputs, init: p.init };
}

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

export function loss(c: CompiledCell, p: Problem): number {
  const fw = forwardSequence(c.cell, p.sizes, p.params, seqOf(p));
  let L = 0;
  for (const s of c.cell.prev) L += dot(fw.states[s.name]!, p.weights[s.name]!);
  if (p.readout) {
    const H = numel(c.cell.prev.find((s) => s.name === c.spec.output)!.shape, p.sizes);
    L += softmaxCrossEntropy(fw.states[c.spec.output]!, p.readout.W, p.readout.b, p.readout.targets, H, p.readout.classes).loss;
  }
  return L;
}

export interface Gradients {
  params: Params;
  inputs: Record<string, Float64Array>;
  init: Record<string, Float64Array>;
  readout?: { W: Float64Array; b: Float64Array };
}

/** The analytic gradient of `loss` through the derived backward step. */
export function gradients(c: CompiledCell, p: Problem): Gradients {
  const seq = seqOf(p);
  const fw = forwardSequence(c.cell, p.sizes, p.params, seq);
  const dStates: Record<string, Float64Array> = {};
  for (const s of c.cell.prev) dStates[s.name] = p.weights[s.name]!.slice();
  let readout: Gradients['readout'];
  if (p.readout) {
    const H = numel(c.cell.prev.find((s) => s.name === c.spec.output)!.shape, p.sizes);
    const r = softmaxCrossEntropy(fw.states[c.spec.output]!, p.readout.W, p.readout.b, p.readout.targets, H, p.readout.classes);
    const d = dStates[c.spec.output]!;
    for (let i = 0; i < d.length; i++) d[i] += r.dH[i]!;
    readout = { W: r.dW, b: r.db };
  }
  const bw = backwardSequence(c.cell, c.bw, p.sizes, p.params, seq, fw, dStates);
  return { params: bw.grads, inputs: bw.dInputs, init: bw.dInit, readout };
}

export interface TensorError {
  tensor: string;
  maxRelErr: number;
  maxAbsErr: number;
}

/**
 * Central differences of fourth order, f'(x) ≈ (f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h,
 * against the analytic gradient, for every entry of every parameter, initial state and input.
 * Relative error per entry is |fd - an| / max(|fd|, |an|, floor).
 */
export function gradCheck(c: CompiledCell, p: Problem, opts: { h?: number; floor?: number } = {}): TensorError[] {
  const h = opts.h ?? 1e-3;
  const floor = opts.floor ?? 1e-6;
  const an = gradients(c, p);
  const out: TensorError[] = [];
  const check = (tensor: string, x: Float64Array, g: Float64Array): void => {
    let maxRel = 0;
    let maxAbs = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const at = (d: number): number => {
        x[i] = v + d;
        return loss(c, p);
      };
      // A kink (relu, clip, min, max) inside the stencil spoils the difference: narrow the stencil 100 times
      // while a half-width difference disagrees with it.
      let hh = h;
      let fd = (at(-2 * hh) - 8 * at(-hh) + 8 * at(hh) - at(2 * hh)) / (12 * hh);
      for (let k = 0; k < 3; k++) {
        const half = (at(hh / 2) - at(-hh / 2)) / hh;
        if (Math.abs(half - fd) <= 1e-4 * Math.max(1, Math.abs(fd))) break;
        hh /= 100;
        fd = (at(-2 * hh) - 8 * at(-hh) + 8 * at(hh) - at(2 * hh)) / (12 * hh);
      }
      const g0 = g[i]!;
      if (Math.abs(fd - g0) > 1e-7 * Math.max(Math.abs(fd), Math.abs(g0), floor)) {
        // On a kink itself central differences average the two sides; any value between the one-sided
        // derivatives is a subgradient, and the derivation's documented choice (PyTorch's: relu'(0) = 0,
        // clip' = 0 at its bounds) is one of them.
        const hk = hh / 100;
        const f0 = at(0);
        const left = (f0 - at(-hk)) / hk;
        const right = (at(hk) - f0) / hk;
        const tol = 1e-6 * Math.max(1, Math.abs(left), Math.abs(right));
        if (Math.abs(left - right) > 1e-3 * Math.max(1, Math.abs(left), Math.abs(right)) && g0 >= Math.min(left, right) - tol && g0 <= Math.max(left, right) + tol) fd = g0;
      }
      x[i] = v;
      const abs = Math.abs(fd - g[i]!);
      maxAbs = Math.max(maxAbs, abs);
      maxRel = Math.max(maxRel, abs / Math.max(Math.abs(fd), Math.abs(g[i]!), floor));
    }
    out.push({ tensor, maxRelErr: maxRel, maxAbsErr: maxAbs });
  };
  for (const name of Object.keys(p.params)) check(name, p.params[name]!, an.params[name]!);
  for (const name of Object.keys(p.init)) check(`${name}_0`, p.init[name]!, an.init[name]!);
  for (const name of Object.keys(p.inputs)) check(name, p.inputs[name]!, an.inputs[name]!);
  if (p.readout && an.readout) {
    check('W_y', p.readout.W, an.readout.W);
    check('b_y', p.readout.b, an.readout.b);
  }
  return out;
}

/**
 * The dot-product test: <J v, w> = <v, Jᵀ w> for the map (θ, x, s_0) -> (s_1 .. s_T), with J v from
 * forward mode (independent of the derivation) and Jᵀ w from the derived BPTT.
 */
export function dotProductTest(c: CompiledCell, p: Problem, seed: number): { jv_w: number; v_jtw: number; relDiff: number } {
  const rng = new Random(seed);
  const dir = {
    params: Object.fromEntries(Object.entries(p.params).map(([k, v]) => [k, rng.array(v.length)])),
    inputs: Object.fromEntries(Object.entries(p.inputs).map(([k, v]) => [k, rng.array(v.length)])),
    init: Object.fromEntries(Object.entries(p.init).map(([k, v]) => [k, rng.array(v.length)])),
  };
  const seq = seqOf(p);
  const jv = tangentSequence(c.cell, p.sizes, p.params, seq, dir);
  let jv_w = 0;
  for (const s of c.cell.prev) jv_w += dot(jv[s.name]!, p.weights[s.name]!);
  const fw = forwardSequence(c.cell, p.sizes, p.params, seq);
  const bw = backwardSequence(c.cell, c.bw, p.sizes, p.params, seq, fw, p.weights);
  let v_jtw = 0;
  for (const k of Object.keys(dir.params)) v_jtw += dot(dir.params[k]!, bw.grads[k]!);
  for (const k of Object.keys(dir.inputs)) v_jtw += dot(dir.inputs[k]!, bw.dInputs[k]!);
  for (const k of Object.keys(dir.init)) v_jtw += dot(dir.init[k]!, bw.dInit[k]!);
  return { jv_w, v_jtw, relDiff: Math.abs(jv_w - v_jtw) / Math.max(Math.abs(jv_w), Math.abs(v_jtw), 1e-300) };
}

/**
 * The build's gradient check, cheap enough to run on every build (the full entry-by-entry `gradCheck`
 * runs in the test suite):
 * - per tensor (every parameter, initial state and input), the dot-product test restricted to that
 *   tensor: <J v_T, w> from forward mode (independent of the derivation) against <v_T, Jᵀ w> from the
 *   derived BPTT. Exact up to rounding, so any wrong entry of any gradient shows;
 * - one fourth-order central difference of the whole loss (readout included) along a random direction
 *   of all tensors at once, against <v, ∇L>: checks the forward mode itself.
 * Returns the worst relative error of both.
 */
export function quickGradCheck(c: CompiledCell, p: Problem, seed: number): { worst: number; tensor: string } {
  const rng = new Random(seed);
  const seq = seqOf(p);
  const fw = forwardSequence(c.cell, p.sizes, p.params, seq);
  const bw = backwardSequence(c.cell, c.bw, p.sizes, p.params, seq, fw, p.weights);
  const zeros = (r: Record<string, Float64Array>): Record<string, Float64Array> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, new Float64Array(v.length)]));
  const groups = [
    { kind: 'params' as const, of: p.params, grad: bw.grads, suffix: '' },
    { kind: 'init' as const, of: p.init, grad: bw.dInit, suffix: '_0' },
    { kind: 'inputs' as const, of: p.inputs, grad: bw.dInputs, suffix: '' },
  ];
  const pairs: { tensor: string; a: number; b: number }[] = [];
  for (const g of groups) {
    for (const [name, x] of Object.entries(g.of)) {
      const dir = { params: zeros(p.params), inputs: zeros(p.inputs), init: zeros(p.init) };
      const v = rng.array(x.length);
      dir[g.kind][name] = v;
      const jv = tangentSequence(c.cell, p.sizes, p.params, seq, dir);
      let a = 0;
      for (const s of c.cell.prev) a += dot(jv[s.name]!, p.weights[s.name]!);
      pairs.push({ tensor: `${name}${g.suffix}`, a, b: dot(v, g.grad[name]!) });
    }
  }
  // Tensors whose share of the loss is tiny are compared on the scale of the largest.
  const scale = Math.max(...pairs.map((q) => Math.abs(q.a)), 1e-300);
  let worst = 0;
  let tensor = '';
  for (const q of pairs) {
    const e = Math.abs(q.a - q.b) / Math.max(Math.abs(q.a), Math.abs(q.b), 1e-9 * scale);
    if (e > worst || !(e === e)) [worst, tensor] = [e, q.tensor];
  }
  // The finite difference along one direction of everything (the readout's weights included).
  const an = gradients(c, p);
  const all: [Float64Array, Float64Array, Float64Array][] = [];
  const add = (xs: Record<string, Float64Array>, gs: Record<string, Float64Array>) => {
    for (const [k, x] of Object.entries(xs)) all.push([x, gs[k]!, rng.array(x.length)]);
  };
  add(p.params, an.params);
  add(p.init, an.init);
  add(p.inputs, an.inputs);
  if (p.readout && an.readout) add({ W: p.readout.W, b: p.readout.b }, an.readout);
  const base = all.map(([x]) => x.slice());
  const at = (d: number): number => {
    all.forEach(([x, , v], j) => {
      const x0 = base[j]!;
      for (let i = 0; i < x.length; i++) x[i] = x0[i]! + d * v[i]!;
    });
    return loss(c, p);
  };
  const exact = all.reduce((s, [, g, v]) => s + dot(g, v), 0);
  let h = 1e-3;
  let fdErr = Infinity;
  // A kink (relu, clip) inside the stencil spoils the difference: narrow it, as gradCheck does.
  for (let k = 0; k < 4 && !(fdErr <= 1e-6); k++, h /= 100) {
    const fd = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h);
    fdErr = Math.min(fdErr, Math.abs(fd - exact) / Math.max(Math.abs(fd), Math.abs(exact), 1e-6));
  }
  all.forEach(([x], j) => x.set(base[j]!));
  if (fdErr > worst || !(fdErr === fdErr)) [worst, tensor] = [fdErr, 'finite difference along a random direction'];
  return { worst, tensor };
}
