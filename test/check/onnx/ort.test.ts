// The float64 reference evaluator against onnxruntime-node on random multi-step RNN/GRU/LSTM cases.
import { describe, expect, it } from 'vitest';
import { runOrtRnn } from '../../../src/check/onnx/ort.js';
import { GATES, rnnReference } from '../../../src/check/onnx/reference.js';
import type { F64Tensor, RnnAttrs, RnnInputs, RnnOp } from '../../../src/check/onnx/reference.js';
import { expectClose, maxAbsDiff, rng, uniform } from './helpers.js';

interface Case {
  name: string;
  op: RnnOp;
  attrs: RnnAttrs;
  T?: number;
  lens?: number[];
  initial?: boolean;
  peephole?: boolean;
  /** Weight scale: large enough that gates saturate unevenly and clip binds. */
  scale?: number;
  baked?: boolean;
}

const N = 3;
const I = 4;
const H = 5;

/** Random layout-0 inputs for a case; every optional input the case asks for is random too. */
function makeInputs(c: Case, seed: number): RnnInputs {
  const next = rng(seed);
  const T = c.T ?? 6;
  const D = c.attrs.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[c.op].length;
  const s = c.scale ?? 0.8;
  const inputs: RnnInputs = {
    X: { dims: [T, N, I], data: uniform(next, T * N * I, 1.5) },
    W: { dims: [D, G * H, I], data: uniform(next, D * G * H * I, s) },
    R: { dims: [D, G * H, H], data: uniform(next, D * G * H * H, s) },
    B: { dims: [D, 2 * G * H], data: uniform(next, D * 2 * G * H, 0.5) },
  };
  if (c.lens) inputs.sequenceLens = c.lens;
  if (c.initial) {
    inputs.initialH = { dims: [D, N, H], data: uniform(next, D * N * H) };
    if (c.op === 'LSTM') inputs.initialC = { dims: [D, N, H], data: uniform(next, D * N * H, 2) };
  }
  if (c.peephole) inputs.P = { dims: [D, 3 * H], data: uniform(next, D * 3 * H) };
  return inputs;
}

const cases: Case[] = [];
const variants: [string, RnnOp, Partial<RnnAttrs>, Partial<Case>][] = [
  ['RNN', 'RNN', {}, {}],
  ['GRU lbr=0', 'GRU', { linearBeforeReset: 0 }, {}],
  ['GRU lbr=1', 'GRU', { linearBeforeReset: 1 }, {}],
  ['LSTM', 'LSTM', {}, {}],
  ['LSTM peephole', 'LSTM', {}, { peephole: true }],
];
for (const [label, op, attrs, extra] of variants) {
  for (const direction of ['forward', 'reverse', 'bidirectional'] as const) {
    cases.push({ name: `${label} ${direction}, full length, zero state`, op, attrs: { hiddenSize: H, direction, ...attrs }, ...extra });
    cases.push({
      name: `${label} ${direction}, sequence_lens [7,4,1], initial state`,
      op, attrs: { hiddenSize: H, direction, ...attrs }, T: 7, lens: [7, 4, 1], initial: true, ...extra,
    });
  }
}
cases.push(
  { name: 'LSTM input_forget forward', op: 'LSTM', attrs: { hiddenSize: H, inputForget: 1 }, initial: true },
  { name: 'LSTM input_forget bidirectional, peephole', op: 'LSTM', attrs: { hiddenSize: H, direction: 'bidirectional', inputForget: 1 }, lens: [6, 2, 5], peephole: true },
  { name: 'RNN clip', op: 'RNN', attrs: { hiddenSize: H, direction: 'bidirectional', clip: 0.7 }, scale: 2, initial: true },
  { name: 'GRU lbr=1 clip', op: 'GRU', attrs: { hiddenSize: H, linearBeforeReset: 1, clip: 0.7 }, scale: 2 },
  { name: 'LSTM peephole clip', op: 'LSTM', attrs: { hiddenSize: H, direction: 'reverse', clip: 0.7 }, scale: 2, peephole: true, initial: true },
  { name: 'RNN Relu', op: 'RNN', attrs: { hiddenSize: H, activations: ['Relu'] }, scale: 0.5, lens: [6, 3, 6] },
  { name: 'RNN bidirectional Tanh,Sigmoid', op: 'RNN', attrs: { hiddenSize: H, direction: 'bidirectional', activations: ['Tanh', 'Sigmoid'] } },
  { name: 'GRU activations Sigmoid,Relu', op: 'GRU', attrs: { hiddenSize: H, activations: ['Sigmoid', 'Relu'] }, scale: 0.5 },
  { name: 'LSTM activations Sigmoid,Relu,Tanh', op: 'LSTM', attrs: { hiddenSize: H, activations: ['Sigmoid', 'Relu', 'Tanh'] }, scale: 0.5 },
  { name: 'GRU bidirectional, weights as initializers', op: 'GRU', attrs: { hiddenSize: H, direction: 'bidirectional' }, baked: true, lens: [3, 6, 5], initial: true },
);

