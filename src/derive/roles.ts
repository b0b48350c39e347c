// Parameter roles read off a cell's structure, so initialisers can treat any cell as the notes treat RNN/GRU/LSTM.

import { assertNever, type Expr, type Leaf, topoOrder } from '../ir/expr.js';
import type { CellIR } from '../ir/lower.js';
import { showDim } from '../ir/shape.js';

/**
 * A matrix is a row of column blocks in the order its product reads them, each `kind[width]` with
 * kind `input` (reads only inputs) or `recurrent` (reads a previous state), joined by ' | ':
 * W_c [c_{t-1}, x_t] is 'recurrent[hidden] | input[input]'. A vector is one of
 * - 'forget-bias': added into a sigmoid gate g with s_t = g ⊙ s_{t-1} + … (the gate keeps the state),
 * - 'forget-bias-inverted': the same with s_t = (1 - g) ⊙ s_{t-1} + …,
 * - 'bias': any other added vector,
 * - 'peephole': multiplies a state inside a sigmoid gate's argument,
 * - 'diagonal': multiplies the previous state elsewhere (IndRNN's u ⊙ h_{t-1}),
 * - 'scale': multiplies anything else (a gain).
 */
export type RoleText = string;

const isSigmoid = (e: Expr): boolean => e.kind === 'map' && e.fn === 'sigmoid';

/** Depends on a previous state (a leaf with role 'state')? */
function readsState(e: Expr, memo = new Map<Expr, boolean>()): boolean {
  const hit = memo.get(e);
  if (hit !== undefined) return hit;
  let r: boolean;
  switch (e.kind) {
    case 'leaf': r = e.role === 'state'; break;
    case 'const': r = false; break;
    case 'matvec': r = readsState(e.v, memo); break;
    case 'map': case 'slice': case 'reduce': case 'broadcast': r = readsState(e.a, memo); break;
    case 'zip': r = readsState(e.a, memo) || readsState(e.b, memo); break;
    case 'concat': r = e.parts.some((p) => readsState(p, memo)); break;
    default: return assertNever(e, 'expression kind');
  }
  memo.set(e, r);
  return r;
}

/** Reads a reduction (sum, mean) of a vector: a normalised value, as in layer normalisation. */
const normalised = (e: Expr): boolean => topoOrder([e]).some((n) => n.kind === 'reduce');

/** The vector parameters added (through + and -) at the top of an expression. */
function addedParams(e: Expr, out: Leaf[] = []): Leaf[] {
  if (e.kind === 'leaf' && e.role === 'param' && e.shape.length === 1) out.push(e);
  else if (e.kind === 'zip' && (e.op === 'add' || e.op === 'sub')) addedParams(e.a, out), addedParams(e.b, out);
  return out;
}

/** Gates that keep a state: s_t = g ⊙ s_{t-1} + … (sign +1) or (1 - g) ⊙ s_{t-1} + … (sign -1). */
function keepGates(cell: CellIR): Map<Expr, 1 | -1> {
  const gates = new Map<Expr, 1 | -1>();
  for (const prev of cell.prev) {
    const next = cell.next.get(prev.name);
    if (!next) continue;
    const seen = new Set<Expr>();
    const walk = (e: Expr): void => {
      if (seen.has(e)) return;
      seen.add(e);
      if (e.kind === 'zip' && e.op === 'mul') {
        for (const [g, other] of [[e.a, e.b], [e.b, e.a]] as const) {
          if (other !== prev) continue;
          if (isSigmoid(g)) gates.set(g, 1);
          else if (g.kind === 'zip' && g.op === 'sub' && g.a.kind === 'const' && g.a.value === 1 && isSigmoid(g.b)) gates.set(g.b, -1);
        }
      }
      if (e.kind === 'zip' && (e.op === 'add' || e.op === 'sub' || e.op === 'mul')) walk(e.a), walk(e.b);
    };
    walk(next);
  }
  return gates;
}

export function paramRoles(cell: CellIR): Record<string, RoleText> {
  const roles: Record<string, RoleText> = {};
  const stateMemo = new Map<Expr, boolean>();
  for (const [g, sign] of keepGates(cell)) {
    if (g.kind !== 'map') continue;
    for (const b of addedParams(g.a)) roles[b.name] ??= sign > 0 ? 'forget-bias' : 'forget-bias-inverted';
  }
  const eqExprs = new Set(cell.equations.map((e) => e.expr));
  const visit = (e: Expr, inGate: boolean, root: Expr, seen: Set<Expr>): void => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e !== root && eqExprs.has(e)) return; // another equation: classified from its own root
    if (e.kind === 'matvec' && e.m.kind === 'leaf' && !roles[e.m.name]) {
      const parts = e.v.kind === 'concat' ? e.v.parts : [e.v];
      roles[e.m.name] = parts.map((p) => `${readsState(p, stateMemo) ? 'recurrent' : 'input'}[${showDim(p.shape[0]!)}]`).join(' | ');
    }
    if (e.kind === 'zip') {
      for (const [p, other] of [[e.a, e.b], [e.b, e.a]] as const) {
        if (p.kind !== 'leaf' || p.role !== 'param' || p.shape.length > 1 || roles[p.name]) continue;
        if (e.op === 'add' || e.op === 'sub') roles[p.name] = 'bias';
        else if (p.shape.length === 0) roles[p.name] = 'scale'; // a scalar gain or divisor starts at 1
        // A gain of a normalised value (layer norm: other reads a reduction) is a scale, also inside a gate.
        else if (e.op === 'mul') roles[p.name] = normalised(other) ? 'scale' : inGate && readsState(other, stateMemo) ? 'peephole' : other.kind === 'leaf' && other.role === 'state' ? 'diagonal' : 'scale';
      }
    }
    const gate = inGate || isSigmoid(e);
    switch (e.kind) {
      case 'leaf': case 'const': return;
      case 'matvec': return visit(e.v, gate, root, seen);
      case 'map': case 'slice': case 'reduce': case 'broadcast': return visit(e.a, gate, root, seen);
      case 'zip': return visit(e.a, gate, root, seen), visit(e.b, gate, root, seen);
      case 'concat': return e.parts.forEach((p) => visit(p, gate, root, seen));
      default: return assertNever(e, 'expression kind');
    }
  };
  for (const eq of cell.equations) visit(eq.expr, false, eq.expr, new Set());
  for (const p of cell.params) roles[p.name] ??= p.shape.length === 2 ? `input[${showDim(p.shape[1]!)}]` : 'bias';
  return Object.fromEntries(cell.params.map((p) => [p.name, roles[p.name]!]));
}

/** The families of the course notes, in their order. */
export const FAMILIES = ['RNN', 'GRU', 'LSTM'] as const;
export type Family = (typeof FAMILIES)[number];

/**
 * A cell's family from its structure: a separate memory next to the output state (two or more
 * states) is the LSTM's design; one state kept by a gate, s_t = g ⊙ s_{t-1} + …, is the GRU's;
 * anything else is a plain RNN.
 */
export function cellFamily(cell: CellIR): Family {
  if (cell.prev.length >= 2) return 'LSTM';
  return keepGates(cell).size > 0 ? 'GRU' : 'RNN';
}
