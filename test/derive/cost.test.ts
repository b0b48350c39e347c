// The derived backward step costs what a careful hand derivation costs.

import { describe, expect, it } from 'vitest';
import { matvec, topoOrder } from '../../src/ir/expr.js';
import { polyEval } from '../../src/ir/poly.js';
import { CELL_NAMES, shipped } from '../helpers.js';

describe.each(CELL_NAMES)('%s', (name) => {
  const c = shipped(name);
  const sizes = Object.fromEntries(c.spec.sizes.map((s, i) => [s.name, 5 + 3 * i]));

  it('spends exactly twice the forward matrix flops in the backward (one transpose product and one outer product each)', () => {
    expect(polyEval(c.cost.backward.matrix, sizes)).toBe(2 * polyEval(c.cost.forward.matrix, sizes));
  });

  it('has at most twice the forward elementwise work, plus gradient sums', () => {
    const fw = polyEval(c.cost.forward.elementwise, sizes);
    // A normalisation's symbolic backward does not use Σ(x - μ) = 0 (its δμ term from the variance is computed,
    // though it is zero), so cells with reductions get a looser bound.
    const normalised = topoOrder([...c.cell.next.values()]).some((e) => e.kind === 'reduce');
    expect(polyEval(c.cost.backward.elementwise, sizes)).toBeLessThanOrEqual((normalised ? 3 : 2.5) * fw + 2 * sizes.input!);
  });

  it('computes each transpose product once', () => {
    const roots = [...c.bw.bindings.map((b) => b.expr), ...c.bw.prevAdjoint.values(), ...c.bw.inputAdjoint.values()];
    const products = topoOrder(roots).filter((e) => e.kind === 'matvec' && e.transpose);
    const forward = topoOrder([...c.cell.next.values()]).filter((e) => e.kind === 'matvec');
    expect(products.length).toBe(forward.length);
    // Interning: rebuilding one gives the same node.
    for (const p of products) if (p.kind === 'matvec') expect(matvec(p.m, p.v, true)).toBe(p);
  });
});
