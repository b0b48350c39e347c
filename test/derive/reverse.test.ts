// Reverse mode: rules per op, factoring of shared adjoints, and loud failure on unknown derivatives.

import { describe, expect, it } from 'vitest';
import { FnTable } from '../../src/ir/functions.js';
import { Diagnostic } from '../../src/spec/diagnostic.js';
import { dotProductTest, gradCheck, randomProblem } from '../../src/check/gradcheck.js';
import { inline, shipped } from '../helpers.js';

const custom = (act: string, eq = 'swish(W * x + U * h_prev + b)') => `name: inline
title: custom activation
sizes: { input: { symbol: I, example: 3 }, hidden: { symbol: H, example: 4 } }
inputs: { x: input }
state: { h: hidden }
parameters: { W: [hidden, input], U: [hidden, hidden], b: hidden }
activations:
  swish: ${act}
equations:
  h: ${eq}
`;

describe('derivation', () => {
  it('factors adjoints that share an upstream factor: δz = δh ⊙ (h_prev - h̃) for the GRU', () => {
    const c = shipped('gru');
    const dz = c.bw.bindings.find((b) => b.name === 'dz')!;
    expect(dz.expr.kind).toBe('zip');
    if (dz.expr.kind === 'zip') {
      expect(dz.expr.op).toBe('mul');
      expect(dz.expr.a.kind).toBe('leaf');
      expect(dz.expr.b.kind === 'zip' && dz.expr.b.op).toBe('sub');
    }
  });

  it('differentiates a custom activation through mathjs and passes the gradient check', () => {
    const c = inline(custom('x * sigmoid(x)'));
    const p = randomProblem(c, { steps: 6, batch: 2, seed: 3 });
    for (const e of gradCheck(c, p)) expect(e.maxRelErr, e.tensor).toBeLessThan(1e-6);
    expect(dotProductTest(c, p, 4).relDiff).toBeLessThan(1e-10);
  });

  it('rejects an activation mathjs cannot differentiate, as a diagnostic with a span', () => {
    expect(() => inline(custom('floor(x)'))).toThrow(Diagnostic);
  });

  it('never turns an unknown function into a zero derivative', () => {
    const t = new FnTable();
    expect(() => t.get('not_a_function')).toThrow(/unknown function/);
  });

  it('fails loudly on second derivatives of custom activations', () => {
    const c = inline(custom('x * sigmoid(x)'));
    const grad = c.cell.fns.get('swish_grad');
    expect(() => grad.vjp(c.cell.inputs[0]!, c.cell.inputs[0]!, c.cell.inputs[0]!)).toThrow(Diagnostic);
  });
});
