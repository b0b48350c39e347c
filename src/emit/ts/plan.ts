// Schedules one cell step for the kernels: packed matrix-product groups and fused elementwise phases.

import { InvariantError } from '../../spec/diagnostic.js';
import { type Broadcast, children, type Expr, type Leaf, type MatVec, type Reduce, topoOrder } from '../../ir/expr.js';
import type { CellIR } from '../../ir/lower.js';
import { addDims, type Dim, dimKey, ZERO_DIM } from '../../ir/shape.js';
import type { BackwardStep, GradTerm } from '../../derive/reverse.js';
import { orderByLength } from './slices.js';

/** One column block of a weight matrix times a vector: W[:, colOff : colOff+colLen] v. */
export interface Piece {
  readonly W: Leaf;
  /** The product is Wᵀ v: the block is rows colOff.. of W, and its output is W's columns. */
  readonly transpose: boolean;
  readonly colOff: Dim;
  readonly colLen: Dim;
  /** The forward product this block belongs to; its value is the sum of its pieces. */
  readonly node: MatVec;
  /** Column offset of this piece's rows in its group's packed output. */
  readonly outOff: Dim;
}

/**
 * Products that read the same vector, packed into one matrix product: the input projections of all
 * time steps ('input', before the time loop), the recurrent products of a step ('state'), or a
 * product of a vector computed within the step ('step').
 */
export interface Group {
  readonly index: number;
  readonly v: Expr;
  readonly kind: 'input' | 'state' | 'step';
  /**
   * For a 'step' group whose vector is a new state s_t (a product reading a state updated earlier in the
   * same step): that state's name. Its values live in the state sequence at step t + 1, not on the tape.
   */
  readonly newState?: string;
  readonly pieces: Piece[];
  /** Σ rows of the pieces: the packed output width. */
  cols: Dim;
  readonly width: Dim;
}

export interface ForwardPlan {
  readonly groups: readonly Group[];
  /** Elementwise nodes (and product sums) by phase; phase k runs after the products of level k. */
  readonly phases: readonly Expr[][];
  /** The level at which each per-step group's product runs. */
  readonly groupLevel: ReadonlyMap<number, number>;
  readonly level: ReadonlyMap<number, number>;
  /** Nodes whose values outlive their phase: read later in the step, by a product, or by the backward. */
  readonly stored: ReadonlySet<number>;
  /** Forward nodes the backward reads from the tape. */
  readonly tape: readonly Expr[];
}

export function piecesOf(node: MatVec): { colOff: Dim; colLen: Dim; v: Expr }[] {
  if (node.v.kind !== 'concat') return [{ colOff: ZERO_DIM, colLen: node.v.shape[0]!, v: node.v }];
  const out: { colOff: Dim; colLen: Dim; v: Expr }[] = [];
  let off = ZERO_DIM;
  for (const p of node.v.parts) {
    out.push({ colOff: off, colLen: p.shape[0]!, v: p });
    off = addDims(off, p.shape[0]!);
  }
  return out;
}

