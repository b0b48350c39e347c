// .onnx model files: a stack trained in cellgen, saved, runs in onnxruntime-node with the same
// outputs; a model file written by another tool (one node, weights as initializers) loads back.

import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as gruRa from '../../generated/ts/gru-reset-after.js';
import * as gruMod from '../../generated/ts/gru.js';
import * as lstmMod from '../../generated/ts/lstm.js';
import * as lstmPeep from '../../generated/ts/lstm-peephole.js';
import * as rnnRelu from '../../generated/ts/rnn-relu.js';
import * as rnnTanh from '../../generated/ts/rnn-tanh.js';
import { buildRnnModel } from '../../src/check/onnx/model.js';
import { createSession, runSession } from '../../src/check/onnx/ort.js';
import { Random } from '../../src/runtime/random.js';
import { backLayer, direction, type Layer, runLayer, runStack, stackFromOnnxModel, stackToOnnxModel } from '../../src/runtime/index.js';

const KERNELS = { 'gru-reset-after': gruRa, gru: gruMod, lstm: lstmMod, 'lstm-peephole': lstmPeep, 'rnn-relu': rnnRelu, 'rnn-tanh': rnnTanh };
type Mod = (typeof KERNELS)[keyof typeof KERNELS];

function randomDirection(mod: Mod, sizes: { input: number; hidden: number }, rng: Random) {
  const full: Record<string, number> = { ...sizes };
  for (const s of mod.f32.cell.sizes) full[s] ??= 1;
  const shapes = mod.f32.paramShapes(full as never) as Record<string, readonly number[]>;
  const params = Object.fromEntries(Object.entries(shapes).map(([k, d]) => [k, Float32Array.from(rng.array(d.reduce((a, b) => a * b, 1), 0.5))]));
  return direction(mod.f32, full, params);
}

async function ortRun(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await createSession(bytes);
  return (await runSession(session, { X: new ort.Tensor('float32', x, dims) })).Y!.data;
}

