// The cellgen float64 reference forward agrees with an independent implementation of the ONNX operators.

import { describe, expect, it } from 'vitest';
import { forwardSequence } from '../../src/check/reference.js';
import { Random } from '../../src/runtime/random.js';
import { rnnReference } from '../../src/check/onnx/reference.js';
import { type CellName, cellToOnnx, onnxOpForCell } from '../../src/runtime/onnx/weights.js';
import { shipped } from '../helpers.js';

const CELLS: CellName[] = ['rnn-tanh', 'gru', 'gru-reset-after', 'lstm', 'lstm-peephole', 'lstm-cifg', 'rnn-relu'];

describe.each(CELLS)('%s', (name) => {
  it('matches the ONNX operator equations over 7 steps with random weights and initial states', () => {
    const c = shipped(name);
    const rng = new Random(1234 + name.length);
    const I = 4, H = 5, T = 7, B = 3;
    const sizes = { input: I, hidden: H, classes: 3 };
    const params = Object.fromEntries(c.cell.params.map((p) => [p.name, rng.array(p.shape.length === 2 ? H * (p.shape[1]!.terms[0]![0] === 'input' ? I : H) : H, 0.7)]));
    const x = rng.array(T * B * I);
    const init = Object.fromEntries(c.cell.prev.map((s) => [s.name, rng.array(B * H, 0.5)]));
    const ref = forwardSequence(c.cell, sizes, params, { batch: B, steps: T, inputs: { x }, init });
    const w = cellToOnnx(name, [params], { hidden: H, input: I });
    const { op, attrs } = onnxOpForCell(name);
    const o = rnnReference(op, {
      X: { dims: [T, B, I], data: x }, W: w.W, R: w.R, B: w.B, ...(w.P ? { P: w.P } : {}),
      initialH: { dims: [1, B, H], data: init.h! }, ...(init.c ? { initialC: { dims: [1, B, H], data: init.c } } : {}),
    }, { hiddenSize: H, ...attrs });
    let err = 0;
    for (let i = 0; i < T * B * H; i++) err = Math.max(err, Math.abs(o.Y.data[i]! - ref.states.h![i]!));
    expect(err).toBeLessThan(1e-12);
    expect(Math.max(...Array.from(ref.states.h!).map(Math.abs))).toBeGreaterThan(0.05);
  });
});
