// .onnx model files: a stack trained in cellgen, saved, runs in onnxruntime-node with the same
// outputs; a model file written by another tool (one node, weights as initializers) loads back.

import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as gruRa from '../../generated/ts/gru-reset-after.js';
import * as gruMod from '../../generated/ts/gru.js';
import * as lstmMod from '../../generated/ts/lstm.js';
import * as lstmPeep from '../../generated/ts/lstm-peephole.js';
import * as rnnRelu from '../../generated/ts/rnn-relu.js';
import { buildRnnModel } from '../../src/check/onnx/model.js';
import { createSession, runSession } from '../../src/check/onnx/ort.js';
import { Random } from '../../src/runtime/random.js';
import { direction, type Layer, runStack, stackFromOnnxModel, stackToOnnxModel } from '../../src/runtime/index.js';

const KERNELS = { 'gru-reset-after': gruRa, gru: gruMod, lstm: lstmMod, 'lstm-peephole': lstmPeep, 'rnn-relu': rnnRelu };
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

  it('names what it cannot load', () => {
    const bytes = stackToOnnxModel([{ forward: randomDirection(lstmMod, { input: 2, hidden: 2 }, new Random(1)) }]);
    expect(() => stackFromOnnxModel(bytes, { gru: gruMod })).toThrow(/lstm layer; pass its kernels/);
    expect(() => stackToOnnxModel([])).toThrow(/at least one layer/);
  });
});