/** Outputs of the reference, keyed as ORT keys them. */
function refOutputs(op: RnnOp, inputs: RnnInputs, attrs: RnnAttrs): Record<string, F64Tensor> {
  const r = rnnReference(op, inputs, attrs);
  return { Y: r.Y, Y_h: r.Y_h, ...(r.Y_c ? { Y_c: r.Y_c } : {}) };
}

describe('reference vs onnxruntime-node', () => {
  it.each(cases.map((c, k) => [c.name, c, 1000 + k] as const))('%s', async (_name, c, seed) => {
    const inputs = makeInputs(c, seed);
    const ort = await runOrtRnn(c.op, inputs, c.attrs, c.baked ? { initializers: ['W', 'R', 'B'] } : undefined);
    const ref = refOutputs(c.op, inputs, c.attrs);
    expect(Object.keys(ort).sort()).toEqual(Object.keys(ref).sort());
    for (const [k, r] of Object.entries(ref)) {
      expect(ort[k]!.dims, `${k} dims`).toEqual(r.dims);
      expectClose(ort[k]!.data, r.data, k);
    }
    // Guard against a vacuous pass: the final state must be far from zero.
    expect(maxAbsDiff(ref.Y_h!.data, new Float64Array(ref.Y_h!.data.length))).toBeGreaterThan(0.05);
  });

  it('sequence_lens changes the outputs (the short rows are really short)', () => {
    const c = cases.find((x) => x.name === 'LSTM peephole bidirectional, sequence_lens [7,4,1], initial state')!;
    const inputs = makeInputs(c, 7);
    const full = rnnReference(c.op, { ...inputs, sequenceLens: undefined }, c.attrs);
    const short = rnnReference(c.op, inputs, c.attrs);
    expect(maxAbsDiff(full.Y_h.data, short.Y_h.data)).toBeGreaterThan(1e-3);
  });
});

// ORT's CPU kernels refuse layout=1, so batch-first is checked against ORT on the transposed problem.
describe('layout 1 (batch first) vs onnxruntime-node on the transposed problem', () => {
  /** Swap the first two axes of a rank-3 tensor ([A,B,C] → [B,A,C]). */
  const swap01 = (t: { dims: number[]; data: ArrayLike<number> }) => {
    const [A, B, C] = t.dims as [number, number, number];
    const out = new Float64Array(A * B * C);
    for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let k = 0; k < C; k++) out[(b * A + a) * C + k] = t.data[(a * B + b) * C + k]!;
    return { dims: [B, A, C], data: out };
  };
  /** [S,D,N,H] → [N,S,D,H]. */
  const yToBatchFirst = (t: { dims: number[]; data: ArrayLike<number> }) => {
    const [S, D, Nn, Hh] = t.dims as [number, number, number, number];
    const out = new Float64Array(t.data.length);
    for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) for (let b = 0; b < Nn; b++) for (let j = 0; j < Hh; j++) {
      out[((b * S + s) * D + d) * Hh + j] = t.data[((s * D + d) * Nn + b) * Hh + j]!;
    }
    return { dims: [Nn, S, D, Hh], data: out };
  };

  it.each([
    ['RNN', { linearBeforeReset: undefined }, false],
    ['GRU', { linearBeforeReset: 1 }, false],
    ['LSTM', {}, true],
  ] as const)('%s bidirectional with sequence_lens and initial state', async (op, extra, peephole) => {
    const attrs: RnnAttrs = { hiddenSize: H, direction: 'bidirectional', ...(op === 'GRU' ? extra : {}) };
    const inputs = makeInputs({ name: op, op, attrs, lens: [6, 3, 5], initial: true, peephole }, 77);
    const ort = await runOrtRnn(op, inputs, attrs);
    const batchFirst: RnnInputs = { ...inputs, X: swap01(inputs.X) };
    if (inputs.initialH) batchFirst.initialH = swap01(inputs.initialH);
    if (inputs.initialC) batchFirst.initialC = swap01(inputs.initialC);
    const ref = rnnReference(op, batchFirst, { ...attrs, layout: 1 });
    expect(ref.Y.dims).toEqual([N, 6, 2, H]);
    expectClose(yToBatchFirst(ort.Y!).data, ref.Y.data, 'Y');
    expectClose(swap01(ort.Y_h!).data, ref.Y_h.data, 'Y_h');
    if (op === 'LSTM') expectClose(swap01(ort.Y_c!).data, ref.Y_c!.data, 'Y_c');
  });
});
