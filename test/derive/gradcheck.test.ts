// Finite differences and the dot-product test for the derived BPTT of every shipped cell.

import { describe, expect, it } from 'vitest';
import { dotProductTest, gradCheck, randomProblem } from '../../src/check/gradcheck.js';
import { Random } from '../../src/runtime/random.js';
import { constant, mul } from '../../src/ir/expr.js';
import { cellText } from '../cell-text.js';
import { CELL_NAMES, inline, shipped } from '../helpers.js';

describe.each(CELL_NAMES)('%s', (name) => {
  const c = shipped(name);
  const rng = new Random(name.length * 7919 + 17);
  const sizes = Object.fromEntries(c.spec.sizes.map((s) => [s.name, rng.int(2, 6)]));
  const p = randomProblem(c, { steps: rng.int(6, 8), batch: rng.int(2, 3), seed: rng.int(1, 1e6), sizes });

  it('matches finite differences for every parameter, initial state and input (rel err <= 1e-6)', () => {
    const errs = gradCheck(c, p);
    const names = errs.map((e) => e.tensor);
    for (const q of c.cell.params) expect(names).toContain(q.name);
    for (const s of c.cell.prev) expect(names).toContain(`${s.name}_0`);
    for (const e of errs) expect(e.maxRelErr, `${e.tensor}`).toBeLessThanOrEqual(1e-6);
  });

  it('passes the dot-product test against independent forward mode', () => {
    const d = dotProductTest(c, p, 99);
    expect(Math.abs(d.jv_w)).toBeGreaterThan(1e-3);
    expect(d.relDiff).toBeLessThan(1e-10);
  });
});

describe('the gradient check itself', () => {
  it('detects a wrong gradient', () => {
    const c = shipped('gru');
    const p = randomProblem(c, { steps: 4, batch: 2, seed: 5 });
    // Dropping one parameter's gradient terms must show up as a large error for that parameter.
    const errs = gradCheck(c, p);
    expect(Math.max(...errs.map((e) => e.maxRelErr))).toBeLessThan(1e-6);
    const bad = { ...c, bw: { ...c.bw, grads: c.bw.grads.filter((g) => g.param !== 'b_r') } };
    const e = gradCheck(bad, p).find((x) => x.tensor === 'b_r')!;
    expect(e.maxRelErr).toBeGreaterThan(0.5);
  });

  it('accepts the documented subgradient at a kink the input sits on, and still rejects a wrong one', () => {
    const text = cellText({
      name: 'kink',
      title: 'relu at its kink',
      sizes: { n: '{ symbol: N, example: 3 }' },
      inputs: { x: 'n' },
      state: { h: 'n' },
      parameters: { g: 'n' },
      equations: { h: 'relu(x .* g) + clip(x, -1, 1)' },
    });
    const c = inline(text, 'test/kink.cell.yaml');
    const p = randomProblem(c, { steps: 1, batch: 1, seed: 3, sizes: { n: 3 } });
    // x = 0 (relu's kink: relu'(0) = 0), x = 1 (clip's upper corner: clip' = 0 there), x = 0.3 (smooth)
    p.inputs.x!.set([0, 1, 0.3]);
    p.params.g!.set([0.7, 0.2, -0.4]);
    const errs = gradCheck(c, p);
    for (const e of errs) expect(e.maxRelErr, e.tensor).toBeLessThanOrEqual(1e-6);
    // A derivative outside [left, right] at the kink is still an error.
    const bad = { ...c, bw: { ...c.bw, inputAdjoint: new Map([['x', mul(c.bw.inputAdjoint.get('x')!, constant(3))]]) } };
    expect(gradCheck(bad, p).find((e) => e.tensor === 'x')!.maxRelErr).toBeGreaterThan(0.5);
  });
});
