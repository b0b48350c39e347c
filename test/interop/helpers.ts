// Evaluate one ONNX RNN/GRU/LSTM node with cellgen's generated kernels, through the runtime's ONNX layers.
import * as gruResetAfter from '../../generated/ts/gru-reset-after.js';
import * as gru from '../../generated/ts/gru.js';
import * as lstmCifg from '../../generated/ts/lstm-cifg.js';
import * as lstmPeephole from '../../generated/ts/lstm-peephole.js';
import * as lstm from '../../generated/ts/lstm.js';
import * as rnnRelu from '../../generated/ts/rnn-relu.js';
import * as rnnTanh from '../../generated/ts/rnn-tanh.js';
import type { RnnAttrs, RnnInputs, RnnOp } from '../../src/check/onnx/reference.js';
import type { Arr } from '../../src/runtime/types.js';
import { type Layer, maskPadding, runLayer } from '../../src/runtime/layers.js';
import { type CellName, type KernelsByPrecision, layerFromOnnx } from '../../src/runtime/onnx.js';

export const KERNELS: Record<CellName, KernelsByPrecision> = {
  'rnn-tanh': rnnTanh,
  'rnn-relu': rnnRelu,
  gru,
  'gru-reset-after': gruResetAfter,
  lstm,
  'lstm-peephole': lstmPeephole,
  'lstm-cifg': lstmCifg,
};

/** The cellgen cell that evaluates an ONNX node; attributes it cannot express are an error, not ignored. */
export function cellForNode(op: RnnOp, attrs: RnnAttrs, hasPeepholes: boolean): CellName {
  if (attrs.clip !== undefined) throw new Error('clip has no cellgen cell');
  const acts = attrs.activations;
  const only = (...names: string[]) => acts === undefined || acts.every((a, k) => a === names[k % names.length]);
  switch (op) {
    case 'RNN':
      if (only('Tanh')) return 'rnn-tanh';
      if (acts !== undefined && only('Relu')) return 'rnn-relu';
      break;
    case 'GRU':
      if (only('Sigmoid', 'Tanh')) return attrs.linearBeforeReset ? 'gru-reset-after' : 'gru';
      break;
    case 'LSTM':
      if (only('Sigmoid', 'Tanh', 'Tanh')) return attrs.inputForget ? 'lstm-cifg' : hasPeepholes ? 'lstm-peephole' : 'lstm';
      break;
  }
  throw new Error(`${op} with activations ${JSON.stringify(acts)} has no cellgen cell`);
}

export interface OnnxOutputs {
  /** [seq, dirs, batch, H] (layout 0) or [batch, seq, dirs, H] (layout 1); padded steps are zero. */
  Y: Float64Array;
  /** [dirs, batch, H] (layout 0) or [batch, dirs, H] (layout 1). */
  Y_h: Float64Array;
  Y_c?: Float64Array;
}

/** The node's outputs, computed by the generated `precision` kernels of `cell`. */
export function runCellgen(cell: CellName, inputs: RnnInputs, attrs: RnnAttrs, precision: 'f32' | 'f64' | 'wasm'): OnnxOutputs {
  const [d0, d1, I] = inputs.X.dims as [number, number, number];
  const shape = { hidden: attrs.hiddenSize, input: I, direction: attrs.direction };
  const weights = { W: inputs.W, R: inputs.R, B: inputs.B, P: inputs.P };
  return precision === 'f64'
    ? evaluate(layerFromOnnx(KERNELS[cell], cell, weights, { ...shape, precision: 'f64' }), (v) => Float64Array.from(v), inputs, attrs, d0, d1, I)
    : evaluate(layerFromOnnx(KERNELS[cell], cell, weights, { ...shape, precision }), (v) => Float32Array.from(v), inputs, attrs, d0, d1, I);
}

function evaluate<A extends Arr>(layer: Layer<A>, from: (v: ArrayLike<number>) => A, inputs: RnnInputs, attrs: RnnAttrs, d0: number, d1: number, I: number): OnnxOutputs {
  const H = attrs.hiddenSize;
  const batchFirst = attrs.layout === 1;
  const [T, B] = batchFirst ? [d1, d0] : [d0, d1];
  const D = layer.backward ? 2 : 1;
  const reverse = attrs.direction === 'reverse';
  const lengths = inputs.sequenceLens ? Int32Array.from(inputs.sequenceLens) : undefined;
  const seq = { steps: T, batch: B, lengths };

  let x = from(batchFirst ? swap01(inputs.X.data, B, T, I) : inputs.X.data);
  // initial_h / initial_c are [dirs, batch, H] ([batch, dirs, H] batch-first); one [batch][H] block per direction.
  const initial = (t: RnnInputs['initialH'], d: number): A | undefined => {
    if (!t) return undefined;
    const data = batchFirst ? swap01(t.data, B, D, H) : t.data;
    return from(Array.prototype.slice.call(data, d * B * H, (d + 1) * B * H) as number[]);
  };
  const initFor = (d: number): Record<string, A> => {
    const r: Record<string, A> = {};
    const h = initial(inputs.initialH, d);
    const c = initial(inputs.initialC, d);
    if (h) r.h = h;
    if (c) r.c = c;
    return r;
  };
  const init = { forward: initFor(0), backward: D === 2 ? initFor(1) : undefined };

  // A 'reverse' node is a layer with reverse: true (see layerFromOnnx): runLayer reads the rows from their end.
  if (!!layer.reverse !== reverse) throw new Error(`layerFromOnnx gave reverse=${String(layer.reverse)} for direction ${attrs.direction}`);
  const run = runLayer(layer, x, seq, init);
  // A one-direction layer's out is its state sequence itself: mask a copy, or the final states below lose their carry.
  const out = maskPadding(run.out.slice() as A, seq, D * H);

  const Y = new Float64Array(T * D * B * H);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) Y[((t * D + d) * B + b) * H + j] = out[(t * B + b) * D * H + d * H + j]!;
  }
  // Padded steps carry the last state, so step T-1 holds every row's final state, in both directions.
  const last = (s: string): Float64Array => {
    const r = new Float64Array(D * B * H);
    [run.fw, run.bw].slice(0, D).forEach((dr, d) => r.set(dr!.states[s]!.subarray((T - 1) * B * H, T * B * H), d * B * H));
    return batchFirst ? swap01(r, D, B, H) : r;
  };
  const result: OnnxOutputs = { Y: batchFirst ? swap01(Y, T, D * B, H, D, B) : Y, Y_h: last('h') };
  if (layer.forward.kernels.cell.states.c !== undefined) result.Y_c = last('c');
  return result;
}

/**
 * Swap the first two axes of a row-major [a][b][n] array; with (p, q) given, axis 1 is really [p][q] and
 * [a][p][q][n] becomes [q][a][p][n] (Y's [seq][dirs][batch][H] to [batch][seq][dirs][H]).
 */
export function swap01(data: ArrayLike<number>, a: number, b: number, n: number, p?: number, q?: number): Float64Array {
  const out = new Float64Array(a * b * n);
  if (p !== undefined && q !== undefined) {
    for (let i = 0; i < a; i++) for (let u = 0; u < p; u++) for (let v = 0; v < q; v++) for (let k = 0; k < n; k++) {
      out[((v * a + i) * p + u) * n + k] = data[((i * p + u) * q + v) * n + k]!;
    }
    return out;
  }
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < n; k++) out[(j * a + i) * n + k] = data[(i * b + j) * n + k]!;
  return out;
}
