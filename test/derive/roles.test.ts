// Parameter roles and cell families read off the structure of any cell, including ones written by users.

import { describe, expect, it } from 'vitest';
import { cellFamily, paramRoles } from '../../src/derive/roles.js';
import { CELL_NAMES, inline, shipped } from '../helpers.js';

const spec = (body: string) => inline(`name: inline
title: A user cell
description: for the role tests
references: ["none"]
sizes:
  feat: { symbol: F, example: 3 }
  units: { symbol: N, example: 4 }
inputs:
  u: feat
${body}`);

describe('parameter roles', () => {
  it('finds the keep gate, the stacked weight blocks and the biases of a cell with unusual names', () => {
    const c = spec(`state:
  m: units
parameters:
  A: [units, feat + units]
  K: [units, units + feat]
  beta: units
  kappa: units
equations:
  keep: sigmoid(K * concat(m_prev, u) + kappa)
  cand: tanh(A * concat(u, m_prev) + beta)
  m: keep .* m_prev + (1 - keep) .* cand
output: m
`);
    expect(paramRoles(c.cell)).toEqual({
      A: 'input[feat] | recurrent[units]',
      K: 'recurrent[units] | input[feat]',
      beta: 'bias',
      kappa: 'forget-bias',
    });
    expect(cellFamily(c.cell)).toBe('GRU');
  });

  it('tells a gain from a peephole and a diagonal recurrence', () => {
    const c = spec(`state:
  m: units
  q: units
parameters:
  W: [units, feat]
  g: units
  p: units
  d: units
equations:
  o: sigmoid(W * u + p .* q_prev)
  q: g .* tanh(W * u) + d .* q_prev
  m: o .* q
output: m
`);
    const r = paramRoles(c.cell);
    expect(r.p).toBe('peephole');
    expect(r.d).toBe('diagonal');
    expect(r.g).toBe('scale');
    expect(cellFamily(c.cell)).toBe('LSTM');
  });

  it('puts every shipped cell in a family: plain RNNs, GRUs and LSTMs as in the notes', () => {
    const fam = Object.fromEntries(CELL_NAMES.map((n) => [n, cellFamily(shipped(n).cell)]));
    expect(fam['rnn-tanh']).toBe('RNN');
    expect(fam['gru']).toBe('GRU');
    expect(fam['gru-minimal']).toBe('GRU');
    expect(fam['lstm']).toBe('LSTM');
    expect(fam['lstm-no-forget']).toBe('LSTM');
  });
});
