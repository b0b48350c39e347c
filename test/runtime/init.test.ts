// Initialisers by role: orthogonal recurrent blocks, Glorot ranges, forget-gate biases, overrides.

import { describe, expect, it } from 'vitest';
import * as gruMinMod from '../../generated/ts/gru-minimal.js';
import * as lstmMod from '../../generated/ts/lstm.js';
import * as cifgMod from '../../generated/ts/lstm-cifg.js';
import * as rnnMod from '../../generated/ts/rnn-tanh.js';
import { type AnyKernels, constant, createModel, initParams, orthogonal, paramLayout, Random } from '../../src/runtime/index.js';

/** max |Q Qᵀ − I| over the rows of an n × m row-major block at column offset c0 of a matrix with C columns. */
function orthoError(a: ArrayLike<number>, n: number, C: number, c0 = 0, m = n): number {
  let worst = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let k = 0; k < m; k++) d += a[i * C + c0 + k]! * a[j * C + c0 + k]!;
      worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
    }
  return worst;
}

describe('initialisers by role', () => {
  it('makes square recurrent matrices orthogonal and keeps input weights in the Glorot range', () => {
    const sizes = { input: 7, hidden: 12 };
    const p = initParams(lstmMod.f64, sizes, Float64Array, { seed: 3 });
    for (const u of ['U_i', 'U_f', 'U_o', 'U_c']) expect(orthoError(p[u]!, 12, 12)).toBeLessThan(1e-12);
    const a = Math.sqrt(6 / (7 + 12));
    for (const w of ['W_i', 'W_f', 'W_o', 'W_c']) {
      const v = Array.from(p[w]!);
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(a);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.8 * a); // spread over the range, not squeezed
      expect(Math.abs(v.reduce((s, x) => s + x, 0) / v.length)).toBeLessThan(0.1 * a);
    }
  });

  it('sets the LSTM forget-gate bias to 1 and every other bias to 0', () => {
    const p = initParams(lstmMod.f32, { input: 3, hidden: 5 }, Float32Array, { seed: 1 });
    expect(Array.from(p.b_f!)).toEqual([1, 1, 1, 1, 1]);
    for (const b of ['b_i', 'b_o', 'b_c']) expect(Array.from(p[b]!)).toEqual([0, 0, 0, 0, 0]);
  });

  it('finds keep gates written as (1 − g) ⊙ s_{t-1} and starts them at −1', () => {
    expect(Array.from(initParams(gruMinMod.f64, { input: 2, hidden: 3, classes: 2 }, Float64Array, { seed: 1 }).b_u!)).toEqual([-1, -1, -1]);
    expect(Array.from(initParams(cifgMod.f64, { input: 2, hidden: 3 }, Float64Array, { seed: 1 }).b_i!)).toEqual([-1, -1, -1]);
  });

  it('splits a stacked matrix W [c_{t-1}, x_t] into an orthogonal recurrent block and a Glorot input block', () => {
    const H = 6, I = 4;
    const layout = paramLayout(gruMinMod.cell, 'W_c', [H, H + I], { input: I, hidden: H, classes: 2 });
    expect(layout.blocks).toEqual([{ role: 'recurrent', cols: H }, { role: 'input', cols: I }]);
    const p = initParams(gruMinMod.f64, { input: I, hidden: H, classes: 2 }, Float64Array, { seed: 9 });
    expect(orthoError(p.W_c!, H, H + I)).toBeLessThan(1e-12);
    const a = Math.sqrt(6 / (H + I));
    for (let i = 0; i < H; i++) for (let j = H; j < H + I; j++) expect(Math.abs(p.W_c![i * (H + I) + j]!)).toBeLessThanOrEqual(a);
  });

  it('gives non-square blocks orthonormal rows or columns', () => {
    const a = new Float64Array(3 * 5);
    orthogonal().fill({ rows: 3, cols: 5, get: (i, j) => a[i * 5 + j]!, set: (i, j, v) => (a[i * 5 + j] = v) }, new Random(4));
    expect(orthoError(a, 3, 5, 0, 5)).toBeLessThan(1e-12);
  });

  it('lets a role or a single parameter be overridden', () => {
    const p = initParams(lstmMod.f64, { input: 2, hidden: 3 }, Float64Array, { seed: 1, roles: { 'forget-bias': constant(2), bias: constant(0.5) }, params: { U_c: orthogonal(3) } });
    expect(Array.from(p.b_f!)).toEqual([2, 2, 2]);
    expect(Array.from(p.b_o!)).toEqual([0.5, 0.5, 0.5]);
    let ss = 0;
    for (let j = 0; j < 3; j++) ss += p.U_c![j]! ** 2;
    expect(Math.sqrt(ss)).toBeCloseTo(3, 10);
  });

  it('is deterministic in the seed', () => {
    const a = initParams(rnnMod.f32, { input: 4, hidden: 4 }, Float32Array, { seed: 11 });
    const b = initParams(rnnMod.f32, { input: 4, hidden: 4 }, Float32Array, { seed: 11 });
    const c = initParams(rnnMod.f32, { input: 4, hidden: 4 }, Float32Array, { seed: 12 });
    expect(a.U).toEqual(b.U);
    expect(a.U).not.toEqual(c.U);
  });

  it('falls back to the shapes when kernels record no roles', () => {
    const { roles: _, ...cell } = rnnMod.cell;
    const k = { ...rnnMod.f64, cell } as unknown as AnyKernels<Float64Array>;
    expect(paramLayout(cell, 'U', [5, 5], { input: 3, hidden: 5 }).blocks).toEqual([{ role: 'recurrent', cols: 5 }]);
    expect(paramLayout(cell, 'W', [5, 3], { input: 3, hidden: 5 }).blocks).toEqual([{ role: 'input', cols: 3 }]);
    expect(orthoError(initParams(k, { input: 3, hidden: 5 }, Float64Array, { seed: 2 }).U!, 5, 5)).toBeLessThan(1e-12);
  });

  it('builds stacks whose later layers read the previous layer\'s output size', () => {
    const m = createModel({ layers: [{ kernels: lstmMod.f32, sizes: { input: 3, hidden: 4 }, bidirectional: true }, { kernels: rnnMod.f32, sizes: { hidden: 6 } }], classes: 5, array: Float32Array, seed: 1 });
    expect(m.layers[1]!.forward.sizes.input).toBe(8);
    expect(m.readout.W.length).toBe(5 * 6);
    expect(() => createModel({ layers: [{ kernels: rnnMod.f32, sizes: { input: 3 } }], classes: 2, array: Float32Array, seed: 1 })).toThrow(/size 'hidden' must be a positive integer/);
  });
});
