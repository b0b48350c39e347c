// User cells for the language's scalar parameters and vector slices (see USER_CELLS in user-cells.ts).

import { cellText } from './cell-text.js';

/**
 * Scalar parameters (shape []) used every way a user may write them: alpha * v, v * alpha, v / s, s + v,
 * inside activations, in scalar expressions (alpha * alpha, softplus(beta)), and with vectors of two sizes
 * (alpha scales a hidden-sized and a mem-sized vector, so its gradient sums terms of both sizes).
 */
export const SCALAR_CELL = cellText({
  name: 'scalar-gains',
  title: 'Learned scalar gains, offsets and temperatures',
  sizes: { input: '{ symbol: I, example: 3 }', hidden: '{ symbol: H, example: 4 }', mem: '{ symbol: M, example: 2 }' },
  state: { h: 'hidden', m: 'mem' },
  parameters: {
    W: '[hidden, input]',
    U: '[hidden, hidden]',
    V: '[mem, input]',
    b: 'hidden',
    alpha: '[]',
    beta: '[]',
    gamma: '[]',
  },
  equations: {
    a: 'tanh(alpha * (W * x) + U * h_prev / (2 + beta) + b)',
    h: 'a * alpha + (1 - sigmoid(gamma + a)) .* h_prev',
    m: 'tanh(V * x * softplus(beta) + m_prev ./ (1 + alpha * alpha) - gamma)',
  },
  output: 'h',
});

/**
 * An LSTM in the fused form PyTorch and ONNX store: one product per input, W: [4 * hidden, input], then the gates
 * sliced out of the stacked preactivation in ONNX order (i, o, f, c). With W = [W_i; W_o; W_f; W_c] (and U, b
 * likewise) it computes exactly the shipped lstm.
 */
export const FUSED_LSTM_CELL = cellText({
  name: 'lstm-fused',
  title: 'LSTM with fused gate weights, split by slices',
  state: { c: 'hidden', h: 'hidden' },
  parameters: { W: '[4 * hidden, input]', U: '[4 * hidden, hidden]', b: '4 * hidden' },
  equations: {
    g: 'W * x + U * h_prev + b',
    i: 'sigmoid(g[1:hidden])',
    o: 'sigmoid(g[hidden+1:2*hidden])',
    f: 'sigmoid(g[2*hidden+1:3*hidden])',
    c_cand: 'tanh(g[3*hidden+1:end])',
    c: 'f .* c_prev + i .* c_cand',
    h: 'o .* tanh(c)',
  },
  output: 'h',
});

/**
 * Slices of everything a slice can read: a computed (nonlinear) vector, a new state, a previous state, a product
 * read by another product; slices that tile a vector, overlap, and leave parts of it unread (zero adjoint).
 */
export const SLICE_MIX_CELL = cellText({
  name: 'slice-mix',
  title: 'Slices of computed vectors, states and products',
  state: { h: 'hidden', m: '2 * hidden' },
  parameters: {
    W: '[2 * hidden, input]',
    U: '[2 * hidden, hidden]',
    V: '[hidden, hidden]',
    P: '[hidden, 2 * hidden]',
    b: '2 * hidden',
    alpha: '[]',
  },
  equations: {
    a: 'tanh(W * x + U * h_prev + b)',
    m: 'a .* sigmoid(m_prev) + 0.5 * m_prev',
    q: 'P * m',
    h: 'a[1:hidden] .* sigmoid(alpha * a[hidden+1:end]) + tanh(V * (m[2:hidden+1] .* m_prev[hidden+1:end]) + q[1:hidden])',
  },
  output: 'h',
});

/**
 * Slices of an input, of a parameter and of a computed vector read by a product, and a one-element slice,
 * which is a per-row scalar and broadcasts (x[1:1] .* v). Certified on every target (USER_CELLS).
 */
export const SLICE_EDGE_CELL = cellText({
  name: 'slice-edge',
  title: 'Slices of an input, a parameter and a product\'s vector, and a one-element slice',
  parameters: { W: '[2 * hidden, input]', U: '[hidden, hidden]', V: '[hidden, hidden]', b: '2 * hidden' },
  equations: {
    g: 'tanh(W * x + b)',
    h: 'tanh(U * g[hidden+1:end] + V * h_prev + x[1:1] .* g[1:hidden] + b[2:hidden+1])',
  },
  output: 'h',
});

/**
 * A scalar parameter times per-row reductions (alpha * mean(a)), a normalisation with a learned gain, and a
 * scalar inside a reduction (mean((1 + beta * beta) * d .* d), positive for any beta): scalar parameters and reductions combined.
 */
export const SCALAR_REDUCE_CELL = cellText({
  name: 'scalar-reduce',
  title: 'A learned scalar times a reduction, beside a normalisation',
  parameters: { W: '[hidden, input]', U: '[hidden, hidden]', alpha: '[]', beta: '[]', g: 'hidden', b: 'hidden' },
  equations: {
    a: 'W * x + U * h_prev',
    d: 'a - mean(a)',
    s: 'sqrt(mean((1 + beta * beta) * d .* d) + 1e-5)',
    h: 'tanh(alpha * mean(a) + g .* d / s + b)',
  },
  output: 'h',
});

/**
 * Numbers written as mathjs writes them: pi and e, functions of numbers (sqrt(2 / pi), exp(-1)), negative and computed
 * powers; sizes named other than input/hidden, an output that is the second state, and a gate used in two updates.
 */
export const CONSTANTS_CELL = cellText({
  name: 'constants',
  title: 'Constants, functions of numbers and negative powers',
  sizes: { feat: '{ symbol: F, example: 3 }', units: '{ symbol: N, example: 4 }' },
  inputs: { u: 'feat' },
  state: { c: 'units', y: 'units' },
  parameters: { A: '[units, feat]', R: '[units, units]', k: 'units' },
  equations: {
    g: 'sigmoid(A * u + R * y_prev + k)',
    c: 'g .* c_prev + (1 - g) .* tanh(sqrt(2 / pi) * (A * u + 0.044715 * (A * u) .^ 3))',
    y: 'g .* tanh(c) + (1 + c .* c) .^ (-1) / e - exp(-1) * y_prev .^ (4 / 2) ./ (2 + y_prev .* y_prev)',
  },
  output: 'y',
});

/** The cells of this file by name. */
export const LANGUAGE_CELLS: Readonly<Record<string, string>> = Object.fromEntries(
  [SCALAR_CELL, FUSED_LSTM_CELL, SLICE_MIX_CELL, SLICE_EDGE_CELL, SCALAR_REDUCE_CELL, CONSTANTS_CELL].map((t) => [/^name: (\S+)/m.exec(t)![1]!, t]),
);
