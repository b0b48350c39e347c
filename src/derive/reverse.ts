// Reverse mode over one cell step: the BPTT step (adjoints, carried state adjoints, gradient terms).

import { InvariantError } from '../spec/diagnostic.js';
import { RESERVED } from '../spec/read.js';
import { add, broadcast, children, concat, type Const, constant, div, type Expr, isConst, type Leaf, leaf, matvec, mul, neg, reduce, slice, sub, topoOrder, useCounts, zeros } from '../ir/expr.js';
import { subDims } from '../ir/dims.js';
import type { CellIR } from '../ir/lower.js';
import { addDims, shapeKey, ZERO_DIM } from '../ir/shape.js';

/** A product of factors with a sign; an adjoint is a sum of terms until it is materialized. */
interface Term {
  readonly sign: 1 | -1;
  readonly factors: readonly Expr[];
}

/** A parameter's gradient contribution at one step, summed over time and batch by the runtime. */
export type GradTerm =
  | { readonly kind: 'outer'; readonly param: string; readonly dy: Expr; readonly v: Expr } // dθ += dy vᵀ
  | { readonly kind: 'sum'; readonly param: string; readonly g: Expr }; // dθ += g

/** A named adjoint: δ of a forward node. */
export interface Binding {
  readonly name: string;
  readonly expr: Expr;
  /** The forward node whose adjoint this is. */
  readonly of: Expr;
  /** Why it has a name: an equation's value, an activation's argument, or shared by several uses. */
  readonly reason: 'equation' | 'preactivation' | 'shared';
  /** The equation it belongs to (for names and LaTeX). */
  readonly equation?: string;
}

export interface BackwardStep {
  /** δs_t flowing into each state: from the loss at t and from step t+1. */
  readonly seeds: ReadonlyMap<string, Leaf>;
  readonly bindings: readonly Binding[];
  /** δs_{t-1}, carried to the previous step. */
  readonly prevAdjoint: ReadonlyMap<string, Expr>;
  /** δx_t. */
  readonly inputAdjoint: ReadonlyMap<string, Expr>;
  readonly grads: readonly GradTerm[];
  /** Forward values the backward step reads, stored per step by the sequence forward. */
  readonly saved: readonly Expr[];
  /** Forward values the backward step recomputes cheaply from saved ones. */
  readonly recomputed: readonly Expr[];
}

/** Forward nodes that have names: the value of each equation, and each named activation's argument. */
export function forwardNames(cell: CellIR): Map<number, { name: string; kind: 'equation' | 'preactivation'; equation: string }> {
  const names = new Map<number, { name: string; kind: 'equation' | 'preactivation'; equation: string }>();
  for (const eq of cell.equations) if (!names.has(eq.expr.id)) names.set(eq.expr.id, { name: eq.name, kind: 'equation', equation: eq.name });
  for (const eq of cell.equations) {
    const e = eq.expr;
    if (e.kind === 'map' && e.a.kind !== 'leaf' && !names.has(e.a.id)) names.set(e.a.id, { name: `${eq.name}_pre`, kind: 'preactivation', equation: eq.name });
  }
  return names;
}

