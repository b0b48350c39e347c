// The 12 ONNX backend node tests for RNN/GRU/LSTM, reproduced by the float64 reference evaluator.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConformanceRoot, listConformanceCases, loadConformanceCase } from '../../../src/check/onnx/conformance.js';
import { rnnReference } from '../../../src/check/onnx/reference.js';
import { expectClose, maxAbsDiff } from './helpers.js';

const root = defaultConformanceRoot();
const cases = listConformanceCases(root);

describe('ONNX conformance data', () => {
  it('holds the 12 RNN/GRU/LSTM cases', () => {
    expect(cases).toHaveLength(12);
  });

  it.each(cases)('%s matches the float64 reference', (name) => {
    const c = loadConformanceCase(join(root, name));
    const ref = rnnReference(c.op, c.inputs, c.attrs);
    const slots = Object.keys(c.outputs);
    expect(slots.length).toBeGreaterThan(0);
    for (const slot of slots) {
      const expected = c.outputs[slot]!;
      const got = ref[slot as 'Y' | 'Y_h' | 'Y_c'];
      expect(got, `${name}: reference has no ${slot}`).toBeDefined();
      expect(got!.dims, `${name}: ${slot} dims`).toEqual(expected.dims);
      expectClose(expected.data, got!.data, `${name}: ${slot}`);
    }
  });

  // The only case with random weights over two steps: it must notice gate order and reset placement.
  it('test_gru_seq_length distinguishes linear_before_reset and the gate order', () => {
    const c = loadConformanceCase(join(root, 'test_gru_seq_length'));
    const expected = c.outputs.Y_h!.data;
    const flipped = rnnReference(c.op, c.inputs, { ...c.attrs, linearBeforeReset: 1 });
    expect(maxAbsDiff(flipped.Y_h.data, expected)).toBeGreaterThan(1e-3);
    // Swap the z and r blocks of W: the reference must then disagree with the data.
    const H = c.attrs.hiddenSize;
    const W = Float32Array.from(c.inputs.W.data);
    const I = c.inputs.W.dims[2]!;
    const z = W.slice(0, H * I);
    W.copyWithin(0, H * I, 2 * H * I);
    W.set(z, H * I);
    const swapped = rnnReference(c.op, { ...c.inputs, W: { dims: c.inputs.W.dims, data: W } }, c.attrs);
    expect(maxAbsDiff(swapped.Y_h.data, expected)).toBeGreaterThan(1e-3);
  });
});
