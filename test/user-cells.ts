// Cells a user might write that no shipped cell covers; every test target certifies them (TS, WGSL, reference).

import { cellText } from './cell-text.js';
import { CONSTANTS_CELL, FUSED_LSTM_CELL, SCALAR_CELL, SCALAR_REDUCE_CELL, SLICE_EDGE_CELL, SLICE_MIX_CELL } from './user-cells-lang.js';

/** An LSTM whose output gate reads the new cell state through a matrix (V_o * c after c is updated). */
export const NEW_STATE_CELL = cellText({
  name: 'lstm-new-c',
  title: 'Output gate reads the new cell through a matrix',
  state: { c: 'hidden', h: 'hidden' },
  parameters: {
    W_i: '[hidden, input]',
    W_o: '[hidden, input]',
    W_c: '[hidden, input]',
    U_i: '[hidden, hidden]',
    U_o: '[hidden, hidden]',
    U_c: '[hidden, hidden]',
    V_o: '[hidden, hidden]',
    b_o: 'hidden',
  },
  equations: {
    i: 'sigmoid(W_i * x + U_i * h_prev)',
    c_cand: 'tanh(W_c * x + U_c * h_prev)',
    c: '(1 - i) .* c_prev + i .* c_cand',
    o: 'sigmoid(W_o * x + U_o * h_prev + V_o * c + b_o)',
    h: 'o .* tanh(c)',
  },
  output: 'h',
});

/** Two states of different sizes; the candidate reads the new m (memory) through two matrices. */
export const NEW_STATE_SIZES_CELL = cellText({
  name: 'two-state-new-m',
  title: 'A candidate reads a new state of another size through a matrix',
  sizes: { input: '{ symbol: I, example: 3 }', hidden: '{ symbol: H, example: 4 }', mem: '{ symbol: M, example: 2 }' },
  state: { m: 'mem', h: 'hidden' },
  parameters: {
    W_m: '[mem, input]',
    U_mh: '[mem, hidden]',
    W_h: '[hidden, input]',
    U_hm: '[hidden, mem]',
    U_hh: '[hidden, hidden]',
    V_mm: '[mem, mem]',
    G: '[hidden, mem]',
  },
  equations: {
    m: 'tanh(W_m * x + U_mh * h_prev + V_mm * m_prev)',
    h: 'tanh(W_h * x + U_hm * m + U_hh * h_prev) .* sigmoid(G * m)',
  },
  output: 'h',
});

/** Piecewise functions in equations: hard_sigmoid, relu6, hard_tanh, clip with number bounds, min and max of vectors. */
export const PIECEWISE_CELL = cellText({
  name: 'piecewise',
  title: 'Gates and a memory built from piecewise-linear functions',
  state: { c: 'hidden', h: 'hidden' },
  parameters: {
    W_z: '[hidden, input]',
    U_z: '[hidden, hidden]',
    W_r: '[hidden, input]',
    U_r: '[hidden, hidden]',
    W_h: '[hidden, input]',
    U_h: '[hidden, hidden]',
    b: 'hidden',
  },
  equations: {
    z: 'hard_sigmoid(W_z * x + U_z * h_prev)',
    r: 'relu6(3 * (W_r * x + U_r * h_prev) + 3) / 6',
    a: 'hard_tanh(2 * (W_h * x + U_h * (r .* h_prev) + b))',
    c: 'clip(c_prev + z .* a, -1.5, 1.5)',
    h: 'max(z .* a, min(c, 0.5 * h_prev)) - min(c_prev, 0)',
  },
  output: 'h',
});

/** Tied weights: E and its transpose E' (reading the new state h), U and U' on the same vector. */
export const TIED_CELL = cellText({
  name: 'tied-autoencoder',
  title: 'An autoencoder RNN with tied weights',
  state: { h: 'hidden', r: 'input' },
  parameters: { E: '[hidden, input]', U: '[hidden, hidden]', b: 'hidden', c: 'input' },
  equations: { h: 'tanh(E * x + U * h_prev + b) .* sigmoid(U\' * h_prev)', r: 'sigmoid(transpose(E) * h + c)' },
  output: 'h',
});

/**
 * RMS normalisation (Zhang & Sennrich 2019) of a tanh cell's preactivation, with a learned gain: a mean
 * over the vector, a per-row scalar divided into it, and an epsilon constant. The scale also multiplies a
 * recurrent product that reads a state updated earlier in the step.
 */
export const RMSNORM_CELL = cellText({
  name: 'rmsnorm-rnn',
  title: 'An RNN whose preactivation is RMS-normalised, with a learned gain',
  parameters: { W: '[hidden, input]', U: '[hidden, hidden]', g: 'hidden', b: 'hidden' },
  equations: { a: 'W * x + U * h_prev', ms: 'mean(a .* a)', h: 'tanh(g .* a / sqrt(ms + 1e-5) + b)' },
  output: 'h',
});

/**
 * Layer normalisation written with sum and a scalar per row on both sides of the operators: a centred
 * input (x - mean(x)) through a product, a sum-based variance of different size, and a state that is
 * scaled by a per-row scalar of the previous state.
 */
