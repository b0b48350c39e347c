// Saving and loading weights as safetensors: round trip, the documented layout, and mismatch errors.

import { describe, expect, it } from 'vitest';
import * as gruMod from '../../generated/ts/gru.js';
import * as lstmMod from '../../generated/ts/lstm.js';
import { createModel, loadWeights, namedParams, readWeightsMeta, saveWeights, WeightsError } from '../../src/runtime/index.js';

const gruModel = (seed: number, hidden = 4) => createModel({ layers: [{ kernels: gruMod.f32, sizes: { input: 3, hidden }, bidirectional: true }, { kernels: lstmMod.f32, sizes: { hidden: 5 } }], classes: 2, array: Float32Array, seed });

describe('weights files', () => {
  it('round-trip every parameter exactly', () => {
    const a = gruModel(1);
    for (const [, p] of namedParams(a)) for (let i = 0; i < p.length; i++) p[i] += Math.sin(i) * 1e-3; // biases too
    const b = gruModel(2);
    loadWeights(b, saveWeights(a));
    const pb = new Map(namedParams(b));
    for (const [n, p] of namedParams(a)) expect(pb.get(n), n).toEqual(p);
  });

  it('follow the safetensors layout: u64 header length, JSON header with __metadata__, little-endian data', () => {
    const m = gruModel(3);
    const bytes = saveWeights(m);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__.format).toBe('cellgen-weights/1');
    expect(JSON.parse(header.__metadata__.layers)).toEqual([
      { cell: 'gru', sizes: { hidden: 4, input: 3 }, bidirectional: true },
      { cell: 'lstm', sizes: { hidden: 5, input: 8 }, bidirectional: false },
    ]);
    const u = header['layers.0.backward.U_h'];
    expect(u.dtype).toBe('F32');
    expect(u.shape).toEqual([4, 4]);
    const [b0, b1] = u.data_offsets;
    const data = new Float32Array(bytes.slice(8 + n + b0, 8 + n + b1).buffer);
    expect(data).toEqual(m.layers[0]!.backward!.params.U_h);
    expect(readWeightsMeta(bytes).classes).toBe(2);
  });

  it('load float32 weights into a float64 model', () => {
    const a = gruModel(4);
    const b = createModel({ layers: [{ kernels: gruMod.f64, sizes: { input: 3, hidden: 4 }, bidirectional: true }, { kernels: lstmMod.f64, sizes: { hidden: 5 } }], classes: 2, array: Float64Array, seed: 5 });
    loadWeights(b, saveWeights(a));
    expect(Array.from(b.readout.W)).toEqual(Array.from(a.readout.W));
  });

  it('name the layer, cell and size that do not match', () => {
    const file = saveWeights(gruModel(1));
    expect(() => loadWeights(gruModel(1, 6), file)).toThrow(/layer 0 \(gru\): size 'hidden' is 4 in the file but 6 in the model/);
    const other = createModel({ layers: [{ kernels: lstmMod.f32, sizes: { input: 3, hidden: 4 }, bidirectional: true }, { kernels: lstmMod.f32, sizes: { hidden: 5 } }], classes: 2, array: Float32Array, seed: 1 });
    expect(() => loadWeights(other, file)).toThrow(/layer 0: the file holds cell 'gru' but the model's layer is 'lstm'/);
    const one = createModel({ layers: [{ kernels: gruMod.f32, sizes: { input: 3, hidden: 4 } }], classes: 2, array: Float32Array, seed: 1 });
    expect(() => loadWeights(one, file)).toThrow(/the file has 2 layer\(s\) but the model has 1/);
    const classes = createModel({ layers: [{ kernels: gruMod.f32, sizes: { input: 3, hidden: 4 }, bidirectional: true }, { kernels: lstmMod.f32, sizes: { hidden: 5 } }], classes: 3, array: Float32Array, seed: 1 });
    expect(() => loadWeights(classes, file)).toThrow(/2 classes but the model's has 3/);
    expect(() => loadWeights(gruModel(1), file)).not.toThrow();
  });

  it('reject files that are not cellgen weights, with a WeightsError', () => {
    const m = gruModel(1);
    expect(() => loadWeights(m, new Uint8Array(4))).toThrow(WeightsError);
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 1000n, true);
    expect(() => loadWeights(m, bad)).toThrow(/header length 1000 exceeds/);
    const json = new TextEncoder().encode('{"__metadata__":{"format":"other"}}');
    const other = new Uint8Array(8 + json.length);
    new DataView(other.buffer).setBigUint64(0, BigInt(json.length), true);
    other.set(json, 8);
    expect(() => loadWeights(m, other)).toThrow(/not cellgen weights/);
    const file = saveWeights(m);
    const truncated = file.subarray(0, file.length - 4);
    expect(() => loadWeights(m, truncated)).toThrow(/data_offsets/);
  });
});
