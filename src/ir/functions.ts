// Elementwise functions: their float64 meaning and one vector-Jacobian rule each, from saved values.

import type { MathNode } from 'mathjs';
import { InvariantError } from '../spec/diagnostic.js';
import { constant, div, type Expr, map, mul, neg, sub } from './expr.js';

export interface FnDef {
  readonly name: string;
  /** float64 meaning, used by the reference evaluator. */
  readonly eval: (x: number) => number;
  /**
   * The adjoint of the argument a, given the upstream adjoint dy and the output y = f(a).
   * Written through saved forward values where that is cheaper (sigmoid' = y(1 - y)).
   */
  readonly vjp: (dy: Expr, a: Expr, y: Expr) => Expr;
  /** True for derivative helpers that only appear in derived code (step, sign). */
  readonly helper?: boolean;
  /** A user activation: a scalar mathjs expression of `param`. */
  readonly custom?: { readonly param: string; readonly body: MathNode; readonly source: string; readonly terms: number };
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const one = constant(1);

export const BUILTINS: Readonly<Record<string, FnDef>> = {
  // y = -a  ->  da = -dy
  neg: { name: 'neg', eval: (x) => -x, vjp: (dy) => neg(dy) },
  // y = σ(a)  ->  da = dy ⊙ y ⊙ (1 - y)
  sigmoid: { name: 'sigmoid', eval: sigmoid, vjp: (dy, _a, y) => mul(dy, mul(y, sub(one, y))) },
  // y = tanh(a)  ->  da = dy ⊙ (1 - y²)
  tanh: { name: 'tanh', eval: Math.tanh, vjp: (dy, _a, y) => mul(dy, sub(one, mul(y, y))) },
  // y = max(a, 0)  ->  da = dy ⊙ [y > 0]
  relu: { name: 'relu', eval: (x) => (x > 0 ? x : 0), vjp: (dy, _a, y) => mul(dy, map('step', y)) },
  // y = exp(a)  ->  da = dy ⊙ y
  exp: { name: 'exp', eval: Math.exp, vjp: (dy, _a, y) => mul(dy, y) },
  // y = log(a)  ->  da = dy / a
  log: { name: 'log', eval: Math.log, vjp: (dy, a) => div(dy, a) },
  // y = log(1 + e^a)  ->  da = dy ⊙ σ(a)
  softplus: {
    name: 'softplus',
    eval: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
    vjp: (dy, a) => mul(dy, map('sigmoid', a)),
  },
  // y = √a  ->  da = dy / (2y)
  sqrt: { name: 'sqrt', eval: Math.sqrt, vjp: (dy, _a, y) => div(dy, mul(constant(2), y)) },
  // y = |a|  ->  da = dy ⊙ sign(a)
  abs: { name: 'abs', eval: Math.abs, vjp: (dy, a) => mul(dy, map('sign', a)) },
  // y = sin(a)  ->  da = dy ⊙ cos(a)
  sin: { name: 'sin', eval: Math.sin, vjp: (dy, a) => mul(dy, map('cos', a)) },
  // y = cos(a)  ->  da = -dy ⊙ sin(a)
  cos: { name: 'cos', eval: Math.cos, vjp: (dy, a) => neg(mul(dy, map('sin', a))) },
  // Derivative helpers: piecewise constant, so their derivative is zero almost everywhere.
  step: { name: 'step', eval: (x) => (x > 0 ? 1 : 0), vjp: () => constant(0), helper: true },
  sign: { name: 'sign', eval: Math.sign, vjp: () => constant(0), helper: true },
};

/** The functions a spec may call by name (derivative helpers are internal). */
export const USER_FUNCTIONS = Object.values(BUILTINS)
  .filter((f) => !f.helper && f.name !== 'neg')
  .map((f) => f.name);

/** Built-ins plus a cell's own activations. */
export class FnTable {
  private readonly defs = new Map<string, FnDef>(Object.entries(BUILTINS));

  add(def: FnDef): void {
    this.defs.set(def.name, def);
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  get(name: string): FnDef {
    const d = this.defs.get(name);
    if (!d) throw new InvariantError(`unknown function '${name}'`);
    return d;
  }

  customs(): FnDef[] {
    return [...this.defs.values()].filter((d) => d.custom);
  }
}
