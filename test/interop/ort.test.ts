// Generated f32 and wasm kernels, run through the runtime's ONNX layers, against onnxruntime-node on random multi-step cases.
import { describe, expect, it } from 'vitest';
import { runOrtRnn } from '../../src/check/onnx/ort.js';
import { GATES } from '../../src/check/onnx/reference.js';
import type { RnnAttrs, RnnInputs } from '../../src/check/onnx/reference.js';
import { cellParamNames, onnxOpForCell } from '../../src/runtime/onnx/weights.js';
import { direction, type Layer, runLayer } from '../../src/runtime/layers.js';
import { type CellName, layerFromOnnx, layerToOnnx } from '../../src/runtime/onnx.js';
import { expectClose, rng, uniform } from '../check/onnx/helpers.js';
import { KERNELS, runCellgen, swap01 } from './helpers.js';

const B = 3;
const I = 4;
const H = 5;

interface Case {
  cell: CellName;
  direction: 'forward' | 'reverse' | 'bidirectional';
  T: number;
  lens?: number[];
  initial?: boolean;
  batchFirst?: boolean;
}

/** Random layout-0 inputs (weights, X, B, P, states all random and float32-exact). */
function makeInputs(c: Case, seed: number): { inputs: RnnInputs; attrs: RnnAttrs } {
  const next = rng(seed);
  const { op, attrs } = onnxOpForCell(c.cell, c.direction);
  const D = c.direction === 'bidirectional' ? 2 : 1;
  const G = GATES[op].length;
  const inputs: RnnInputs = {
    X: { dims: [c.T, B, I], data: uniform(next, c.T * B * I, 1.5) },
    W: { dims: [D, G * H, I], data: uniform(next, D * G * H * I, 0.8) },
    R: { dims: [D, G * H, H], data: uniform(next, D * G * H * H, 0.8) },
    B: { dims: [D, 2 * G * H], data: uniform(next, D * 2 * G * H, 0.5) },
  };
  if (c.cell === 'lstm-peephole') inputs.P = { dims: [D, 3 * H], data: uniform(next, D * 3 * H) };
  if (c.lens) inputs.sequenceLens = c.lens;
  if (c.initial) {
    inputs.initialH = { dims: [D, B, H], data: uniform(next, D * B * H) };
    if (op === 'LSTM') inputs.initialC = { dims: [D, B, H], data: uniform(next, D * B * H, 2) };
  }
  return { inputs, attrs: { ...attrs, hiddenSize: H } };
}

/** The same node with layout=1: X and initial states batch-first. */
function batchFirst(inputs: RnnInputs, attrs: RnnAttrs, T: number, D: number): { inputs: RnnInputs; attrs: RnnAttrs } {
  const out: RnnInputs = { ...inputs, X: { dims: [B, T, I], data: swap01(inputs.X.data, T, B, I) } };
  if (inputs.initialH) out.initialH = { dims: [B, D, H], data: swap01(inputs.initialH.data, D, B, H) };
  if (inputs.initialC) out.initialC = { dims: [B, D, H], data: swap01(inputs.initialC.data, D, B, H) };
  return { inputs: out, attrs: { ...attrs, layout: 1 } };
}

const CELLS: CellName[] = ['rnn-tanh', 'gru', 'gru-reset-after', 'lstm', 'lstm-peephole', 'lstm-cifg'];
const cases: Case[] = [];
for (const cell of CELLS) {
  cases.push({ cell, direction: 'forward', T: 6 });
  cases.push({ cell, direction: 'forward', T: 7, lens: [7, 4, 2], initial: true });
  cases.push({ cell, direction: 'bidirectional', T: 6, lens: [3, 6, 5], initial: true });
}
cases.push(
  { cell: 'gru', direction: 'reverse', T: 7, lens: [5, 7, 1], initial: true },
  { cell: 'lstm-peephole', direction: 'reverse', T: 6, lens: [6, 2, 4], initial: true },
  { cell: 'rnn-relu', direction: 'bidirectional', T: 5, lens: [5, 3, 4], initial: true },
  { cell: 'gru-reset-after', direction: 'bidirectional', T: 6, lens: [2, 6, 4], initial: true, batchFirst: true },
  { cell: 'lstm-cifg', direction: 'forward', T: 5, lens: [5, 1, 3], initial: true, batchFirst: true },
);

const label = (c: Case) =>
  `${c.cell} ${c.direction}, T=${c.T}${c.lens ? `, sequence_lens [${c.lens}]` : ''}${c.initial ? ', random initial state' : ''}${c.batchFirst ? ', layout=1' : ''}`;

