// Slices and stacked vectors in the CPU kernels' schedule: a slice is read at an offset in its operand's
// location (never computed), and a stacked value (a slice's adjoint) is stored part by part.

import { type Expr, isConst } from '../../ir/expr.js';
import { InvariantError } from '../../spec/diagnostic.js';
import { addDims, type Dim, dimKey, ZERO_DIM } from '../../ir/shape.js';

/** The parts of a value with their offsets: a concat's parts, or the value itself at 0. Zero parts are kept. */
export function stackParts(value: Expr, off: Dim = ZERO_DIM): { value: Expr; off: Dim }[] {
  if (value.kind !== 'concat') return [{ value, off }];
  const out: { value: Expr; off: Dim }[] = [];
  let o = off;
  for (const p of value.parts) {
    out.push({ value: p, off: o });
    o = addDims(o, p.shape[0]!);
  }
  return out;
}

/** The non-zero parts, for stores that may skip zeros (an accumulation, or a buffer written once and zeroed). */
export const nonZeroParts = (value: Expr, off: Dim = ZERO_DIM): { value: Expr; off: Dim }[] => stackParts(value, off).filter((p) => !isConst(p.value, 0));

/**
 * A phase's nodes in an order where each length's loop comes after the loops whose values it reads
 * through a slice (the only reads across lengths); within a length, the given (dependency) order is kept.
 */
export function orderByLength(nodes: readonly Expr[]): Expr[] {
  const key = (e: Expr): string => dimKey(e.shape[0]!);
  const keys: string[] = [];
  for (const e of nodes) if (!keys.includes(key(e))) keys.push(key(e));
  if (keys.length < 2) return [...nodes];
  const inPhase = new Set(nodes.map((e) => e.id));
  const after = new Map(keys.map((k) => [k, new Set<string>()]));
  for (const e of nodes) if (e.kind === 'slice' && inPhase.has(e.a.id) && key(e.a) !== key(e)) after.get(key(e))!.add(key(e.a));
  const done: string[] = [];
  while (done.length < keys.length) {
    const next = keys.find((k) => !done.includes(k) && [...after.get(k)!].every((d) => done.includes(d)));
    if (next === undefined) throw new InvariantError('slices read each other in a cycle of lengths');
    done.push(next);
  }
  return done.flatMap((k) => nodes.filter((e) => key(e) === k));
}