function combine(terms: readonly Term[]): Expr {
  if (terms.length === 0) return constant(0);
  const groups = new Map<number, Term[]>();
  for (const t of terms) {
    const k = t.factors[0]!.id;
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  const prod = (fs: readonly Expr[]): Expr => fs.reduce((a, b) => mul(a, b), constant(1) as Expr);
  const sum = (items: { sign: 1 | -1; e: Expr }[]): Expr => {
    let acc: Expr | undefined;
    for (const { sign, e } of items) acc = acc === undefined ? (sign > 0 ? e : neg(e)) : sign > 0 ? add(acc, e) : sub(acc, e);
    return acc ?? constant(0);
  };
  const parts: { sign: 1 | -1; e: Expr }[] = [];
  for (const g of groups.values()) {
    if (g.length === 1) {
      parts.push({ sign: g[0]!.sign, e: prod(g[0]!.factors) });
    } else {
      // f ⊙ a ± f ⊙ b  ->  f ⊙ (a ± b): one multiplication instead of two.
      const rest = sum(g.map((t) => ({ sign: t.sign, e: prod(t.factors.slice(1)) })));
      parts.push({ sign: 1, e: mul(g[0]!.factors[0]!, rest) });
    }
  }
  // Put positive terms first so sums read a + b - c rather than -c + a + b.
  parts.sort((a, b) => b.sign - a.sign);
  return sum(parts);
}

/**
 * The terms of a scalar node's adjoint, grouped by the size of the vector each one has. The adjoint of a
 * scalar s used as s ⊙ v is Σ_i (dy ⊙ v)_i; the sum is linear, so it is deferred to the parameter's
 * gradient (summed over elements, rows and steps), and terms of different sizes never meet.
 */
function byShape(ts: readonly Term[]): Term[][] {
  const groups = new Map<string, Term[]>();
  for (const t of ts) {
    const k = shapeKey(t.factors.find((f) => f.shape.length > 0)?.shape ?? []);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  return [...groups.values()];
}

/** Splits dy ⊙ r into the factors [dy, r] so adjoints sharing dy can be factored. */
function asTerm(e: Expr, dy: Expr): Term {
  if (e.kind === 'zip' && e.op === 'mul' && e.a === dy) return { sign: 1, factors: [dy, e.b] };
  if (e.kind === 'map' && e.fn === 'neg') {
    const t = asTerm(e.a, dy);
    return { sign: (-t.sign) as 1 | -1, factors: t.factors };
  }
  return { sign: 1, factors: [e] };
}

export function deriveBackward(cell: CellIR): BackwardStep {
  const roots = [...cell.next.values()];
  const order = topoOrder(roots);
  const forwardIds = new Set(order.map((e) => e.id));
  const names = forwardNames(cell);
  const terms = new Map<number, Term[]>();
  const push = (e: Expr, t: Term): void => {
    if (t.factors.some((f) => isConst(f, 0))) return;
    const l = terms.get(e.id);
    if (l) l.push(t);
    else terms.set(e.id, [t]);
  };
  const seeds = new Map<string, Leaf>();
  for (const p of cell.prev) {
    const s = leaf('seed', p.name, p.shape);
    seeds.set(p.name, s);
    push(cell.next.get(p.name)!, { sign: 1, factors: [s] });
  }

  const materialized: { of: Expr; expr: Expr }[] = [];
  const grads: GradTerm[] = [];
  const adjointOf = (e: Expr): Expr => {
    const ts = terms.get(e.id) ?? [];
    const x = combine(ts);
    materialized.push({ of: e, expr: x });
    return x;
  };

  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const ts = terms.get(n.id);
    if (!ts || n.kind === 'leaf' || n.kind === 'const') continue;
    const named = names.has(n.id);
    // Linear nodes pass their terms through unless they have a name of their own.
    if (!named) {
      if (n.kind === 'zip' && (n.op === 'add' || n.op === 'sub')) {
        // y = a ± b  ->  da = dy, db = ±dy
        for (const t of ts) push(n.a, t);
        for (const t of ts) push(n.b, n.op === 'add' ? t : { sign: (-t.sign) as 1 | -1, factors: t.factors });
        continue;
      }
      if (n.kind === 'map' && n.fn === 'neg') {
        // y = -a  ->  da = -dy
        for (const t of ts) push(n.a, { sign: (-t.sign) as 1 | -1, factors: t.factors });
        continue;
      }
      if (n.kind === 'zip' && (n.op === 'mul' || n.op === 'div') && n.b.kind === 'const') {
        // y = a · c  ->  da = c dy
        const c = n.op === 'mul' ? n.b : constant(1 / n.b.value);
        for (const t of ts) push(n.a, { sign: t.sign, factors: [...t.factors, c] });
        continue;
      }
      if (n.kind === 'zip' && n.op === 'mul' && n.a.kind === 'const') {
        for (const t of ts) push(n.b, { sign: t.sign, factors: [...t.factors, n.a] });
        continue;
      }
    }
    // A scalar node's adjoint is kept unreduced, one vector per size it broadcast to (see byShape).
    for (const group of n.shape.length === 0 ? byShape(ts) : [ts]) {
      const dy = group === ts ? adjointOf(n) : combine(group);
      RULES[n.kind](n as never, dy, { push, grads });
    }
  }

  // Leaves: parameters (sum terms), inputs and previous states. A scalar parameter's terms are vectors
  // (dα ⊙-terms such as dy ⊙ v): its gradient sums them over their elements too, one term per size.
  for (const p of cell.params) {
    const ts = terms.get(p.id);
    if (ts) for (const group of p.shape.length === 0 ? byShape(ts) : [ts]) grads.push({ kind: 'sum', param: p.name, g: combine(group) });
  }
  const inputAdjoint = new Map(cell.inputs.map((x) => [x.name, combine(terms.get(x.id) ?? [])]));
  const prevAdjoint = new Map(cell.prev.map((s) => [s.name, combine(terms.get(s.id) ?? [])]));
  // Order gradient terms by parameter declaration, then as derived, so output is stable and readable.
  const paramIndex = new Map(cell.params.map((p, i) => [p.name, i]));
  grads.sort((a, b) => paramIndex.get(a.param)! - paramIndex.get(b.param)!);

  // Name adjoints: those of named forward values, and any used more than once.
  const backRoots: Expr[] = [...prevAdjoint.values(), ...inputAdjoint.values(), ...grads.flatMap((g) => (g.kind === 'outer' ? [g.dy, g.v] : [g.g]))];
  const uses = useCounts(backRoots);
  for (const r of backRoots) uses.set(r.id, (uses.get(r.id) ?? 0) + 1);
  const reachable = new Set(topoOrder(backRoots).map((e) => e.id));
  const bindings: Binding[] = [];
  const boundIds = new Set<number>();
  let tmp = 0;
  // Adjoint names must not clash with anything the spec declares.
  const taken = new Set<string>([...cell.params, ...cell.inputs].map((l) => l.name));
  for (const s of cell.prev) taken.add(s.name).add(`${s.name}_prev`);
  for (const e of cell.equations) taken.add(e.name);
  const fresh = (want: string): string => {
    // d + a name can spell a keyword (do, dim...): then the name is d_<name>.
    const base = RESERVED.has(want) ? want.replace(/^d/, 'd_') : want;
    let n = base;
    for (let k = 2; taken.has(n); k++) n = `${base}${k}`;
    taken.add(n);
    return n;
  };
  for (const m of materialized) {
    const e = m.expr;
    if (e.kind === 'leaf' || e.kind === 'const' || boundIds.has(e.id) || !reachable.has(e.id) || forwardIds.has(e.id)) continue;
    const nm = names.get(m.of.id);
    if (nm) {
      bindings.push({ name: fresh(`d${nm.name}`), expr: e, of: m.of, reason: nm.kind, equation: nm.equation });
      boundIds.add(e.id);
    } else if ((uses.get(e.id) ?? 0) > 1) {
      bindings.push({ name: fresh(`d_tmp${++tmp}`), expr: e, of: m.of, reason: 'shared' });
      boundIds.add(e.id);
    }
  }

  // Saved forward values: what the backward reads, except cheap elementwise nodes it can recompute.
  const back = topoOrder([...bindings.map((b) => b.expr), ...backRoots]);
  const referenced = new Set<number>();
  for (const e of back) {
    if (forwardIds.has(e.id)) continue;
    for (const c of children(e)) if (forwardIds.has(c.id) && c.kind !== 'leaf' && c.kind !== 'const') referenced.add(c.id);
  }
  for (const g of grads) for (const x of g.kind === 'outer' ? [g.v] : [g.g]) if (forwardIds.has(x.id) && x.kind !== 'leaf' && x.kind !== 'const') referenced.add(x.id);
  const saved: Expr[] = [];
  const recomputed: Expr[] = [];
  // States s_t are stored by the sequence forward anyway, so they are never saved twice.
  const stateIds = new Set(roots.map((r) => r.id));
  const placed = new Set<number>(); // ids in saved or recomputed
  // A scalar node is a function of parameters and constants only: every printer computes it where it is read.
  const available = (c: Expr): boolean => c.kind === 'leaf' || c.kind === 'const' || c.shape.length === 0 || stateIds.has(c.id) || placed.has(c.id);
  const cheap = (e: Expr): boolean =>
    (e.kind === 'zip' || e.kind === 'concat' || e.kind === 'slice' || e.kind === 'broadcast' || (e.kind === 'map' && e.fn === 'neg')) && !names.has(e.id);
  const need = (e: Expr): void => {
    if (available(e)) return;
    if (cheap(e)) {
      for (const c of children(e)) need(c);
      recomputed.push(e);
    } else saved.push(e);
    placed.add(e.id);
  };
  for (const e of order) if (referenced.has(e.id)) need(e);
  // Recomputed nodes in forward order; saved in forward order.
  const pos = new Map(order.map((e, i) => [e.id, i]));
  saved.sort((a, b) => pos.get(a.id)! - pos.get(b.id)!);
  recomputed.sort((a, b) => pos.get(a.id)! - pos.get(b.id)!);
  return { seeds, bindings, prevAdjoint, inputAdjoint, grads, saved, recomputed };
}

interface RuleCtx {
  push: (e: Expr, t: Term) => void;
  grads: GradTerm[];
}
type Rule<K extends Expr['kind']> = (n: Extract<Expr, { kind: K }>, dy: Expr, ctx: RuleCtx) => void;

/** One vector-Jacobian rule per op. */
const RULES = {
  leaf: () => {
    throw new InvariantError('leaves have no rule');
  },
  const: () => {
    throw new InvariantError('constants have no rule');
  },
  // y = M v  ->  dM += dy vᵀ,  dv += Mᵀ dy      (y = Mᵀ v  ->  dM += v dyᵀ,  dv += M dy)
  matvec: (n, dy, { push, grads }) => {
    if (n.m.kind !== 'leaf' || n.m.role !== 'param') throw new InvariantError('matrix of a product must be a parameter');
    grads.push(n.transpose ? { kind: 'outer', param: n.m.name, dy: n.v, v: dy } : { kind: 'outer', param: n.m.name, dy, v: n.v });
    push(n.v, { sign: 1, factors: [matvec(n.m, dy, !n.transpose)] });
  },
  // y = f(a)  ->  da from the function table, through saved values
  map: (n, dy, { push }) => {
    const fn = CURRENT_FNS.get(n.fn);
    push(n.a, asTerm(fn.vjp(dy, n.a, n), dy));
  },
  zip: (n, dy, { push }) => {
    switch (n.op) {
      // y = a ± b  ->  da = dy, db = ±dy
      case 'add':
        push(n.a, { sign: 1, factors: [dy] });
        push(n.b, { sign: 1, factors: [dy] });
        return;
      case 'sub':
        push(n.a, { sign: 1, factors: [dy] });
        push(n.b, { sign: -1, factors: [dy] });
        return;
      // y = a ⊙ b  ->  da = dy ⊙ b,  db = dy ⊙ a
      case 'mul':
        push(n.a, { sign: 1, factors: [dy, n.b] });
        push(n.b, { sign: 1, factors: [dy, n.a] });
        return;
      // y = a ⊘ b  ->  da = dy ⊘ b,  db = -dy ⊙ y ⊘ b
      case 'div':
        push(n.a, { sign: 1, factors: [div(dy, n.b)] });
        if (n.b.kind !== 'const') push(n.b, { sign: -1, factors: [div(mul(dy, n), n.b)] });
        return;
    }
  },
  // y = [a; b; ...]  ->  da = dy[0:|a|], db = dy[|a|:|a|+|b|], ...
  concat: (n, dy, { push }) => {
    let off = ZERO_DIM;
    for (const p of n.parts) {
      push(p, { sign: 1, factors: [slice(dy, off, p.shape[0]!)] });
      off = addDims(off, p.shape[0]!);
    }
  },
  // y = a[start : start+len]  ->  da = [0; dy; 0]: dy scattered into the sliced range (slices of one vector add up)
  slice: (n, dy, { push }) => {
    const rest = subDims(n.a.shape[0]!, addDims(n.start, n.length));
    push(n.a, { sign: 1, factors: [concat([zeros(n.start), dy.shape.length ? dy : constant((dy as Const).value, [n.length]), zeros(rest)])] });
  },
  // y = Σ_i a_i (mean: / n)  ->  da_i = dy (mean: dy / n): the scalar cotangent broadcasts back
  reduce: (n, dy, { push }) => {
    push(n.a, { sign: 1, factors: [broadcast(dy, n.a.shape[0]!, n.mean)] });
  },
  // y_i = a (mean: a / n)  ->  da = Σ_i dy_i (mean: / n): broadcasting sums the cotangent
  broadcast: (n, dy, { push }) => {
    push(n.a, { sign: 1, factors: [reduce(dy, n.mean)] });
  },
} satisfies { [K in Expr['kind']]: Rule<K> };

// The function table of the cell being differentiated (custom activations are per cell).
let CURRENT_FNS: CellIR['fns'];

/** Differentiates a cell step; the entry point the rest of cellgen uses. */
export function derive(cell: CellIR): BackwardStep {
  CURRENT_FNS = cell.fns;
  return deriveBackward(cell);
}

