// Parameter counts print as the course notes count them.

import { describe, expect, it } from 'vitest';
import { polyEval, polyLatex } from '../../src/ir/poly.js';
import { shipped } from '../helpers.js';

const sym = { input: 'I', hidden: 'H', classes: 'K' };

describe('parameter counts', () => {
  it('groups quadratic terms as the notes do: 3(H(H + I) + H) for the GRU, 4(...) for the LSTM', () => {
    expect(polyLatex(shipped('gru').cost.params, sym)).toBe('3(H(H + I) + H)');
    expect(polyLatex(shipped('lstm').cost.params, sym)).toBe('4(H(H + I) + H)');
    expect(polyLatex(shipped('rnn-tanh').cost.params, sym)).toBe('H(H + I) + H');
    expect(polyLatex(shipped('lstm-peephole').cost.params, sym)).toBe('4H(H + I) + 7H');
    expect(polyLatex(shipped('mingru').cost.params, sym)).toBe('2(H I + H)');
  });

  it('evaluates to the number of parameters at given sizes', () => {
    expect(polyEval(shipped('gru').cost.params, { input: 10, hidden: 20 })).toBe(3 * (20 * (20 + 10) + 20));
    expect(polyEval(shipped('gru-minimal').cost.params, { input: 10, hidden: 20 })).toBe(2 * (20 * 30 + 20));
  });
});
