// The float64 reference: runs any cell's forward and derived backward straight from the IR.

import { InvariantError } from '../spec/diagnostic.js';
import { assertNever, type Expr, topoOrder } from '../ir/expr.js';
import type { FnTable } from '../ir/functions.js';
import type { CellIR } from '../ir/lower.js';
import { evalDim, numel } from '../ir/shape.js';
import type { BackwardStep } from '../derive/reverse.js';

export type Sizes = Readonly<Record<string, number>>;
export type Params = Record<string, Float64Array>;
/** Per-step values of named things, each [batch × n] row-major. */
export type StepValues = Record<string, Float64Array>;
type Memo = Map<number, Float64Array | number>;

/** Evaluates nodes (children first) into memo. Leaves must already be in memo. */
function evalNodes(order: readonly Expr[], memo: Memo, batch: number, sizes: Sizes, fns: FnTable): void {
  for (const e of order) {
    if (memo.has(e.id)) continue;
    memo.set(e.id, evalNode(e, memo, batch, sizes, fns));
  }
}

function get(memo: Memo, e: Expr): Float64Array | number {
  const v = memo.get(e.id);
  if (v === undefined) throw new InvariantError(`no value for node ${e.id} (${e.kind}${e.kind === 'leaf' ? ' ' + e.name : ''})`);
  return v;
}

function evalNode(e: Expr, memo: Memo, B: number, sizes: Sizes, fns: FnTable): Float64Array | number {
  switch (e.kind) {
    case 'leaf':
      throw new InvariantError(`leaf '${e.name}' (${e.role}) has no value`);
    case 'const':
      return e.value;
    case 'matvec': {
      const M = get(memo, e.m) as Float64Array;
      const v = get(memo, e.v);
      const rows = evalDim(e.m.shape[0]!, sizes);
      const cols = evalDim(e.m.shape[1]!, sizes);
      const nOut = e.transpose ? cols : rows;
      const nIn = e.transpose ? rows : cols;
      const out = new Float64Array(B * nOut);
      if (typeof v === 'number') throw new InvariantError('matvec of a scalar');
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < nOut; i++) {
          let s = 0;
          for (let k = 0; k < nIn; k++) s += (e.transpose ? M[k * cols + i]! : M[i * cols + k]!) * v[b * nIn + k]!;
          out[b * nOut + i] = s;
        }
      }
      return out;
    }
    case 'map': {
      const f = fns.get(e.fn).eval;
      const a = get(memo, e.a);
      if (typeof a === 'number') return f(a);
      return a.map(f);
    }
    case 'zip': {
      const a = get(memo, e.a);
      const b = get(memo, e.b);
      const op = e.op;
      const f = op === 'add' ? (x: number, y: number) => x + y : op === 'sub' ? (x: number, y: number) => x - y : op === 'mul' ? (x: number, y: number) => x * y : (x: number, y: number) => x / y;
      if (typeof a === 'number' && typeof b === 'number') return f(a, b);
      const n = typeof a === 'number' ? (b as Float64Array).length : a.length;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = f(typeof a === 'number' ? a : a[i]!, typeof b === 'number' ? b : b[i]!);
      return out;
    }
    case 'concat': {
      const ns = e.parts.map((p) => evalDim(p.shape[0]!, sizes));
      const total = ns.reduce((x, y) => x + y, 0);
      const out = new Float64Array(B * total);
      let off = 0;
      e.parts.forEach((p, j) => {
        const v = get(memo, p);
        for (let b = 0; b < B; b++) for (let i = 0; i < ns[j]!; i++) out[b * total + off + i] = typeof v === 'number' ? v : v[b * ns[j]! + i]!;
        off += ns[j]!;
      });
      return out;
    }
    case 'slice': {
      const v = get(memo, e.a);
      const n = evalDim(e.a.shape[0]!, sizes);
      const s = evalDim(e.start, sizes);
      const L = evalDim(e.length, sizes);
      const out = new Float64Array(B * L);
      for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) out[b * L + i] = typeof v === 'number' ? v : v[b * n + s + i]!;
      return out;
    }
    case 'reduce': {
      // Σ_i a_i (or the mean) per batch row
      const v = get(memo, e.a);
      const n = evalDim(e.a.shape[0]!, sizes);
      if (typeof v === 'number') return e.mean ? v : v * n;
      const out = new Float64Array(B);
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += v[b * n + i]!;
        out[b] = e.mean ? s / n : s;
      }
      return out;
    }
    case 'broadcast': {
      // y_i = a (or a / n) per batch row
      const v = get(memo, e.a);
      const n = evalDim(e.shape[0]!, sizes);
      if (typeof v === 'number') return e.mean ? v / n : v;
      const out = new Float64Array(B * n);
      for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) out[b * n + i] = e.mean ? v[b]! / n : v[b]!;
      return out;
    }
    default:
      return assertNever(e, 'expression');
  }
}

