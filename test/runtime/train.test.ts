// The sequence runtime: stacked and bidirectional BPTT, truncated BPTT, padding, clipping.

import { describe, expect, it } from 'vitest';
import * as gruMod from '../../generated/ts/gru.js';
import * as lstmMod from '../../generated/ts/lstm.js';
import * as rnnMod from '../../generated/ts/rnn-tanh.js';
import { Random } from '../../src/runtime/random.js';
import { softmaxCrossEntropy as refXent } from '../../src/check/readout.js';
import { backwardSequence, forwardSequence } from '../../src/check/reference.js';
import { type Batch, clipByGlobalNorm, clipByValue, direction, gradArrays, type Layer, lossAndGradients, type Model, truncatedLossAndGradients } from '../../src/runtime/index.js';
import { shipped } from '../helpers.js';

const rng = new Random(77);
const params = (shapes: Readonly<Record<string, readonly number[]>>) => Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, rng.array(s.reduce((a, b) => a * b, 1), 0.5)]));

function model(): Model<Float64Array> {
  const s1 = { input: 3, hidden: 4 };
  const s2 = { input: 8, hidden: 5 };
  const l1: Layer<Float64Array> = {
    forward: direction(gruMod.f64, s1, params(gruMod.paramShapes(s1))),
    backward: direction(gruMod.f64, s1, params(gruMod.paramShapes(s1))),
  };
  const l2: Layer<Float64Array> = { forward: direction(lstmMod.f64, s2, params(lstmMod.paramShapes(s2))) };
  return { layers: [l1, l2], readout: { W: rng.array(3 * 5, 0.5), b: rng.array(3, 0.5) } };
}

function batchOf(T: number, B: number, I: number, K: number, lengths?: Int32Array): Batch<Float64Array> {
  const targets = new Int32Array(T * B);
  for (let i = 0; i < targets.length; i++) targets[i] = rng.int(-1, K - 1);
  return { steps: T, batch: B, x: rng.array(T * B * I), targets, lengths };
}

/** Central differences of the model loss along every 5th entry of every gradient array. */
function fdCheck(m: Model<Float64Array>, b: Batch<Float64Array>, lossOf: () => number, grads: Float64Array[], arrays: Float64Array[]): number {
  let worst = 0;
  const h = 1e-4;
  arrays.forEach((x, a) => {
    for (let i = 0; i < x.length; i += 5) {
      const v = x[i]!;
      const at = (d: number) => ((x[i] = v + d), lossOf());
      const fd = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h);
      x[i] = v;
      worst = Math.max(worst, Math.abs(fd - grads[a]![i]!) / Math.max(Math.abs(fd), 1e-6));
    }
  });
  return worst;
}

const paramArrays = (m: Model<Float64Array>): Float64Array[] => {
  const out: Float64Array[] = [m.readout.W, m.readout.b];
  for (const l of m.layers) {
    out.push(...Object.values(l.forward.params));
    if (l.backward) out.push(...Object.values(l.backward.params));
  }
  return out;
};

describe('full BPTT', () => {
  it('gives exact gradients for a bidirectional GRU under an LSTM with a softmax readout, with padding', () => {
    const m = model();
    const b = batchOf(6, 3, 3, 3, new Int32Array([6, 4, 2]));
    const { grads } = lossAndGradients(m, b);
    const err = fdCheck(m, b, () => lossAndGradients(m, b).loss, gradArrays(grads), paramArrays(m));
    expect(err).toBeLessThan(1e-6);
  });

  it('ignores padded steps: a padded batch gives the sum of the rows run alone', () => {
    const m = model();
    const T = 5, B = 2;
    const lengths = new Int32Array([5, 3]);
    const b = batchOf(T, B, 3, 3, lengths);
    const all = lossAndGradients(m, b);
    let total = 0;
    const sums = gradArrays(all.grads).map((a) => new Float64Array(a.length));
    for (let r = 0; r < B; r++) {
      const L = lengths[r]!;
      const x = new Float64Array(L * 3);
      const targets = new Int32Array(L);
      for (let t = 0; t < L; t++) {
        x.set(b.x.subarray((t * B + r) * 3, (t * B + r + 1) * 3), t * 3);
        targets[t] = b.targets[t * B + r]!;
      }
      const one = lossAndGradients(m, { steps: L, batch: 1, x, targets });
      total += one.loss;
      gradArrays(one.grads).forEach((a, i) => a.forEach((v, j) => (sums[i]![j] += v)));
    }
    expect(Math.abs(all.loss - total)).toBeLessThan(1e-10);
    gradArrays(all.grads).forEach((a, i) => a.forEach((v, j) => expect(Math.abs(v - sums[i]![j]!)).toBeLessThan(1e-10)));
  });
});

