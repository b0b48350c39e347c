// User cells for the language's scalar parameters and vector slices (see USER_CELLS in user-cells.ts).

/**
 * Scalar parameters (shape []) used every way a user may write them: alpha * v, v * alpha, v / s, s + v,
 * inside activations, in scalar expressions (alpha * alpha, softplus(beta)), and with vectors of two sizes
 * (alpha scales a hidden-sized and a mem-sized vector, so its gradient sums terms of both sizes).
 */
export const SCALAR_CELL = `name: scalar-gains
title: Learned scalar gains, offsets and temperatures
sizes:
  input: { symbol: I, example: 3 }
  hidden: { symbol: H, example: 4 }
  mem: { symbol: M, example: 2 }
inputs:
  x: input
state:
  h: hidden
  m: mem
parameters:
  W: [hidden, input]
  U: [hidden, hidden]
  V: [mem, input]
  b: hidden
  alpha: []
  beta: []
  gamma: []
equations:
  a: tanh(alpha * (W * x) + U * h_prev / (2 + beta) + b)
  h: a * alpha + (1 - sigmoid(gamma + a)) .* h_prev
  m: tanh(V * x * softplus(beta) + m_prev ./ (1 + alpha * alpha) - gamma)
output: h
`;

/** The cells of this file by name. */
export const LANGUAGE_CELLS: Readonly<Record<string, string>> = Object.fromEntries(
  [SCALAR_CELL].map((t) => [/^name: (\S+)/m.exec(t)![1]!, t]),
);