/** Is `name` a scalar parameter of the cell? */
const p0 = (cell: CellIR, name: string): boolean => cell.params.some((p) => p.name === name && p.shape.length === 0);

/** Broadcasts a scalar result to a full [batch × n] array. */
function full(v: Float64Array | number, len: number): Float64Array {
  return typeof v === 'number' ? new Float64Array(len).fill(v) : v;
}

export interface SeqInput {
  batch: number;
  steps: number;
  /** Per input name, [T][batch × n] flattened: index (t·batch + b)·n + i. */
  inputs: Record<string, Float64Array>;
  /** Per state name, [batch × n]; zeros when absent. */
  init?: Record<string, Float64Array>;
}

export interface SeqForward {
  /** Per state name, [T][batch × n]: s_1 ... s_T. */
  states: Record<string, Float64Array>;
  /** Per-step memo of every forward node, for the backward. */
  memos: Memo[];
}

function leafValue(cell: CellIR, sizes: Sizes, seq: SeqInput, params: Params, t: number, prevStates: Record<string, Float64Array>): Memo {
  const memo: Memo = new Map();
  for (const p of cell.params) {
    const v = params[p.name];
    if (!v || v.length !== numel(p.shape, sizes)) throw new Error(`parameter '${p.name}' is missing or has the wrong length`);
    memo.set(p.id, p.shape.length === 0 ? v[0]! : p.shape.length === 1 ? repeatRows(v, seq.batch) : v);
  }
  for (const x of cell.inputs) {
    const n = numel(x.shape, sizes);
    memo.set(x.id, seq.inputs[x.name]!.subarray(t * seq.batch * n, (t + 1) * seq.batch * n));
  }
  for (const s of cell.prev) memo.set(s.id, prevStates[s.name]!);
  return memo;
}

/** A vector parameter is shared by every batch row: repeat it so elementwise code can index [b·n + i]. */
function repeatRows(v: Float64Array, batch: number): Float64Array {
  const out = new Float64Array(v.length * batch);
  for (let b = 0; b < batch; b++) out.set(v, b * v.length);
  return out;
}

export function initialStates(cell: CellIR, sizes: Sizes, seq: SeqInput): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const s of cell.prev) out[s.name] = seq.init?.[s.name] ?? new Float64Array(seq.batch * numel(s.shape, sizes));
  return out;
}

/** The forward step's nodes in evaluation order, once per cell (finite differences run the forward many times). */
const forwardOrders = new WeakMap<CellIR, Expr[]>();
const forwardOrder = (cell: CellIR): Expr[] => {
  let o = forwardOrders.get(cell);
  if (!o) forwardOrders.set(cell, (o = topoOrder([...cell.next.values()])));
  return o;
};

export function forwardSequence(cell: CellIR, sizes: Sizes, params: Params, seq: SeqInput): SeqForward {
  const order = forwardOrder(cell);
  const B = seq.batch;
  let prev = initialStates(cell, sizes, seq);
  const states: Record<string, Float64Array> = {};
  for (const s of cell.prev) states[s.name] = new Float64Array(seq.steps * B * numel(s.shape, sizes));
  const memos: Memo[] = [];
  for (let t = 0; t < seq.steps; t++) {
    const memo = leafValue(cell, sizes, seq, params, t, prev);
    evalNodes(order, memo, B, sizes, cell.fns);
    const next: Record<string, Float64Array> = {};
    for (const s of cell.prev) {
      const n = B * numel(s.shape, sizes);
      const v = full(get(memo, cell.next.get(s.name)!), n);
      states[s.name]!.set(v, t * n);
      next[s.name] = v;
    }
    prev = next;
    memos.push(memo);
  }
  return { states, memos };
}

export interface SeqBackward {
  grads: Params;
  /** dL/dx_t per input, [T][batch × n]. */
  dInputs: Record<string, Float64Array>;
  /** dL/ds_0 per state. */
  dInit: Record<string, Float64Array>;
}