describe('generated kernels against onnxruntime-node', () => {
  it.each(cases.map((c, k) => [label(c), c, k] as const))('%s', async (_, c, k) => {
    const { inputs, attrs } = makeInputs(c, 1000 + k);
    const { op } = onnxOpForCell(c.cell);
    const D = c.direction === 'bidirectional' ? 2 : 1;
    const want = await runOrtRnn(op, inputs, attrs);
    // ONNX Runtime's CPU RNNs refuse layout=1, so batch-first runs are checked against its layout-0 outputs, transposed.
    if (c.batchFirst) {
      want.Y = { dims: [B, c.T, D, H], data: Float32Array.from(swap01(want.Y!.data, c.T, D * B, H, D, B)) };
      for (const s of ['Y_h', 'Y_c'] as const) if (want[s]) want[s] = { dims: [B, D, H], data: Float32Array.from(swap01(want[s].data, D, B, H)) };
    }
    const bf = c.batchFirst ? batchFirst(inputs, attrs, c.T, D) : { inputs, attrs };
    // The comparison must see the recurrence: the outputs move well past tolerance from step to step.
    expect(Math.max(...want.Y!.data.map(Math.abs))).toBeGreaterThan(0.05);
    for (const precision of ['f32', 'wasm'] as const) {
      const got = runCellgen(c.cell, bf.inputs, bf.attrs, precision);
      for (const slot of op === 'LSTM' ? (['Y', 'Y_h', 'Y_c'] as const) : (['Y', 'Y_h'] as const)) {
        expect(want[slot]!.dims.reduce((a, b) => a * b, 1)).toBe(got[slot]!.length);
        expectClose(got[slot]!, want[slot]!.data, `${label(c)} ${slot} (${precision})`, 1e-5, 1e-4);
      }
    }
  });
});

describe('layerToOnnx', () => {
  it.each(['gru-reset-after', 'lstm-peephole', 'rnn-tanh'] as const)('%s: the weights it writes make ONNX Runtime agree with the layer', async (cell) => {
    const next = rng(77);
    const k = KERNELS[cell].f32;
    const sizes = { input: I, hidden: H, classes: 2 };
    const rand = () => Object.fromEntries(cellParamNames(cell).map((n) => {
      const len = k.paramShapes(sizes as never)[n]!.reduce((a, b) => a * b, 1);
      return [n, Float32Array.from(uniform(next, len, 0.8))];
    }));
    const layer: Layer<Float32Array> = { forward: direction(k, sizes, rand()), backward: direction(k, sizes, rand()) };
    const T = 6;
    const x = Float32Array.from(uniform(next, T * B * I, 1.5));
    const ours = runLayer(layer, x, { steps: T, batch: B }).out;

    const w = layerToOnnx(layer, cell);
    expect(w.W.dims).toEqual([2, GATES[onnxOpForCell(cell).op].length * H, I]);
    const { op, attrs } = onnxOpForCell(cell, 'bidirectional');
    const ort = await runOrtRnn(op, { X: { dims: [T, B, I], data: x }, W: w.W, R: w.R, B: w.B, P: w.P }, { ...attrs, hiddenSize: H });
    // ORT's Y is [T][dirs][B][H]; the layer's out is [T][B][h_forward, h_backward].
    const y = new Float64Array(T * B * 2 * H);
    for (let t = 0; t < T; t++) for (let d = 0; d < 2; d++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
      y[(t * B + b) * 2 * H + d * H + j] = ort.Y!.data[((t * 2 + d) * B + b) * H + j]!;
    }
    expectClose(ours, y, `${cell} Y`, 1e-5, 1e-4);
  });

  it('round-trips layerFromOnnx exactly, both directions', () => {
    const next = rng(5);
    const W = uniform(next, 2 * 3 * H * I);
    const R = uniform(next, 2 * 3 * H * H);
    const Bias = uniform(next, 2 * 6 * H);
    const layer = layerFromOnnx(KERNELS['gru-reset-after'], 'gru-reset-after', { W, R, B: Bias }, { hidden: H, input: I, direction: 'bidirectional', precision: 'f64' });
    expect(layer.backward).toBeDefined();
    const back = layerToOnnx(layer, 'gru-reset-after');
    expect(Array.from(back.W.data)).toEqual(Array.from(W));
    expect(Array.from(back.R.data)).toEqual(Array.from(R));
    // Wb and Rb of z and r fold into one bias, written back into Wb: the sums must agree, not the halves.
    for (let d = 0; d < 2; d++) for (let j = 0; j < 3 * H; j++) {
      const o = d * 6 * H;
      const sum = (b: ArrayLike<number>) => (j < 2 * H ? b[o + j]! + b[o + 3 * H + j]! : b[o + j]!);
      expect(sum(back.B.data)).toBeCloseTo(sum(Bias), 12);
      if (j >= 2 * H) expect(back.B.data[o + 3 * H + j]).toBe(Bias[o + 3 * H + j]); // Rbh stays apart (b_uh)
    }
  });

  it('refuses kernels of another cell', () => {
    const w = { W: new Float64Array(3 * H * I), R: new Float64Array(3 * H * H) };
    expect(() => layerFromOnnx(KERNELS.gru, 'gru-reset-after', w, { hidden: H, input: I })).toThrow(/kernels are for cell 'gru'/);
    const layer = layerFromOnnx(KERNELS.gru, 'gru', w, { hidden: H, input: I });
    expect(() => layerToOnnx(layer, 'lstm')).toThrow(/layer runs cell 'gru'/);
  });
});
