// ONNX weight layout <-> cellgen cell parameters: exact round trips, and the cell equations agree with ONNX.
import { describe, expect, it } from 'vitest';
import { rnnReference } from '../../../src/check/onnx/reference.js';
import { cellParamNames, cellToOnnx, onnxOpForCell, onnxToCell } from '../../../src/runtime/onnx/weights.js';
import type { CellName, CellParams } from '../../../src/runtime/onnx/weights.js';
import { expectClose, rng, uniform } from './helpers.js';

const CELLS: CellName[] = ['rnn-tanh', 'rnn-relu', 'gru', 'gru-reset-after', 'lstm', 'lstm-peephole', 'lstm-cifg'];
const H = 4;
const I = 3;

function randomParams(cell: CellName, next: () => number): CellParams {
  const p: CellParams = {};
  for (const name of cellParamNames(cell)) {
    const n = name.startsWith('W') ? H * I : name.startsWith('U') ? H * H : H;
    p[name] = uniform(next, n, 0.9);
  }
  return p;
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));
/** y = M v + (optional) c, M row-major [H, len(v)]. */
const affine = (M: Float64Array, v: Float64Array, c?: Float64Array) =>
  Float64Array.from({ length: H }, (_, j) => {
    let s = c ? c[j]! : 0;
    for (let k = 0; k < v.length; k++) s += M[j * v.length + k]! * v[k]!;
    return s;
  });
const add = (...xs: Float64Array[]) => Float64Array.from({ length: H }, (_, j) => xs.reduce((s, x) => s + x[j]!, 0));
const map = (a: Float64Array, f: (v: number, j: number) => number) => Float64Array.from(a, f);

/** One step of each cell, written from cellgen's cell equations (not from ONNX), carrying [h, c]. */
function cellStep(cell: CellName, p: CellParams, x: Float64Array, h: Float64Array, c: Float64Array): [Float64Array, Float64Array] {
  const gate = (g: string, extra?: Float64Array) => add(affine(p[`W_${g}`]!, x), affine(p[`U_${g}`]!, h), p[`b_${g}`]!, ...(extra ? [extra] : []));
  switch (cell) {
    case 'rnn-tanh':
    case 'rnn-relu': {
      const a = add(affine(p.W!, x), affine(p.U!, h), p.b!);
      return [map(a, (v) => (cell === 'rnn-tanh' ? Math.tanh(v) : Math.max(0, v))), c];
    }
    case 'gru':
    case 'gru-reset-after': {
      const z = map(gate('z'), sig);
      const r = map(gate('r'), sig);
      const cand = cell === 'gru'
        ? map(add(affine(p.W_h!, x), affine(p.U_h!, map(h, (v, j) => r[j]! * v)), p.b_h!), Math.tanh)
        : map(add(affine(p.W_h!, x), p.b_h!, map(affine(p.U_h!, h, p.b_uh!), (v, j) => r[j]! * v)), Math.tanh);
      return [map(cand, (v, j) => (1 - z[j]!) * v + z[j]! * h[j]!), c];
    }
    case 'lstm':
    case 'lstm-peephole':
    case 'lstm-cifg': {
      const peep = (name: string, s: Float64Array) => (cell === 'lstm-peephole' ? map(s, (v, j) => p[name]![j]! * v) : undefined);
      const i = map(gate('i', peep('p_i', c)), sig);
      const f = cell === 'lstm-cifg' ? map(i, (v) => 1 - v) : map(gate('f', peep('p_f', c)), sig);
      const cc = map(gate('c'), Math.tanh);
      const cNew = map(c, (v, j) => f[j]! * v + i[j]! * cc[j]!);
      const o = map(gate('o', peep('p_o', cNew)), sig);
      return [map(cNew, (v, j) => o[j]! * Math.tanh(v)), cNew];
    }
  }
}

