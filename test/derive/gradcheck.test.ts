// Finite differences and the dot-product test for the derived BPTT of every shipped cell.

import { describe, expect, it } from 'vitest';
import { dotProductTest, gradCheck, randomProblem } from '../../src/check/gradcheck.js';
import { Rng } from '../../src/check/random.js';
import { CELL_NAMES, shipped } from '../helpers.js';

describe.each(CELL_NAMES)('%s', (name) => {
  const c = shipped(name);
  const rng = new Rng(name.length * 7919 + 17);
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
});
