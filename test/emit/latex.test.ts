// Every emitted equation renders with KaTeX (throwOnError) and uses the notation of the notes.

import katex from 'katex';
import { describe, expect, it } from 'vitest';
import { cellLatex, defaultLatex, timed } from '../../src/emit/latex.js';
import { CELL_NAMES, shipped } from '../helpers.js';

describe.each(CELL_NAMES)('%s', (name) => {
  const c = shipped(name);
  const L = cellLatex(c);

  it('renders every forward, adjoint and gradient equation with KaTeX', () => {
    const all = [...L.forward, ...L.backward, ...L.gradients];
    expect(all.length).toBeGreaterThan(c.cell.equations.length + c.cell.params.length);
    for (const e of all) expect(() => katex.renderToString(`${e.lhs} = ${e.rhs}`, { throwOnError: true, strict: 'error' })).not.toThrow();
  });

  it('has one forward equation per spec equation and one gradient sum per parameter (plus the readout)', () => {
    const ro = c.spec.readout ? 2 : 0;
    expect(L.forward.length).toBe(c.cell.equations.length + ro);
    expect(L.gradients.slice(0, c.cell.params.length).map((g) => g.lhs)).toEqual(c.cell.params.map((p) => `\\frac{\\partial L}{\\partial ${L.symbol(p.name)}}`));
    expect(L.gradients.length).toBe(c.cell.params.length + ro);
    if (ro) expect(L.forward.at(-2)!.rhs).toContain('\\operatorname{softmax}');
    for (const g of L.gradients) expect(g.rhs).toMatch(/^\\sum_\{t=1\}\^\{T\}/);
  });

  it('writes the carried state adjoints δs_{t-1} in the notation of the notes', () => {
    for (const s of c.cell.prev) expect(L.backward.map((e) => e.lhs)).toContain(`\\delta ${timed(L.symbol(s.name), 't-1')}`);
    expect(L.forward.some((e) => e.rhs.includes('_{t-1}'))).toBe(true);
  });
});

describe('names', () => {
  it('maps spec names to LaTeX', () => {
    expect(defaultLatex('W_z')).toBe('W_{z}');
    expect(defaultLatex('h_cand')).toBe('\\tilde{h}');
    expect(defaultLatex('Gamma_u')).toBe('\\Gamma_{u}');
    expect(timed('\\Gamma_u', 't')).toBe('\\Gamma_{u,t}');
    expect(timed('h', 't-1')).toBe('h_{t-1}');
  });

  it('prints the GRU candidate with the reset gate before the product', () => {
    const L = cellLatex(shipped('gru'));
    expect(L.forward[2]!.rhs).toBe('\\tanh(W_{h} x_{t} + U_{h} \\left(r_{t} \\odot h_{t-1}\\right) + b_{h})');
  });
});
