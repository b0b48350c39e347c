// Optimizers against hand-computed steps, and the naming that pairs parameters with gradients.

import { describe, expect, it } from 'vitest';
import * as gruMod from '../../generated/ts/gru.js';
import { adam, createModel, gradList, lossAndGradients, namedParams, sgd } from '../../src/runtime/index.js';

/** Minimises f(θ) = ½ Σ θ² (gradient θ) for `n` steps. */
function quadratic(opt: ReturnType<typeof adam>, theta: number[], n: number): number[][] {
  const p = Float64Array.from(theta);
  const trace: number[][] = [];
  for (let i = 0; i < n; i++) {
    opt.step([p], [p.slice()]);
    trace.push(Array.from(p));
  }
  return trace;
}

describe('Adam', () => {
  it('matches a hand computation on a quadratic', () => {
    // Step 1: m = 0.1, v = 0.001, m̂ = 1, v̂ = 1, θ = 1 − 0.1·1/(1 + 1e-8) ≈ 0.9.
    // Step 2: g = 0.9, m = 0.18, v = 0.001809, m̂ = 0.18/0.19, v̂ = 0.001809/0.001999,
    //         θ = 0.9 − 0.1·0.947368/0.951290 = 0.800412.
    const [s1, s2] = quadratic(adam({ lr: 0.1 }), [1], 2);
    expect(s1![0]).toBeCloseTo(0.9, 7);
    expect(s2![0]).toBeCloseTo(0.800412, 5);
  });

  it('moves every coordinate by about lr on the first step, whatever the gradient scale', () => {
    const [s1] = quadratic(adam({ lr: 0.01 }), [1000, -0.001, 3], 1);
    expect(s1![0]).toBeCloseTo(999.99, 6);
    expect(s1![1]).toBeCloseTo(-0.001 + 0.01, 4);
    expect(s1![2]).toBeCloseTo(2.99, 6);
  });

  it('rejects bad settings', () => {
    expect(() => adam({ lr: -1 })).toThrow(/learning rate/);
    expect(() => adam({ beta1: 1 })).toThrow(/beta1/);
  });
});

describe('SGD', () => {
  it('takes plain steps θ ← θ − lr g', () => {
    const t = quadratic(sgd({ lr: 0.5 }), [2], 3);
    expect(t.map((s) => s[0])).toEqual([1, 0.5, 0.25]);
  });

  it('with momentum accumulates velocity (v ← μv + g, θ ← θ − lr v)', () => {
    // v1 = 1, θ1 = 0.9; v2 = 0.9 + 0.9 = 1.8, θ2 = 0.72; v3 = 1.62 + 0.72 = 2.34, θ3 = 0.486.
    const t = quadratic(sgd({ lr: 0.1, momentum: 0.9 }), [1], 3);
    expect(t.map((s) => s[0]!)).toEqual([expect.closeTo(0.9, 12), expect.closeTo(0.72, 12), expect.closeTo(0.486, 12)]);
  });

  it('with Nesterov momentum looks ahead (θ ← θ − lr (g + μv))', () => {
    const t = quadratic(sgd({ lr: 0.1, momentum: 0.9, nesterov: true }), [1], 1);
    expect(t[0]![0]).toBeCloseTo(1 - 0.1 * (1 + 0.9), 12);
  });

  it('checks that parameters and gradients pair up', () => {
    expect(() => sgd({ lr: 0.1 }).step([new Float32Array(3)], [new Float32Array(2)])).toThrow(/3 elements but its gradient 2/);
    expect(() => sgd({ lr: 0.1 }).step([new Float32Array(3)], [])).toThrow(/1 parameters but 0 gradients/);
  });
});

describe('parameter naming', () => {
  it('lists every parameter of a bidirectional stack once, with gradients in the same order', () => {
    const m = createModel({ layers: [{ kernels: gruMod.f64, sizes: { input: 3, hidden: 4 }, bidirectional: true }, { kernels: gruMod.f64, sizes: { hidden: 2 } }], classes: 3, array: Float64Array, seed: 1 });
    const names = namedParams(m).map(([n]) => n);
    expect(names).toContain('layers.0.backward.U_h');
    expect(names).toContain('layers.1.forward.W_z');
    expect(new Set(names).size).toBe(names.length);
    const x = Float64Array.from({ length: 5 * 2 * 3 }, (_, i) => Math.sin(i));
    const { grads } = lossAndGradients(m, { steps: 5, batch: 2, x, targets: Int32Array.from({ length: 10 }, (_, i) => i % 3) });
    const g = gradList(m, grads);
    namedParams(m).forEach(([n, a], i) => expect(g[i]!.length, n).toBe(a.length));
    expect(g[names.indexOf('layers.1.forward.W_z')]).toBe(grads.layers[1]!.forward.W_z);
  });
});