describe('cell parameters -> ONNX -> cell parameters', () => {
  it.each(CELLS.flatMap((c) => [[c, 1], [c, 2]] as const))('%s with %i direction(s) is exact', (cell, dirs) => {
    const next = rng(31 + dirs);
    const params = Array.from({ length: dirs }, () => randomParams(cell, next));
    const onnx = cellToOnnx(cell, params, { hidden: H, input: I });
    const back = onnxToCell(cell, onnx, { hidden: H, input: I, direction: dirs === 2 ? 'bidirectional' : 'forward' });
    expect(back).toHaveLength(dirs);
    back.forEach((p, d) => {
      expect(Object.keys(p).sort()).toEqual(cellParamNames(cell).sort());
      for (const [k, v] of Object.entries(params[d]!)) expect(Array.from(p[k]!), `${cell}[${d}].${k}`).toEqual(Array.from(v));
    });
  });
});

describe('cell equations on cellToOnnx weights agree with the ONNX operator', () => {
  it.each(CELLS)('%s, bidirectional over 5 steps', (cell) => {
    const next = rng(cell.length * 101);
    const T = 5;
    const params = [randomParams(cell, next), randomParams(cell, next)];
    const X = uniform(next, T * I);
    const { op, attrs } = onnxOpForCell(cell, 'bidirectional');
    const onnx = cellToOnnx(cell, params, { hidden: H, input: I });
    const ref = rnnReference(op, { X: { dims: [T, 1, I], data: X }, ...onnx }, { ...attrs, hiddenSize: H });
    for (const d of [0, 1]) {
      let h: Float64Array = new Float64Array(H);
      let c: Float64Array = new Float64Array(H);
      for (let s = 0; s < T; s++) {
        const t = d === 0 ? s : T - 1 - s;
        [h, c] = cellStep(cell, params[d]!, X.slice(t * I, (t + 1) * I), h, c);
        expectClose(h, ref.Y.data.subarray((t * 2 + d) * H, (t * 2 + d + 1) * H), `${cell} dir ${d} t=${t}`, 1e-12, 1e-12);
      }
    }
  });
});

describe('ONNX -> cell parameters -> ONNX', () => {
  // Splitting the bias between Wb and Rb is not unique, so compare the function, not the tensors.
  it.each(CELLS)('%s keeps the operator output', (cell) => {
    const next = rng(cell.length * 7 + 3);
    const { op, attrs } = onnxOpForCell(cell);
    const G = op === 'RNN' ? 1 : op === 'GRU' ? 3 : 4;
    const T = 4;
    const W = { dims: [1, G * H, I], data: uniform(next, G * H * I) };
    const R = { dims: [1, G * H, H], data: uniform(next, G * H * H) };
    const B = { dims: [1, 2 * G * H], data: uniform(next, 2 * G * H) };
    const P = cell === 'lstm-peephole' ? { dims: [1, 3 * H], data: uniform(next, 3 * H) } : undefined;
    const X = { dims: [T, 2, I], data: uniform(next, T * 2 * I) };
    const a = { ...attrs, hiddenSize: H };
    const original = rnnReference(op, { X, W, R, B, ...(P ? { P } : {}) }, a);
    const params = onnxToCell(cell, { W, R, B, ...(P ? { P } : {}) }, { hidden: H, input: I });
    const rebuilt = rnnReference(op, { X, ...cellToOnnx(cell, params, { hidden: H, input: I }) }, a);
    expectClose(rebuilt.Y.data, original.Y.data, cell, 1e-12, 1e-12);
  });
});

describe('weights errors', () => {
  it('rejects a missing parameter', () => {
    const p = randomParams('gru-reset-after', rng(1));
    delete p.b_uh;
    expect(() => cellToOnnx('gru-reset-after', [p], { hidden: H, input: I })).toThrow(/b_uh/);
  });
  it('rejects a parameter the cell does not have', () => {
    const p = { ...randomParams('lstm-cifg', rng(2)), W_f: new Float64Array(H * I) };
    expect(() => cellToOnnx('lstm-cifg', [p], { hidden: H, input: I })).toThrow(/W_f/);
  });
  it('rejects nonzero peepholes for a cell without them', () => {
    const w = cellToOnnx('lstm', [randomParams('lstm', rng(3))], { hidden: H, input: I });
    expect(() => onnxToCell('lstm', { ...w, P: new Float64Array(3 * H).fill(0.1) }, { hidden: H, input: I })).toThrow(/peephole/);
  });
});