describe('.onnx model files', () => {
  for (const batchFirst of [false, true]) {
    it(`a 3-layer stack (bidirectional gru-reset-after, lstm-peephole, rnn-relu) runs in onnxruntime as in cellgen${batchFirst ? ', batch first' : ''}`, async () => {
      const rng = new Random(3);
      const [T, B, I] = [5, 2, 3];
      const layers: Layer<Float32Array>[] = [
        { forward: randomDirection(gruRa, { input: I, hidden: 4 }, rng), backward: randomDirection(gruRa, { input: I, hidden: 4 }, rng) },
        { forward: randomDirection(lstmPeep, { input: 8, hidden: 6 }, rng) },
        { forward: randomDirection(rnnRelu, { input: 6, hidden: 3 }, rng) },
      ];
      const x = Float32Array.from(rng.array(T * B * I, 1));
      const ours = runStack(layers, x, { steps: T, batch: B, batchFirst }).at(-1)!.out;
      const bytes = stackToOnnxModel(layers, { batchFirst });
      const theirs = await ortRun(bytes, x, batchFirst ? [B, T, I] : [T, B, I]);
      expect(theirs.length).toBe(ours.length);
      for (let i = 0; i < ours.length; i++) expect(Math.abs(theirs[i]! - ours[i]!)).toBeLessThan(1e-5);

      // And back: the file loads into the same layers.
      const loaded = stackFromOnnxModel(bytes, KERNELS);
      expect(loaded.cells).toEqual(['gru-reset-after', 'lstm-peephole', 'rnn-relu']);
      const again = runStack(loaded.layers as Layer<Float32Array>[], x, { steps: T, batch: B, batchFirst }).at(-1)!.out;
      expect(Array.from(again)).toEqual(Array.from(ours));
    });
  }

  it('loads a GRU model file written by another writer (weights as initializers) with the same outputs as onnxruntime', async () => {
    const rng = new Random(9);
    const [T, B, I, H] = [4, 3, 2, 5];
    const W = { dims: [2, 3 * H, I], data: rng.array(2 * 3 * H * I, 0.5) };
    const R = { dims: [2, 3 * H, H], data: rng.array(2 * 3 * H * H, 0.5) };
    const Bias = { dims: [2, 6 * H], data: rng.array(2 * 6 * H, 0.3) };
    const X = { dims: [T, B, I], data: Float32Array.from(rng.array(T * B * I, 1)) };
    const m = buildRnnModel('GRU', { X, W, R, B: Bias }, { hiddenSize: H, direction: 'bidirectional', linearBeforeReset: 0 }, { initializers: ['W', 'R', 'B'] });
    const session = await createSession(m.bytes);
    const y = (await runSession(session, { X: new ort.Tensor('float32', X.data, X.dims) })).Y!; // [T, 2, B, H]
    const { layers, cells } = stackFromOnnxModel(m.bytes, KERNELS, { precision: 'f64' });
    expect(cells).toEqual(['gru']);
    const out = runStack(layers as Layer<Float64Array>[], Float64Array.from(X.data), { steps: T, batch: B })[0]!.out; // [T, B, 2H]
    for (let t = 0; t < T; t++)
      for (let d = 0; d < 2; d++)
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++) expect(Math.abs(out[(t * B + b) * 2 * H + d * H + h]! - y.data[((t * 2 + d) * B + b) * H + h]!)).toBeLessThan(1e-5);
  });

  for (const batchFirst of [false, true]) {
    it(`reverse layers (lstm, rnn-relu) between bidirectional and forward ones run in onnxruntime as in cellgen and load back${batchFirst ? ', batch first' : ''}`, async () => {
      const rng = new Random(11);
      const [T, B, I] = [6, 3, 2];
      const layers: Layer<Float32Array>[] = [
        { forward: randomDirection(lstmMod, { input: I, hidden: 5 }, rng), reverse: true },
        { forward: randomDirection(gruMod, { input: 5, hidden: 3 }, rng), backward: randomDirection(gruMod, { input: 5, hidden: 3 }, rng) },
        { forward: randomDirection(rnnRelu, { input: 6, hidden: 4 }, rng), reverse: true },
        { forward: randomDirection(gruRa, { input: 4, hidden: 2 }, rng) },
      ];
      const x = Float32Array.from(rng.array(T * B * I, 1));
      const ours = runStack(layers, x, { steps: T, batch: B, batchFirst }).at(-1)!.out;
      const bytes = stackToOnnxModel(layers, { batchFirst });
      const theirs = await ortRun(bytes, x, batchFirst ? [B, T, I] : [T, B, I]);
      expect(theirs.length).toBe(ours.length);
      for (let i = 0; i < ours.length; i++) expect(Math.abs(theirs[i]! - ours[i]!)).toBeLessThan(1e-5);
      const loaded = stackFromOnnxModel(bytes, KERNELS);
      expect(loaded.cells).toEqual(['lstm', 'gru', 'rnn-relu', 'gru-reset-after']);
      expect(loaded.layers.map((l) => [!!l.reverse, !!l.backward])).toEqual([[true, false], [false, true], [true, false], [false, false]]);
      const again = runStack(loaded.layers as Layer<Float32Array>[], x, { steps: T, batch: B, batchFirst }).at(-1)!.out;
      expect(Array.from(again)).toEqual(Array.from(ours));
    });
  }

  it('loads reverse LSTM and RNN nodes written by another writer with the outputs of onnxruntime', async () => {
    const rng = new Random(5);
    const [T, B, I, H] = [5, 2, 3, 4];
    for (const op of ['LSTM', 'RNN'] as const) {
      const G = op === 'LSTM' ? 4 : 1;
      const W = { dims: [1, G * H, I], data: rng.array(G * H * I, 0.5) };
      const R = { dims: [1, G * H, H], data: rng.array(G * H * H, 0.5) };
      const Bias = { dims: [1, 2 * G * H], data: rng.array(2 * G * H, 0.3) };
      const X = { dims: [T, B, I], data: Float32Array.from(rng.array(T * B * I, 1)) };
      const m = buildRnnModel(op, { X, W, R, B: Bias }, { hiddenSize: H, direction: 'reverse' }, { initializers: ['W', 'R', 'B'] });
      const y = (await runSession(await createSession(m.bytes), { X: new ort.Tensor('float32', X.data, X.dims) })).Y!; // [T, 1, B, H]
      const { layers, cells } = stackFromOnnxModel(m.bytes, KERNELS, { precision: 'f64' });
      expect(cells).toEqual([op === 'LSTM' ? 'lstm' : 'rnn-tanh']);
      expect(layers[0]!.reverse).toBe(true);
      const out = runStack(layers as Layer<Float64Array>[], Float64Array.from(X.data), { steps: T, batch: B })[0]!.out;
      expect(out.length).toBe(y.data.length);
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - y.data[i]!), `${op} ${i}`).toBeLessThan(1e-5);
    }
  });

  it('BPTT through a reverse layer with padded rows matches finite differences', () => {
    const rng = new Random(8);
    const [T, B, I, H] = [5, 3, 2, 3];
    const full: Record<string, number> = { input: I, hidden: H };
    const shapes = gruMod.f64.paramShapes(full as never) as Record<string, readonly number[]>;
    const params = Object.fromEntries(Object.entries(shapes).map(([k, d]) => [k, rng.array(d.reduce((a, b) => a * b, 1), 0.6)]));
    const layer: Layer<Float64Array> = { forward: direction(gruMod.f64, full, params), reverse: true };
    const shape = { steps: T, batch: B, lengths: Int32Array.from([5, 2, 4]) };
    const x = rng.array(T * B * I, 1);
    const w = rng.array(T * B * H, 1);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (t >= shape.lengths[b]!) w.fill(0, (t * B + b) * H, (t * B + b + 1) * H);
    const loss = (): number => runLayer(layer, x, shape).out.reduce((s, v, i) => s + v * w[i]!, 0);
    const g = backLayer(layer, runLayer(layer, x, shape), w, shape);
    const fd = (a: Float64Array, i: number): number => {
      const v = a[i]!;
      a[i] = v + 1e-6;
      const up = loss();
      a[i] = v - 1e-6;
      const down = loss();
      a[i] = v;
      return (up - down) / 2e-6;
    };
    for (let i = 0; i < x.length; i++) expect(Math.abs(fd(x, i) - g.dx[i]!), `dx[${i}]`).toBeLessThan(1e-7);
    for (const [k, p] of Object.entries(params)) for (let i = 0; i < p.length; i++) expect(Math.abs(fd(p, i) - g.forward[k]![i]!), `d${k}[${i}]`).toBeLessThan(1e-7);
  });

  it('refuses the clip attribute by name', () => {
    const rng = new Random(2);
    const [I, H] = [2, 3];
    const m = buildRnnModel('GRU', { X: { dims: [2, 1, I], data: new Float32Array(2 * I) }, W: { dims: [1, 3 * H, I], data: rng.array(3 * H * I) }, R: { dims: [1, 3 * H, H], data: rng.array(3 * H * H) } }, { hiddenSize: H, clip: 0.5 }, { initializers: ['W', 'R'] });
    expect(() => stackFromOnnxModel(m.bytes, KERNELS)).toThrow(/attribute 'clip' \(cell clip 0\.5\) is not supported/);
  });

  it('names what it cannot load', () => {
    const bytes = stackToOnnxModel([{ forward: randomDirection(lstmMod, { input: 2, hidden: 2 }, new Random(1)) }]);
    expect(() => stackFromOnnxModel(bytes, { gru: gruMod })).toThrow(/lstm layer; pass its kernels/);
    expect(() => stackToOnnxModel([])).toThrow(/at least one layer/);
  });
});