describe('truncated BPTT', () => {
  const s = { input: 3, hidden: 4, classes: 3 };
  const mk = (): Model<Float64Array> => ({
    layers: [{ forward: direction(rnnMod.f64, s, params(rnnMod.paramShapes(s))) }],
    readout: { W: rng.array(3 * 4, 0.5), b: rng.array(3, 0.5) },
  });

  it('equals full BPTT when k1 = k2 = T', () => {
    const m = mk();
    const b = batchOf(7, 2, 3, 3);
    const full = gradArrays(lossAndGradients(m, b).grads);
    const tr = gradArrays(truncatedLossAndGradients(m, b, 7, 7).grads);
    full.forEach((a, i) => a.forEach((v, j) => expect(tr[i]![j]).toBeCloseTo(v, 12)));
  });

  it('back-propagates each k1-step block through k2 steps only, as an independent windowed computation does', () => {
    const m = mk();
    const T = 9, B = 2, k1 = 2, k2 = 3;
    const b = batchOf(T, B, 3, 3);
    const got = truncatedLossAndGradients(m, b, k1, k2);
    // Independent: the float64 reference evaluator on each window, from the reference's own states.
    const c = shipped('rnn-tanh');
    const P = m.layers[0]!.forward.params;
    const ref = forwardSequence(c.cell, s, P, { batch: B, steps: T, inputs: { x: b.x } });
    const want = Object.fromEntries(Object.entries(P).map(([k, v]) => [k, new Float64Array(v.length)]));
    for (let from = 0; from < T; from += k1) {
      const end = Math.min(from + k1, T);
      const start = Math.max(0, end - k2);
      const n = end - start;
      const seq = { batch: B, steps: n, inputs: { x: b.x.slice(start * B * 3, end * B * 3) }, init: start > 0 ? { h: ref.states.h!.slice((start - 1) * B * 4, start * B * 4) } : undefined };
      const fw = forwardSequence(c.cell, s, P, seq);
      const targets = Int32Array.from(b.targets.subarray(start * B, end * B), (y, i) => (start + Math.floor(i / B) >= from ? y : -1));
      const r = refXent(fw.states.h!, m.readout.W, m.readout.b, targets, 4, 3);
      const g = backwardSequence(c.cell, c.bw, s, P, seq, fw, { h: r.dH });
      for (const k of Object.keys(want)) want[k]!.forEach((_, i) => (want[k]![i] += g.grads[k]![i]!));
    }
    for (const k of Object.keys(want)) want[k]!.forEach((v, i) => expect(got.grads.layers[0]!.forward[k]![i]).toBeCloseTo(v, 10));
    // And it differs from full BPTT, which sees further back.
    const full = lossAndGradients(m, b).grads.layers[0]!.forward.U!;
    expect(Math.max(...full.map((v, i) => Math.abs(v - got.grads.layers[0]!.forward.U![i]!)))).toBeGreaterThan(1e-6);
  });

  it('refuses bidirectional and reverse layers and bad window sizes', () => {
    const m = model();
    expect(() => truncatedLossAndGradients(m, batchOf(4, 1, 3, 3), 2, 2)).toThrow(/needs forward layers/);
    const r = mk();
    const reversed = { ...r, layers: r.layers.map((l) => ({ forward: l.forward, reverse: true })) };
    expect(() => truncatedLossAndGradients(reversed, batchOf(4, 1, 3, 3), 2, 2)).toThrow(/needs forward layers/);
    expect(() => truncatedLossAndGradients(mk(), batchOf(4, 1, 3, 3), 3, 2)).toThrow(/k1 <= k2/);
  });
});

describe('clipping', () => {
  it('clips by value elementwise', () => {
    const a = Float64Array.from([-3, -0.5, 0.2, 7]);
    expect(clipByValue([a], 1)).toBe(2);
    expect([...a]).toEqual([-1, -0.5, 0.2, 1]);
  });

  it('rescales all arrays together when the global norm exceeds the threshold, and leaves them otherwise', () => {
    const a = Float64Array.from([3, 0]);
    const b = Float32Array.from([0, 4]);
    expect(clipByGlobalNorm([a, b], 1)).toBeCloseTo(5, 12);
    expect(a[0]).toBeCloseTo(0.6, 12);
    expect(b[1]).toBeCloseTo(0.8, 6);
    const c = Float64Array.from([0.3, 0.4]);
    expect(clipByGlobalNorm([c], 1)).toBeCloseTo(0.5, 12);
    expect([...c]).toEqual([0.3, 0.4]);
  });
});
