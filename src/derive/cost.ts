// Costs of a derived cell, as polynomials in the sizes: parameters, operations per step, saved bytes.

import { type Expr, topoOrder } from '../ir/expr.js';
import type { CellIR } from '../ir/lower.js';
import { type Poly, polyAdd, polyConst, polyMul, polyOfDim, polyScale } from '../ir/poly.js';
import type { BackwardStep } from './reverse.js';

export interface OpCount {
  /** Multiply-adds of matrix products, counted as 2 flops each. */
  readonly matrix: Poly;
  /** Elementwise operations (arithmetic and functions, one per element). */
  readonly elementwise: Poly;
  readonly total: Poly;
}

export interface CellCost {
  readonly params: Poly;
  readonly forward: OpCount;
  readonly backward: OpCount;
  /** Floats stored per step per batch row for the backward: saved intermediates plus the states. */
  readonly savedFloats: Poly;
}

const numelPoly = (e: Expr): Poly => e.shape.reduce((p, d) => polyMul(p, polyOfDim(d)), polyConst(1));

function count(nodes: readonly Expr[]): OpCount {
  let matrix: Poly = new Map();
  let elementwise: Poly = new Map();
  for (const e of nodes) {
    switch (e.kind) {
      case 'matvec':
        matrix = polyAdd(matrix, polyScale(numelPoly(e.m), 2));
        break;
      case 'map':
      case 'zip':
        elementwise = polyAdd(elementwise, numelPoly(e));
        break;
      case 'reduce':
        // n - 1 additions (and a division for a mean), counted as n
        elementwise = polyAdd(elementwise, numelPoly(e.a));
        break;
      case 'broadcast':
        // a copy, or n divisions for the transpose of a mean
        if (e.mean) elementwise = polyAdd(elementwise, numelPoly(e));
        break;
      default:
        // leaves, constants, concat and slice move data but do no arithmetic
        break;
    }
  }
  return { matrix, elementwise, total: polyAdd(matrix, elementwise) };
}

export function cellCost(cell: CellIR, bw: BackwardStep): CellCost {
  let params: Poly = new Map();
  for (const p of cell.params) params = polyAdd(params, numelPoly(p));
  const fwd = topoOrder([...cell.next.values()]);
  const fwdIds = new Set(fwd.map((e) => e.id));
  const roots: Expr[] = [...bw.bindings.map((b) => b.expr), ...bw.prevAdjoint.values(), ...bw.inputAdjoint.values()];
  for (const g of bw.grads) roots.push(...(g.kind === 'outer' ? [g.dy, g.v] : [g.g]));
  const back = topoOrder(roots).filter((e) => !fwdIds.has(e.id));
  const forward = count(fwd);
  let b = count([...back, ...bw.recomputed]);
  // Gradient accumulation: a rank-1 update per outer term, an add per summed term.
  let gm: Poly = new Map();
  let ge: Poly = new Map();
  for (const g of bw.grads) {
    if (g.kind === 'outer') gm = polyAdd(gm, polyScale(polyMul(numelPoly(g.dy), numelPoly(g.v)), 2));
    else ge = polyAdd(ge, numelPoly(g.g));
  }
  const matrix = polyAdd(b.matrix, gm);
  const elementwise = polyAdd(b.elementwise, ge);
  b = { matrix, elementwise, total: polyAdd(matrix, elementwise) };
  let saved: Poly = new Map();
  for (const e of bw.saved) saved = polyAdd(saved, numelPoly(e));
  for (const s of cell.prev) saved = polyAdd(saved, numelPoly(s));
  return { params, forward, backward: b, savedFloats: saved };
}

