// The recurrent Jacobian ∂s_t/∂s'_{t-1} in closed form, read off the derived backward step.

import { children, type Expr, type Leaf, topoOrder } from '../ir/expr.js';
import type { CellIR } from '../ir/lower.js';
import type { Dim } from '../ir/shape.js';
import type { BackwardStep } from './reverse.js';

/** A linear map in a product: diag(v), a (column block of a) weight matrix or its transpose, or a scale. */
export type LinOp =
  | { readonly kind: 'diag'; readonly v: Expr }
  | { readonly kind: 'recip'; readonly v: Expr } // diag(1 / v)
  | { readonly kind: 'mat'; readonly W: Leaf; readonly transpose: boolean; readonly colOff?: Dim; readonly colLen?: Dim }
  | { readonly kind: 'scale'; readonly c: number }
  // 1ᵀ (sum of n elements) and 1 (a scalar repeated n times), each divided by n for a mean
  | { readonly kind: 'reduce'; readonly n: Dim; readonly mean: boolean }
  | { readonly kind: 'broadcast'; readonly n: Dim; readonly mean: boolean };

/** sign · op_0 op_1 ... op_n: a product of linear maps. */
export interface LinTerm {
  readonly sign: 1 | -1;
  readonly ops: readonly LinOp[];
}

/**
 * Writes an expression that is linear in `seed` as Σ ± op_0 ··· op_n seed. Other seeds count as
 * zero, which is right because the backward step is linear in its seeds.
 */
export function linearize(e: Expr, seed: Expr): LinTerm[] {
  // Which nodes reach the seed: one pass in dependency order (children first), linear in the size of e.
  const reaches = new Set<number>();
  for (const n of topoOrder([e])) if (n === seed || children(n).some((ch) => reaches.has(ch.id))) reaches.add(n.id);
  const contains = (x: Expr): boolean => reaches.has(x.id);
  const prefix = (op: LinOp, ts: LinTerm[]): LinTerm[] => ts.map((t) => ({ sign: t.sign, ops: [op, ...t.ops] }));
  const neg = (ts: LinTerm[]): LinTerm[] => ts.map((t) => ({ sign: (-t.sign) as 1 | -1, ops: t.ops }));
  const go = (x: Expr): LinTerm[] => {
    if (x === seed) return [{ sign: 1, ops: [] }];
    if (!contains(x)) return [];
    switch (x.kind) {
      case 'zip':
        if (x.op === 'add') return [...go(x.a), ...go(x.b)];
        if (x.op === 'sub') return [...go(x.a), ...neg(go(x.b))];
        if (x.op === 'mul') {
          const [lin, other] = contains(x.a) ? [x.a, x.b] : [x.b, x.a];
          return prefix(other.kind === 'const' ? { kind: 'scale', c: other.value } : { kind: 'diag', v: other }, go(lin));
        }
        return prefix(x.b.kind === 'const' ? { kind: 'scale', c: 1 / x.b.value } : { kind: 'recip', v: x.b }, go(x.a));
      case 'map':
        if (x.fn === 'neg') return neg(go(x.a));
        throw new Error(`${x.fn} of an adjoint is not linear`);
      case 'matvec':
        return prefix({ kind: 'mat', W: x.m as Leaf, transpose: x.transpose }, go(x.v));
      case 'reduce':
        return prefix({ kind: 'reduce', n: x.a.shape[0]!, mean: x.mean }, go(x.a));
      case 'broadcast':
        return prefix({ kind: 'broadcast', n: x.shape[0]!, mean: x.mean }, go(x.a));
      case 'slice':
        if (x.a.kind === 'matvec' && x.a.transpose) return prefix({ kind: 'mat', W: x.a.m as Leaf, transpose: true, colOff: x.start, colLen: x.length }, go(x.a.v));
        throw new Error('a slice of an adjoint that is not a product');
      default:
        throw new Error(`unexpected ${x.kind} in an adjoint`);
    }
  };
  return go(e);
}

/** The transpose of a product: (A B)ᵀ = Bᵀ Aᵀ; diagonal maps and scales are symmetric. */
export function transposeTerm(t: LinTerm): LinTerm {
  const flip = (op: LinOp): LinOp =>
    op.kind === 'mat' ? { ...op, transpose: !op.transpose } : op.kind === 'reduce' ? { ...op, kind: 'broadcast' as const } : op.kind === 'broadcast' ? { ...op, kind: 'reduce' as const } : op;
  return { sign: t.sign, ops: [...t.ops].reverse().map(flip) };
}

export interface JacobianBlock {
  /** ∂ out_t / ∂ of_{t-1}. */
  readonly out: string;
  readonly of: string;
  readonly terms: readonly LinTerm[];
}

/** Every nonzero block of the state-to-state Jacobian of one step. */
export function recurrentJacobian(cell: CellIR, bw: BackwardStep): JacobianBlock[] {
  const blocks: JacobianBlock[] = [];
  for (const out of cell.prev) {
    const seed = bw.seeds.get(out.name)!;
    for (const of of cell.prev) {
      // δ of_{t-1} = Jᵀ δ out_t, so J is the transpose of the map read off the backward step.
      const terms = linearize(bw.prevAdjoint.get(of.name)!, seed).map(transposeTerm);
      if (terms.length) blocks.push({ out: out.name, of: of.name, terms });
    }
  }
  return blocks;
}