export function planForward(cell: CellIR, bw: BackwardStep): ForwardPlan {
  const roots = [...cell.next.values()];
  const order = topoOrder(roots);
  const groups: Group[] = [];
  const byVector = new Map<number, Group>();
  const newStateOf = new Map([...cell.next].map(([s, e]) => [e.id, s]));
  for (const e of order) {
    if (e.kind !== 'matvec') continue;
    for (const p of piecesOf(e)) {
      let g = byVector.get(p.v.id);
      if (!g) {
        const kind = p.v.kind === 'leaf' && p.v.role === 'input' ? 'input' : p.v.kind === 'leaf' && p.v.role === 'state' ? 'state' : 'step';
        const newState = kind === 'step' ? newStateOf.get(p.v.id) : undefined;
        g = { index: groups.length, v: p.v, kind, ...(newState === undefined ? {} : { newState }), pieces: [], cols: ZERO_DIM, width: p.v.shape[0]! };
        groups.push(g);
        byVector.set(p.v.id, g);
      }
      g.pieces.push({ W: e.m as Leaf, transpose: e.transpose, colOff: p.colOff, colLen: p.colLen, node: e, outOff: g.cols });
      g.cols = addDims(g.cols, e.shape[0]!);
    }
  }
  const concatUsers = new Map<number, Expr[]>();
  for (const m of order) for (const ch of children(m)) if (ch.kind === 'concat') concatUsers.set(ch.id, [...(concatUsers.get(ch.id) ?? []), m]);
  for (const e of order) {
    if (e.kind !== 'concat') continue;
    const users = concatUsers.get(e.id) ?? [];
    if (!users.some((m) => m.kind === 'matvec' && m.v === e)) throw new InvariantError('concat outside a matrix product');
    if (users.some((u) => u.kind !== 'matvec')) throw new Error(`the TypeScript kernels support concat only as the vector of a matrix product (cell ${cell.spec.name})`);
  }
  // Levels: leaves and the hoisted input projections are available at level 0.
  const level = new Map<number, number>();
  const groupLevel = new Map<number, number>();
  const lv = (e: Expr): number => level.get(e.id) ?? 0;
  for (const e of order) {
    if (e.kind === 'leaf' || e.kind === 'const') level.set(e.id, 0);
    else if (e.kind === 'concat') level.set(e.id, Math.max(0, ...e.parts.map(lv)));
    else if (e.kind === 'matvec') {
      let l = 0;
      for (const p of piecesOf(e)) {
        const g = byVector.get(p.v.id)!;
        const gl = g.kind === 'input' ? 0 : lv(p.v) + 1;
        groupLevel.set(g.index, gl);
        l = Math.max(l, gl);
      }
      level.set(e.id, l);
    } else if (isRowBarrier(e)) level.set(e.id, lv(e.a) + 1);
    else level.set(e.id, Math.max(0, ...children(e).map(lv)));
  }
  // Products are read straight from their packed outputs; one is materialized only if the backward reads it.
  const tapeIds = new Set(bw.saved.map((e) => e.id));
  // A scalar node (a function of scalar parameters) is not scheduled: printers compute it where it is read.
  // Slices take part in the phases (their operand must be ready first) but are read at an offset, never computed.
  const elementwise = order.filter((e) => ((e.kind === 'map' || e.kind === 'zip' || e.kind === 'slice') && e.shape.length > 0) || isRowBarrier(e) || (e.kind === 'matvec' && tapeIds.has(e.id)));
  const inPhases = new Set(elementwise.map((e) => e.id));
  const maxLevel = Math.max(0, ...elementwise.map(lv));
  const cap = new Map<number, number>();
  for (const g of groups) if (g.kind !== 'input') cap.set(g.v.id, Math.min(cap.get(g.v.id) ?? Infinity, groupLevel.get(g.index)! - 1));
  const sunk = sinkLevels(elementwise, lv, (e) => cap.get(e.id) ?? Infinity, maxLevel);
  for (const [id, l] of sunk) level.set(id, l);
  const phases: Expr[][] = Array.from({ length: maxLevel + 1 }, () => []);
  for (const e of elementwise) phases[lv(e)]!.push(e);
  for (const [k, ph] of phases.entries()) phases[k] = orderByLength(ph);
  const tape = [...bw.saved];
  const stored = new Set<number>();
  const phaseOf = (e: Expr) => lv(e);
  for (const e of elementwise) {
    for (const c of children(e)) if (inPhases.has(c.id) && c.kind !== 'matvec' && c.kind !== 'slice' && (phaseOf(c) < phaseOf(e) || e.kind === 'slice')) stored.add(c.id);
  }
  for (const g of groups) if (g.kind === 'step') stored.add(g.v.id);
  for (const r of roots) stored.add(r.id);
  for (const s of tape) stored.add(s.id);
  return { groups, phases, groupLevel, level, stored, tape };
}

/**
 * Moves each elementwise node to the latest phase that still serves its consumers (and its cap,
 * the phase before a product that reads it), so values are computed where they are used instead
 * of being stored across phases. `nodes` is in topological order.
 */
/**
 * A reduction or broadcast reads its operand at other elements than its own (all of them, or the
 * first): the operand must be complete, so it is computed at least one phase earlier.
 */
export const isRowBarrier = (e: Expr): e is Reduce | Broadcast => e.kind === 'reduce' || e.kind === 'broadcast';

export function sinkLevels(nodes: readonly Expr[], earliest: (e: Expr) => number, cap: (e: Expr) => number, maxLevel: number): Map<number, number> {
  const inSet = new Set(nodes.map((e) => e.id));
  const consumers = new Map<number, Expr[]>();
  for (const e of nodes) for (const c of children(e)) if (inSet.has(c.id)) consumers.set(c.id, [...(consumers.get(c.id) ?? []), e]);
  const out = new Map<number, number>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const e = nodes[i]!;
    let limit = Math.min(maxLevel, cap(e));
    for (const u of consumers.get(e.id) ?? []) limit = Math.min(limit, out.get(u.id)! - (isRowBarrier(u) ? 1 : 0));
    out.set(e.id, Math.max(earliest(e), limit));
  }
  return out;
}