/**
 * BPTT with the derived step: δs_t = dL/ds_t + (carried from t+1); parameter gradients summed over time.
 * `dStates[name]` is dL/ds_t for every step, [T][batch × n].
 */
export function backwardSequence(cell: CellIR, bw: BackwardStep, sizes: Sizes, params: Params, seq: SeqInput, fw: SeqForward, dStates: Record<string, Float64Array>): SeqBackward {
  const B = seq.batch;
  const roots: Expr[] = [...bw.bindings.map((b) => b.expr), ...bw.prevAdjoint.values(), ...bw.inputAdjoint.values()];
  for (const g of bw.grads) roots.push(...(g.kind === 'outer' ? [g.dy, g.v] : [g.g]));
  const order = topoOrder(roots);
  const grads: Params = {};
  for (const p of cell.params) grads[p.name] = new Float64Array(numel(p.shape, sizes));
  const dInputs: Record<string, Float64Array> = {};
  for (const x of cell.inputs) dInputs[x.name] = new Float64Array(seq.steps * B * numel(x.shape, sizes));
  const carried: Record<string, Float64Array> = {};
  for (const s of cell.prev) carried[s.name] = new Float64Array(B * numel(s.shape, sizes));
  for (let t = seq.steps - 1; t >= 0; t--) {
    const memo: Memo = new Map(fw.memos[t]!);
    for (const s of cell.prev) {
      const n = B * numel(s.shape, sizes);
      const seed = new Float64Array(n);
      const d = dStates[s.name];
      for (let i = 0; i < n; i++) seed[i] = carried[s.name]![i]! + (d ? d[t * n + i]! : 0);
      memo.set(bw.seeds.get(s.name)!.id, seed);
    }
    evalNodes(order, memo, B, sizes, cell.fns);
    for (const s of cell.prev) carried[s.name] = full(get(memo, bw.prevAdjoint.get(s.name)!), B * numel(s.shape, sizes)).slice();
    for (const x of cell.inputs) {
      const n = B * numel(x.shape, sizes);
      dInputs[x.name]!.set(full(get(memo, bw.inputAdjoint.get(x.name)!), n), t * n);
    }
    for (const g of bw.grads) {
      const G = grads[g.param]!;
      if (g.kind === 'outer') {
        const dy = get(memo, g.dy);
        const v = get(memo, g.v);
        const r = evalDim(g.dy.shape[0]!, sizes);
        const c = evalDim(g.v.shape[0]!, sizes);
        for (let b = 0; b < B; b++)
          for (let i = 0; i < r; i++) {
            const di = typeof dy === 'number' ? dy : dy[b * r + i]!;
            for (let j = 0; j < c; j++) G[i * c + j] += di * (typeof v === 'number' ? v : v[b * c + j]!);
          }
      } else {
        const v = get(memo, g.g);
        const n = G.length;
        if (p0(cell, g.param)) {
          // a scalar parameter: the sum over the term's elements too
          const len = B * (g.g.shape.length ? evalDim(g.g.shape[0]!, sizes) : 1);
          for (let i = 0; i < len; i++) G[0] += typeof v === 'number' ? v : v[i]!;
        } else for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) G[i] += typeof v === 'number' ? v : v[b * n + i]!;
      }
    }
  }
  return { grads, dInputs, dInit: carried };
}

/** Derivatives of the elementwise functions for forward mode, written independently of the VJP rules. */
const TANGENT: Readonly<Record<string, (x: number, y: number) => number>> = {
  neg: () => -1,
  sigmoid: (_x, y) => y * (1 - y),
  tanh: (_x, y) => 1 - y * y,
  relu: (x) => (x > 0 ? 1 : 0),
  exp: (_x, y) => y,
  log: (x) => 1 / x,
  softplus: (x) => 1 / (1 + Math.exp(-x)),
  sqrt: (_x, y) => 0.5 / y,
  abs: (x) => Math.sign(x),
  sin: (x) => Math.cos(x),
  cos: (x) => -Math.sin(x),
};

/**
 * Forward-mode (tangent-linear) sequence: the directional derivative of every state at every step
 * along a direction in (params, inputs, initial states). Independent of the reverse derivation.
 */
