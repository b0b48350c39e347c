// Loss and gradients of a stacked model with a softmax readout: full BPTT, truncated BPTT, clipping.

import { backStack, type Layer, type LayerGrads, type LayerInit, type LayerRun, inputSize, outputSize, runLayer, runStack, type SequenceShape, swapLeading } from './layers.js';
import type { Arr } from './types.js';

/** ŷ_t = softmax(W_y h_t + b_y) over the top layer's output, with cross-entropy against class indices. */
export interface Readout<A extends Arr> {
  readonly W: A; // [classes][outputSize]
  readonly b: A; // [classes]
}

export interface Model<A extends Arr> {
  readonly layers: readonly Layer<A>[];
  readonly readout: Readout<A>;
}

export interface Batch<A extends Arr> extends SequenceShape {
  /** [T][B][input] ([B][T][input] with batchFirst) */
  readonly x: A;
  /** Class per (t, b), [T][B] ([B][T] with batchFirst); -1 for steps without a loss. Padded steps never count. */
  readonly targets: Int32Array;
  /** Initial states per layer (zeros where absent); their gradients are in Gradients.layers[l].dInit. */
  readonly init?: readonly (LayerInit<A> | undefined)[];
}

/** The same batch, time-major: the loss functions work on [T][B]; dx goes back with fromTimeMajor. */
function timeMajor<A extends Arr>(b: Batch<A>): Batch<A> {
  if (!b.batchFirst) return b;
  const I = b.x.length / (b.steps * b.batch);
  return { ...b, batchFirst: false, x: swapLeading(b.x, b.batch, b.steps, I), targets: swapLeading(b.targets as unknown as Float64Array, b.batch, b.steps, 1) as unknown as Int32Array };
}

function fromTimeMajor<A extends Arr, G extends { loss: number; grads: Gradients<A> }>(g: G, b: Batch<A>, model: Model<A>): G {
  if (!b.batchFirst) return g;
  const layers = g.grads.layers.map((l, i) => {
    const n = inputSize(model.layers[i]!);
    return { ...l, dx: swapLeading(l.dx, l.dx.length / (b.batch * n), b.batch, n) };
  });
  return { ...g, grads: { ...g.grads, layers } };
}

export interface Gradients<A extends Arr> {
  readonly layers: LayerGrads<A>[];
  readonly readout: Readout<A>;
}

/**
 * L = -Σ_t Σ_b log ŷ_t[y_t] over counted steps; dlogits = ŷ - onehot(y), so
 * dh_t = W_yᵀ dlogits, dW_y = Σ dlogits h_tᵀ, db_y = Σ dlogits.
 */
export function softmaxCrossEntropy<A extends Arr>(h: A, r: Readout<A>, shape: SequenceShape, targets: Int32Array, counted?: (t: number) => boolean): { loss: number; dH: A; readout: Readout<A>; count: number; correct: number } {
  const { steps, batch, lengths } = shape;
  const K = r.b.length;
  const H = r.W.length / K;
  const Ctor = h.constructor as { new (n: number): A };
  const dH = new Ctor(h.length);
  const dW = new Ctor(r.W.length);
  const db = new Ctor(K);
  const z = new Float64Array(K);
  let loss = 0;
  let count = 0;
  let correct = 0;
  for (let t = 0; t < steps; t++) {
    if (counted && !counted(t)) continue;
    for (let b = 0; b < batch; b++) {
      const y = targets[t * batch + b]!;
      if (y < 0 || (lengths && t >= lengths[b]!)) continue;
      if (y >= K) throw new Error(`target ${y} at step ${t}, row ${b} is not a class (0..${K - 1})`);
      const o = (t * batch + b) * H;
      let max = -Infinity;
      let arg = 0;
      for (let k = 0; k < K; k++) {
        let s = r.b[k]!;
        for (let j = 0; j < H; j++) s += r.W[k * H + j]! * h[o + j]!;
        z[k] = s;
        if (s > max) (max = s), (arg = k);
      }
      count++;
      if (arg === y) correct++;
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(z[k]! - max);
      loss -= z[y]! - max - Math.log(sum);
      for (let k = 0; k < K; k++) {
        const g = Math.exp(z[k]! - max) / sum - (k === y ? 1 : 0);
        db[k] += g;
        for (let j = 0; j < H; j++) {
          dW[k * H + j] += g * h[o + j]!;
          dH[o + j] += g * r.W[k * H + j]!;
        }
      }
    }
  }
  return { loss, dH, readout: { W: dW, b: db }, count, correct };
}

/** Full BPTT: loss over the whole sequence and the exact gradient of every parameter. */
export function lossAndGradients<A extends Arr>(model: Model<A>, given: Batch<A>): LossAndGradients<A> {
  const batch = timeMajor(given);
  const runs = runStack(model.layers, batch.x, batch, batch.init);
  const top = runs[runs.length - 1]!.out;
  const ro = softmaxCrossEntropy(top, model.readout, batch, batch.targets);
  const layers = backStack(model.layers, runs, ro.dH, batch);
  return fromTimeMajor({ loss: ro.loss, grads: { layers, readout: ro.readout }, count: ro.count, correct: ro.correct }, given, model);
}