/** A product in the backward step: W[:, colOff:colOff+colLen]ᵀ δ, matched to its forward piece. */
export interface BackPiece {
  readonly node: Expr;
  readonly group: Group;
  readonly piece: Piece;
}

export interface BackwardPlan {
  /** δ of each forward product (the dy of its gradient term). */
  readonly dyOf: ReadonlyMap<number, Expr>;
  /** Backward product nodes, matched to forward pieces. */
  readonly pieces: ReadonlyMap<number, BackPiece>;
  /** Sums in backward expressions that are a whole group's transpose product: sum node -> group. */
  readonly groupSums: ReadonlyMap<number, { group: Group; rest: { sign: 1 | -1; e: Expr }[] }>;
  readonly roots: readonly Expr[];
}

/** Flattens a chain of additions and subtractions into signed summands. */
export function summands(e: Expr, sign: 1 | -1 = 1, out: { sign: 1 | -1; e: Expr }[] = []): { sign: 1 | -1; e: Expr }[] {
  if (e.kind === 'zip' && (e.op === 'add' || e.op === 'sub')) {
    summands(e.a, sign, out);
    summands(e.b, e.op === 'add' ? sign : ((-sign) as 1 | -1), out);
  } else out.push({ sign, e });
  return out;
}

export function planBackward(cell: CellIR, bw: BackwardStep, fp: ForwardPlan): BackwardPlan {
  const dyOf = new Map<number, Expr>();
  const outer = bw.grads.filter((g): g is Extract<GradTerm, { kind: 'outer' }> => g.kind === 'outer');
  for (const g of fp.groups) {
    for (const p of g.pieces) {
      // W v: dW += δ vᵀ; Wᵀ v: dW += v δᵀ (the term's roles swap).
      const t = outer.find((o) => o.param === p.W.name && (p.transpose ? o.dy === p.node.v : o.v === p.node.v));
      if (!t) throw new InvariantError(`no gradient term for ${p.W.name}`);
      dyOf.set(p.node.id, p.transpose ? t.v : t.dy);
    }
  }
  const roots: Expr[] = [...bw.bindings.map((b) => b.expr), ...bw.prevAdjoint.values(), ...bw.inputAdjoint.values()];
  for (const g of bw.grads) if (g.kind === 'sum') roots.push(g.g);
  const order = topoOrder(roots);
  // Match W[:, cols]ᵀ δ nodes to forward pieces.
  const pieces = new Map<number, BackPiece>();
  for (const e of order) {
    let m: Expr | undefined;
    let off: Dim = ZERO_DIM;
    let len: Dim | undefined;
    // The backward product of a forward W v is Wᵀ δ, and of a forward Wᵀ v is W δ.
    if (e.kind === 'matvec') {
      m = e;
      len = e.shape[0]!;
    } else if (e.kind === 'slice' && e.a.kind === 'matvec') {
      m = e.a;
      off = e.start;
      len = e.length;
    }
    if (!m || m.kind !== 'matvec' || !len) continue;
    for (const g of fp.groups) {
      for (const p of g.pieces) {
        if (p.W === m.m && m.transpose !== p.transpose && dimKey(p.colOff) === dimKey(off) && dimKey(p.colLen) === dimKey(len) && dyOf.get(p.node.id) === m.v) pieces.set(e.id, { node: e, group: g, piece: p });
      }
    }
  }
  // Sums that contain every piece of a group (with + sign) become one packed product.
  const groupSums = new Map<number, { group: Group; rest: { sign: 1 | -1; e: Expr }[] }>();
  for (const e of order) {
    const parts = summands(e);
    for (const g of fp.groups) {
      const mine = parts.filter((s) => s.sign > 0 && pieces.get(s.e.id)?.group === g);
      if (mine.length === g.pieces.length && mine.length > 0 && new Set(mine.map((s) => pieces.get(s.e.id)!.piece)).size === g.pieces.length) {
        if (!groupSums.has(e.id)) groupSums.set(e.id, { group: g, rest: parts.filter((s) => !mine.includes(s)) });
      }
    }
  }
  return { dyOf, pieces, groupSums, roots };
}