export function tangentSequence(cell: CellIR, sizes: Sizes, params: Params, seq: SeqInput, dir: { params: Params; inputs: Record<string, Float64Array>; init: Record<string, Float64Array> }): Record<string, Float64Array> {
  const fw = forwardSequence(cell, sizes, params, seq);
  const order = topoOrder([...cell.next.values()]);
  const B = seq.batch;
  const out: Record<string, Float64Array> = {};
  for (const s of cell.prev) out[s.name] = new Float64Array(seq.steps * B * numel(s.shape, sizes));
  let prevTan: Record<string, Float64Array> = { ...dir.init };
  for (let t = 0; t < seq.steps; t++) {
    const memo = fw.memos[t]!;
    const tan = new Map<number, Float64Array | number>();
    for (const p of cell.params) tan.set(p.id, p.shape.length === 0 ? dir.params[p.name]![0]! : p.shape.length === 1 ? repeatRows(dir.params[p.name]!, B) : dir.params[p.name]!);
    for (const x of cell.inputs) {
      const n = B * numel(x.shape, sizes);
      tan.set(x.id, dir.inputs[x.name]!.subarray(t * n, (t + 1) * n));
    }
    for (const s of cell.prev) tan.set(s.id, prevTan[s.name]!);
    for (const e of order) {
      if (tan.has(e.id)) continue;
      tan.set(e.id, tangentNode(e, memo, tan, B, sizes, cell.fns));
    }
    const next: Record<string, Float64Array> = {};
    for (const s of cell.prev) {
      const n = B * numel(s.shape, sizes);
      const v = full(tan.get(cell.next.get(s.name)!.id)!, n);
      out[s.name]!.set(v, t * n);
      next[s.name] = v;
    }
    prevTan = next;
  }
  return out;
}

function tangentNode(e: Expr, val: Memo, tan: Memo, B: number, sizes: Sizes, fns: FnTable): Float64Array | number {
  const V = (x: Expr) => get(val, x);
  const D = (x: Expr) => get(tan, x);
  const at = (v: Float64Array | number, i: number) => (typeof v === 'number' ? v : v[i]!);
  switch (e.kind) {
    case 'leaf':
      throw new InvariantError('leaf without tangent');
    case 'const':
      return 0;
    case 'matvec': {
      // d(M v) = dM v + M dv
      const memoM = new Map<number, Float64Array | number>([[e.m.id, V(e.m)], [e.v.id, D(e.v)]]);
      const a = evalNode(e, memoM, B, sizes, fns) as Float64Array;
      const memoD = new Map<number, Float64Array | number>([[e.m.id, D(e.m)], [e.v.id, V(e.v)]]);
      const b = evalNode(e, memoD, B, sizes, fns) as Float64Array;
      return a.map((x, i) => x + b[i]!);
    }
    case 'map': {
      const x = V(e.a);
      const y = V(e);
      const dx = D(e.a);
      const def = fns.get(e.fn);
      const dfn = def.custom ? (() => { const g = fns.get(`${e.fn}_grad`).eval; return (xx: number) => g(xx); })() : TANGENT[e.fn];
      if (!dfn) throw new InvariantError(`no tangent for ${e.fn}`);
      if (typeof x === 'number' && typeof dx === 'number') return dfn(x, y as number) * dx;
      const n = typeof x === 'number' ? (typeof dx === 'number' ? 1 : dx.length) : x.length;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dfn(at(x, i), at(y, i)) * at(dx, i);
      return out;
    }
    case 'zip': {
      const a = V(e.a), b = V(e.b), da = D(e.a), db = D(e.b);
      if ([a, b, da, db].every((v) => typeof v === 'number')) {
        const [x, y, dx, dy] = [a, b, da, db] as number[];
        return e.op === 'add' ? dx! + dy! : e.op === 'sub' ? dx! - dy! : e.op === 'mul' ? dx! * y! + x! * dy! : (dx! * y! - x! * dy!) / (y! * y!);
      }
      const n = Math.max(...[a, b, da, db].map((v) => (typeof v === 'number' ? 1 : v.length)));
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const [x, y, dx, dy] = [at(a, i), at(b, i), at(da, i), at(db, i)];
        out[i] = e.op === 'add' ? dx + dy : e.op === 'sub' ? dx - dy : e.op === 'mul' ? dx * y + x * dy : (dx * y - x * dy) / (y * y);
      }
      return out;
    }
    case 'concat':
    case 'slice':
    case 'reduce':
    case 'broadcast': {
      // Linear: the tangent is the same operation on the tangents.
      const m = new Map<number, Float64Array | number>();
      for (const c of e.kind === 'concat' ? e.parts : [e.a]) m.set(c.id, D(c));
      return evalNode(e, m, B, sizes, fns);
    }
    default:
      return assertNever(e, 'expression');
  }
}
