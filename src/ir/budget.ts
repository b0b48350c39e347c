// Size bounds on custom activations: the WebAssembly kernels inline an activation's body (forward) and derivative
// (backward) at every use, and an activation's derivative grows with the square of its nesting. A spec may not make
// the build run for minutes or write megabytes of kernel: these bounds are checked while lowering, with a span.

import type { MathNode } from 'mathjs';
import { Diagnostic, type Span } from '../spec/diagnostic.js';
import { type Expr, topoOrder } from './expr.js';
import type { FnTable } from './functions.js';

/** Terms of one activation, its body and derivative together (GELU's tanh form has 62). */
export const MAX_ACTIVATION_TERMS = 2000;
/** Terms of activations a cell's kernels inline, over every use in the step. */
export const MAX_INLINED_TERMS = 6000;

/** The number of nodes of a scalar expression tree. */
export function termCount(n: MathNode): number {
  let c = 0;
  n.traverse(() => void c++);
  return c;
}

/** Activation calls of a step so far: each distinct call counts once, with the terms of its body and derivative. */
export class InlinedTerms {
  private readonly seen = new Set<number>();
  private readonly uses = new Map<string, number>();
  private total = 0;

  constructor(private readonly fns: FnTable) {}

  /** Adds the calls of an equation's value; refuses it, at `span`, when the step then inlines too many terms. */
  add(value: Expr, what: string, span: Span): void {
    for (const e of topoOrder([value])) {
      if (this.seen.has(e.id)) continue;
      this.seen.add(e.id);
      const terms = e.kind === 'map' ? this.fns.get(e.fn).custom?.terms : undefined;
      if (terms === undefined || e.kind !== 'map') continue;
      this.total += terms;
      this.uses.set(e.fn, (this.uses.get(e.fn) ?? 0) + 1);
    }
    if (this.total <= MAX_INLINED_TERMS) return;
    const [fn, n] = [...this.uses].reduce((a, b) => (b[1] * this.fns.get(b[0]).custom!.terms > a[1] * this.fns.get(a[0]).custom!.terms ? b : a));
    throw new Diagnostic(`${what} brings the activations of the step to ${this.total} terms (with their derivatives); at most ${MAX_INLINED_TERMS} are supported`, span,
      `'${fn}' has ${this.fns.get(fn).custom!.terms} terms and is called ${n} times: call large activations fewer times, or make them smaller`);
  }
}
