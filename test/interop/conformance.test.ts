// The 12 ONNX backend node tests for RNN/GRU/LSTM, evaluated by the generated kernels (TypeScript f32 and f64, WebAssembly SIMD).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConformanceRoot, listConformanceCases, loadConformanceCase } from '../../src/check/onnx/conformance.js';
import { expectClose } from '../check/onnx/helpers.js';
import { cellForNode, runCellgen } from './helpers.js';

const root = defaultConformanceRoot();
const names = listConformanceCases(root);

describe('ONNX conformance cases through the generated kernels', () => {
  it('finds all 12 cases', () => {
    expect(names).toHaveLength(12);
  });

  it.each(names.flatMap((n) => [[n, 'f32'], [n, 'f64'], [n, 'wasm']] as const))('%s (%s)', (name, precision) => {
    const c = loadConformanceCase(join(root, name));
    const cell = cellForNode(c.op, c.attrs, c.inputs.P !== undefined);
    const got = runCellgen(cell, c.inputs, c.attrs, precision);
    const slots = Object.keys(c.outputs);
    expect(slots.length).toBeGreaterThan(0);
    for (const slot of slots) {
      const want = c.outputs[slot]!;
      const have = got[slot as keyof typeof got];
      expect(have, `${name}: cellgen gives no ${slot}`).toBeDefined();
      expect(have!.length, `${name} ${slot}: size of ${JSON.stringify(want.dims)}`).toBe(want.dims.reduce((a, b) => a * b, 1));
      expectClose(have!, want.data, `${name} ${slot} (${cell}, ${precision})`, 1e-5, 1e-4);
    }
  });

  it('maps each case to the expected cell', () => {
    const cells = Object.fromEntries(names.map((n) => {
      const c = loadConformanceCase(join(root, n));
      return [n, cellForNode(c.op, c.attrs, c.inputs.P !== undefined)];
    }));
    expect(cells.test_lstm_with_peepholes).toBe('lstm-peephole');
    expect(cells.test_lstm_defaults).toBe('lstm');
    expect(cells.test_gru_seq_length).toBe('gru');
    expect(cells.test_rnn_seq_length).toBe('rnn-tanh');
  });
});