/** The summed loss, its gradients, how many targets counted and how many the argmax got right. */
export interface LossAndGradients<A extends Arr> {
  readonly loss: number;
  readonly grads: Gradients<A>;
  readonly count: number;
  readonly correct: number;
}

/**
 * Truncated BPTT(k1, k2): every k1 steps, the losses of those k1 steps are back-propagated through
 * the last k2 steps only (k2 >= k1); the gradient that would flow further back is dropped. Each
 * window re-runs the forward from the stored states at its start. Unidirectional layers only.
 */
export function truncatedLossAndGradients<A extends Arr>(model: Model<A>, given: Batch<A>, k1: number, k2: number): LossAndGradients<A> {
  const batch = timeMajor(given);
  if (!(Number.isInteger(k1) && Number.isInteger(k2) && k1 >= 1 && k2 >= k1)) throw new Error(`truncated BPTT needs integers 1 <= k1 <= k2, got k1=${k1}, k2=${k2}`);
  if (model.layers.some((l) => l.backward || l.reverse)) throw new Error('truncated BPTT needs forward layers: a backward or reverse direction reads the future');
  const { steps, batch: B } = batch;
  const full = runStack(model.layers, batch.x, batch, batch.init);
  const I = batch.x.length / (steps * B);
  let loss = 0;
  let count = 0;
  let correct = 0;
  let acc: Gradients<A> | undefined;
  for (let from = 0; from < steps; from += k1) {
    // Losses of steps [from, end) are new in this window; the window reaches back to `start`.
    const end = Math.min(from + k1, steps);
    const start = Math.max(0, end - k2);
    const T = end - start;
    const shape: SequenceShape = { steps: T, batch: B, lengths: batch.lengths ? Int32Array.from(batch.lengths, (L) => Math.max(0, Math.min(T, L - start))) : undefined };
    // Each layer starts the window from its own states at `start`.
    const x = batch.x.subarray(start * B * I, end * B * I) as A;
    const runs: LayerRun<A>[] = [];
    let input = x;
    for (const [li, l] of model.layers.entries()) {
      const init: Record<string, A> = {};
      for (const s of Object.keys(l.forward.kernels.cell.states)) {
        const n = l.forward.sizes[l.forward.kernels.cell.states[s]!]!;
        if (start > 0) init[s] = full[li]!.fw.states[s]!.slice((start - 1) * B * n, start * B * n) as A;
        else if (batch.init?.[li]?.forward?.[s]) init[s] = batch.init[li]!.forward![s]!;
      }
      const r = runLayer(l, input, shape, { forward: init });
      runs.push(r);
      input = r.out;
    }
    const targets = batch.targets.subarray(start * B, end * B);
    const ro = softmaxCrossEntropy(runs[runs.length - 1]!.out, model.readout, shape, targets, (t) => start + t >= from);
    loss += ro.loss;
    count += ro.count;
    correct += ro.correct;
    const layers = backStack(model.layers, runs, ro.dH, shape);
    acc = acc ? addGrads(acc, { layers, readout: ro.readout }) : { layers, readout: ro.readout };
  }
  return fromTimeMajor({ loss, grads: acc!, count, correct }, given, model);
}


function addInto<A extends Arr>(a: Record<string, A>, b: Record<string, A>): Record<string, A> {
  for (const k of Object.keys(a)) for (let i = 0; i < a[k]!.length; i++) a[k]![i] += b[k]![i]!;
  return a;
}

function addGrads<A extends Arr>(a: Gradients<A>, b: Gradients<A>): Gradients<A> {
  a.layers.forEach((l, i) => {
    addInto(l.forward, b.layers[i]!.forward);
    if (l.backward) addInto(l.backward, b.layers[i]!.backward!);
  });
  addInto(a.readout as unknown as Record<string, A>, b.readout as unknown as Record<string, A>);
  return a;
}

/** Every gradient array of a Gradients value, for clipping and norms. */
export function gradArrays<A extends Arr>(g: Gradients<A>): A[] {
  const out: A[] = [g.readout.W, g.readout.b];
  for (const l of g.layers) {
    out.push(...Object.values(l.forward));
    if (l.backward) out.push(...Object.values(l.backward));
  }
  return out;
}

/** Clips every element to [-c, c]; returns how many elements were clipped. */
export function clipByValue(arrays: readonly Arr[], c: number): number {
  if (!(c > 0)) throw new Error(`clip value must be positive, got ${c}`);
  let n = 0;
  for (const a of arrays)
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (v > c) (a[i] = c), n++;
      else if (v < -c) (a[i] = -c), n++;
    }
  return n;
}

/** g <- g · min(1, c / ||g||) with the norm over all arrays together; returns the norm before clipping. */
export function clipByGlobalNorm(arrays: readonly Arr[], c: number): number {
  if (!(c > 0)) throw new Error(`clip norm must be positive, got ${c}`);
  let ss = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) ss += a[i]! * a[i]!;
  const norm = Math.sqrt(ss);
  if (norm > c) {
    const s = c / norm;
    for (const a of arrays) for (let i = 0; i < a.length; i++) a[i] *= s;
  }
  return norm;
}

export { outputSize };