export const LAYERNORM_SUM_CELL = cellText({
  name: 'layernorm-sum',
  title: 'Layer normalisation written with sum, on an input and a state of different sizes',
  parameters: { W: '[hidden, input]', U: '[hidden, hidden]', gamma: 'hidden', beta: 'hidden' },
  equations: {
    xc: 'x - sum(x) / 3',
    a: 'W * xc + U * h_prev',
    mu: 'sum(a .* gamma) / sum(gamma .* gamma)',
    d: 'a - mu',
    v: 'mean(d .^ 2)',
    h: 'tanh(gamma .* d ./ sqrt(v + 0.001) + beta) + 0.5 * (mean(h_prev) * h_prev)',
  },
  output: 'h',
});

/**
 * Names that are keywords or built-ins of JavaScript/TypeScript and WGSL, or members of Object.prototype, for every
 * kind of name: sizes, inputs, states, parameters and intermediates. Printers map them into the spec-name namespace.
 */
export const KEYWORD_CELL = cellText({
  name: 'keywords',
  title: 'Names that are keywords and built-ins of the targets',
  sizes: {
    for: '{ symbol: F, example: 3 }',
    struct: '{ symbol: S, example: 4 }',
    toString: '{ symbol: T, example: 2 }',
  },
  inputs: { var: 'for', arguments: 'toString' },
  state: { let: 'struct', constructor: 'struct' },
  parameters: {
    function: '[struct, for]',
    return: '[struct, struct]',
    loop: 'struct',
    fn: '[struct, toString]',
    array: '[struct, struct]',
    f32: 'struct',
    workgroup: '[struct, struct]',
    override: 'struct',
    prototype: 'struct',
    Math: '[struct, for]',
    Object: 'struct',
    eval: 'struct',
    new: '[struct, struct]',
    u32: '[struct, struct]',
    hasOwnProperty: 'struct',
  },
  equations: {
    await: 'tanh(function * var + return * let_prev + loop)',
    yield: 'sigmoid(fn * arguments + array * constructor_prev + f32)',
    class: 'await .* yield + override .* let_prev',
    let: 'class + 0.5 * tanh(workgroup * class)',
    this: 'sigmoid(u32 * let + Math * var + prototype)',
    constructor: 'this .* constructor_prev + Object .* eval + new * let + hasOwnProperty',
  },
  output: 'let',
});

/** Every user cell by name (the name in its text, so it compiles as test/<name>.cell.yaml). */
export const USER_CELLS: Readonly<Record<string, string>> = Object.fromEntries(
  [NEW_STATE_CELL, NEW_STATE_SIZES_CELL, PIECEWISE_CELL, TIED_CELL, KEYWORD_CELL, SCALAR_CELL, FUSED_LSTM_CELL, SLICE_MIX_CELL, RMSNORM_CELL, LAYERNORM_SUM_CELL, SLICE_EDGE_CELL, SCALAR_REDUCE_CELL, CONSTANTS_CELL].map((t) => [/^name: (\S+)/m.exec(t)![1]!, t]),
);

/**
 * Activations users write, in the forms they are usually written (exp and log included), each finite
 * with a finite derivative on all of [-1e4, 1e4].
 */
export const ACTIVATIONS: Readonly<Record<string, string>> = {
  swish: 'x * sigmoid(x)',
  silu: 'x / (1 + exp(-x))',
  mish: 'x * tanh(log(1 + exp(x)))',
  gelu_tanh: '0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))',
  softsign: 'x / (1 + abs(x))',
  elu: 'x > 0 ? x : exp(x) - 1',
  elu_minmax: 'max(x, 0) + min(0, exp(x) - 1)',
  selu: '1.0507009873554805 * (max(x, 0) + min(0, 1.6732632423543772 * (exp(x) - 1)))',
  softplus_exp: 'log(1 + exp(x))',
  log_sigmoid: 'log(sigmoid(x))',
  log_sigmoid_exp: '-log(1 + exp(-x))',
  tanh_exp: '(exp(x) - exp(-x)) / (exp(x) + exp(-x))',
  sigmoid_exp: 'exp(x) / (1 + exp(x))',
  hard_swish: 'x * relu6(x + 3) / 6',
  log_cosh_exp: 'log(exp(x) + exp(-x))',
  gompertz: 'x * exp(-exp(-x))',
};

/** One cell per activation: h = f(x .* g), so a sweep of x reaches f and f' unchanged (g = 1). */
export function activationCell(name: string, body: string): string {
  return cellText({
    name: `act-${name.replace(/_/g, '-')}`,
    title: `The activation ${name}`,
    sizes: { n: '{ symbol: N, example: 4 }' },
    inputs: { x: 'n' },
    state: { h: 'n' },
    parameters: { g: 'n' },
    activations: { f: JSON.stringify(body) },
    equations: { h: 'f(x .* g)' },
    output: 'h',
  });
}

/** -1e4 .. 1e4: the overflow thresholds of exp in f32 (88) and f64 (709), kinks, and the ends. */
export const SWEEP = [0, 0.5, 1, 3, 6, 20, 50, 88, 89, 100, 500, 709, 710, 1000, 5000, 1e4].flatMap((v) => (v === 0 ? [0] : [-v, v]));
