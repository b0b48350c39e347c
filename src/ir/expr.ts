// The tensor expression IR: a closed union of interned nodes (equal subexpressions are one object).

import { InvariantError } from '../spec/diagnostic.js';
import { provablyLE, subDims } from './dims.js';
import { addDims, constDim, type Dim, dimKey, type Shape, shapeEq, shapeKey, ZERO_DIM } from './shape.js';

/** Where a leaf's value comes from at each time step. */
export type Role =
  | 'input' // x_t
  | 'state' // the previous value of a state, h_{t-1}
  | 'param' // a trainable parameter, shared across time
  | 'seed'; // an incoming adjoint in a backward step, e.g. delta h_t

export type ZipOp = 'add' | 'sub' | 'mul' | 'div';

interface Base {
  readonly id: number;
  readonly shape: Shape;
}
export interface Leaf extends Base { readonly kind: 'leaf'; readonly role: Role; readonly name: string }
export interface Const extends Base { readonly kind: 'const'; readonly value: number }
/** m v, or mᵀ v when transpose is set. m is always a parameter leaf. */
export interface MatVec extends Base { readonly kind: 'matvec'; readonly m: Expr; readonly v: Expr; readonly transpose: boolean }
/** Elementwise unary function (an activation, neg, or a derivative helper). */
export interface MapE extends Base { readonly kind: 'map'; readonly fn: string; readonly a: Expr }
/** Elementwise binary arithmetic; a scalar operand broadcasts. */
export interface Zip extends Base { readonly kind: 'zip'; readonly op: ZipOp; readonly a: Expr; readonly b: Expr }
export interface Concat extends Base { readonly kind: 'concat'; readonly parts: readonly Expr[] }
/** Elements [start, start + length) of a vector. */
export interface Slice extends Base { readonly kind: 'slice'; readonly a: Expr; readonly start: Dim; readonly length: Dim }

/**
 * A per-row scalar from a vector: Σ_i a_i, or (with mean) Σ_i a_i / n. Its shape is [1]: one value
 * per batch row, combined with vectors only through a broadcast.
 */
export interface Reduce extends Base { readonly kind: 'reduce'; readonly a: Expr; readonly mean: boolean }
/**
 * A per-row scalar a (shape [1]) repeated over n elements: y_i = a, or (with mean) y_i = a / n, the
 * transpose of a mean. It is the transpose of reduce: each one's VJP is the other.
 */
export interface Broadcast extends Base { readonly kind: 'broadcast'; readonly a: Expr; readonly mean: boolean }

export type Expr = Leaf | Const | MatVec | MapE | Zip | Concat | Slice | Reduce | Broadcast;
export type Kind = Expr['kind'];

export function assertNever(x: never, what = 'value'): never {
  throw new InvariantError(`unexpected ${what}: ${JSON.stringify(x)}`);
}

const table = new Map<string, Expr>();
let nextId = 0;

type Fields<E> = E extends Expr ? Omit<E, 'id'> : never;

function intern<E extends Expr>(key: string, make: Fields<E>): E {
  const hit = table.get(key);
  if (hit) return hit as E;
  const node = { id: nextId++, ...make } as unknown as E;
  table.set(key, node);
  return node;
}

export function children(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'leaf':
    case 'const':
      return [];
    case 'matvec':
      return [e.m, e.v];
    case 'map':
      return [e.a];
    case 'zip':
      return [e.a, e.b];
    case 'concat':
      return e.parts;
    case 'slice':
    case 'reduce':
    case 'broadcast':
      return [e.a];
    default:
      return assertNever(e, 'expression kind');
  }
}

// ---- constructors -------------------------------------------------------------------------

export function leaf(role: Role, name: string, shape: Shape): Leaf {
  return intern<Leaf>(`leaf|${role}|${name}|${shapeKey(shape)}`, { kind: 'leaf', role, name, shape });
}

/** A number; with a shape, the same number in every element (zeros(n) pads a slice's adjoint). */
export function constant(value: number, shape: Shape = []): Const {
  // -0 and 0 intern to one node.
  const v = value === 0 ? 0 : value;
  return intern<Const>(shape.length ? `const|${v}|${shapeKey(shape)}` : `const|${v}`, { kind: 'const', value: v, shape });
}

export const zeros = (n: Dim): Const => constant(0, [n]);

export const isConst = (e: Expr, v?: number): e is Const =>
  e.kind === 'const' && (v === undefined || e.value === v);

export function matvec(m: Expr, v: Expr, transpose = false): Expr {
  if (m.shape.length !== 2 || v.shape.length !== 1) throw new InvariantError('matvec needs a matrix and a vector');
  const [rows, cols] = m.shape as [Dim, Dim];
  const inner = transpose ? rows : cols;
  if (dimKey(inner) !== dimKey(v.shape[0]!)) throw new InvariantError(`matvec shape mismatch ${shapeKey(m.shape)} ${shapeKey(v.shape)}`);
  if (isConst(v, 0)) return constant(0);
  return intern<MatVec>(`matvec|${m.id}|${v.id}|${transpose}`, {
    kind: 'matvec', m, v, transpose, shape: [transpose ? cols : rows],
  });
}

function broadcastShape(a: Expr, b: Expr): Shape {
  if (a.shape.length === 0) return b.shape;
  if (b.shape.length === 0) return a.shape;
  if (!shapeEq(a.shape, b.shape)) throw new InvariantError(`elementwise shape mismatch ${shapeKey(a.shape)} ${shapeKey(b.shape)}`);
  return a.shape;
}

function fold(op: ZipOp, x: number, y: number): number {
  switch (op) {
    case 'add': return x + y;
    case 'sub': return x - y;
    case 'mul': return x * y;
    case 'div': return x / y;
    default: return assertNever(op, 'zip op');
  }
}

/** Elementwise a op b with the algebraic identities that keep derived code free of dead work. */
export function zip(op: ZipOp, a: Expr, b: Expr): Expr {
  const shape = broadcastShape(a, b);
  if (a.kind === 'const' && b.kind === 'const') return constant(fold(op, a.value, b.value));
  switch (op) {
    case 'add':
      if (isConst(a, 0)) return b;
      if (isConst(b, 0)) return a;
      if (b.kind === 'map' && b.fn === 'neg') return zip('sub', a, b.a);
      if (a.kind === 'map' && a.fn === 'neg') return zip('sub', b, a.a);
      break;
    case 'sub':
      if (isConst(b, 0)) return a;
      if (isConst(a, 0)) return neg(b);
      if (a === b) return constant(0);
      if (b.kind === 'map' && b.fn === 'neg') return zip('add', a, b.a);
      break;
    case 'mul':
      if (isConst(a, 0) || isConst(b, 0)) return constant(0);
      if (isConst(a, 1)) return b;
      if (isConst(b, 1)) return a;
      if (isConst(a, -1)) return neg(b);
      if (isConst(b, -1)) return neg(a);
      if (a.kind === 'map' && a.fn === 'neg') return neg(zip('mul', a.a, b));
      if (b.kind === 'map' && b.fn === 'neg') return neg(zip('mul', a, b.a));
      break;
    case 'div':
      if (isConst(a, 0)) return constant(0);
      if (isConst(b, 1)) return a;
      if (a.kind === 'map' && a.fn === 'neg') return neg(zip('div', a.a, b));
      break;
    default:
      return assertNever(op, 'zip op');
  }
  // Elementwise work on a stacked vector is done part by part: [a; b] ⊙ v = [a ⊙ v[0:|a|]; b ⊙ v[|a|:]].
  if (a.kind === 'concat' || b.kind === 'concat') {
    const c = a.kind === 'concat' ? a : (b as Concat);
    return distribute(c, (part, off, len) => {
      const other = (x: Expr): Expr => (x === c ? part : x.shape.length ? slice(x, off, len) : x);
      return zip(op, other(a), other(b));
    });
  }
  return intern<Zip>(`zip|${op}|${a.id}|${b.id}`, { kind: 'zip', op, a, b, shape });
}

/** concat(f(part_k, offset_k, length_k)): a part that folds to a number becomes that number at the part's length. */
function distribute(c: Concat, f: (part: Expr, off: Dim, len: Dim) => Expr): Expr {
  let off = ZERO_DIM;
  const parts = c.parts.map((p) => {
    const len = p.shape[0]!;
    let r = f(p, off, len);
    off = addDims(off, len);
    if (r.shape.length === 0) {
      if (r.kind !== 'const') throw new InvariantError('a part of a stacked vector became a scalar');
      r = constant(r.value, [len]);
    }
    return r;
  });
  return concat(parts);
}

export const add = (a: Expr, b: Expr): Expr => zip('add', a, b);
export const sub = (a: Expr, b: Expr): Expr => zip('sub', a, b);
export const mul = (a: Expr, b: Expr): Expr => zip('mul', a, b);
export const div = (a: Expr, b: Expr): Expr => zip('div', a, b);

export function neg(a: Expr): Expr {
  if (a.kind === 'const') return constant(-a.value, a.shape);
  if (a.kind === 'concat') return concat(a.parts.map(neg));
  if (a.kind === 'map' && a.fn === 'neg') return a.a;
  if (a.kind === 'zip' && a.op === 'sub') return zip('sub', a.b, a.a);
  return intern<MapE>(`map|neg|${a.id}`, { kind: 'map', fn: 'neg', a, shape: a.shape });
}

/** An elementwise function application; `fn` must be known to the function table. */
export function map(fn: string, a: Expr): Expr {
  if (fn === 'neg') return neg(a);
  return intern<MapE>(`map|${fn}|${a.id}`, { kind: 'map', fn, a, shape: a.shape });
}

export function concat(given: readonly Expr[]): Expr {
  // Nested stacks flatten, and neighbouring constant parts of one value merge: [0; [a; 0]; 0] = [0; a; 0].
  const parts: Expr[] = [];
  for (const p of given.flatMap((q) => (q.kind === 'concat' ? q.parts : [q]))) {
    if (p.shape.length !== 1) throw new InvariantError('concat of a non-vector');
    if (dimKey(p.shape[0]!) === '0') continue;
    const last = parts[parts.length - 1];
    if (last && last.kind === 'const' && p.kind === 'const' && last.value === p.value) parts[parts.length - 1] = constant(p.value, [addDims(last.shape[0]!, p.shape[0]!)]);
    else parts.push(p);
  }
  if (parts.length === 1) return parts[0]!;
  let total = ZERO_DIM;
  for (const p of parts) total = addDims(total, p.shape[0]!);
  return intern<Concat>(`concat|${parts.map((p) => p.id).join(',')}`, { kind: 'concat', parts, shape: [total] });
}

export function slice(a: Expr, start: Dim, length: Dim): Expr {
  if (a.shape.length !== 1) throw new InvariantError('slice of a non-vector');
  if (dimKey(start) === dimKey(ZERO_DIM) && dimKey(length) === dimKey(a.shape[0]!)) return a;
  if (a.kind === 'const') return constant(a.value, [length]);
  // Slices distribute over sums, so (W_cᵀ δ + W_uᵀ δ)[0:H] becomes two column-block products; a scalar operand stays.
  if (a.kind === 'zip' && (a.op === 'add' || a.op === 'sub' || a.a.shape.length === 0 || a.b.shape.length === 0)) {
    const part = (x: Expr): Expr => (x.shape.length ? slice(x, start, length) : x);
    return zip(a.op, part(a.a), part(a.b));
  }
  if (a.kind === 'map' && a.fn === 'neg') return neg(slice(a.a, start, length));
  // A slice of a slice is one slice.
  if (a.kind === 'slice') return slice(a.a, addDims(a.start, start), length);
  // A slice of a concat takes the parts it overlaps (parts at symbolic offsets are compared for every size).
  if (a.kind === 'concat') {
    const end = addDims(start, length);
    const out: Expr[] = [];
    let off = ZERO_DIM;
    let known = true;
    for (const p of a.parts) {
      const pEnd = addDims(off, p.shape[0]!);
      if (provablyLE(pEnd, start) || provablyLE(end, off)) {
        // no overlap
      } else if (provablyLE(start, off) && provablyLE(pEnd, end)) out.push(p);
      else if (provablyLE(off, start) && provablyLE(end, pEnd)) out.push(slice(p, subDims(start, off), length));
      else if (provablyLE(off, start) && provablyLE(start, pEnd) && provablyLE(pEnd, end)) out.push(slice(p, subDims(start, off), subDims(pEnd, start)));
      else if (provablyLE(start, off) && provablyLE(off, end) && provablyLE(end, pEnd)) out.push(slice(p, ZERO_DIM, subDims(end, off)));
      else known = false;
      off = pEnd;
    }
    if (known) return concat(out);
  }
  return intern<Slice>(`slice|${a.id}|${dimKey(start)}|${dimKey(length)}`, { kind: 'slice', a, start, length, shape: [length] });
}

/** The shape of a per-row scalar: one value per batch row. */
export const ROW_SCALAR: Shape = [constDim(1)];
export const isRowScalar = (e: Expr): boolean => e.shape.length === 1 && dimKey(e.shape[0]!) === '1';

/** Σ_i a_i (or the mean) per batch row; a is a vector. */
export function reduce(a: Expr, mean: boolean): Expr {
  if (isConst(a, 0)) return a;
  if (a.shape.length !== 1) throw new InvariantError(`reduction of a ${a.shape.length === 0 ? 'constant' : 'matrix'}`);
  if (isRowScalar(a)) return a;
  if (a.kind === 'map' && a.fn === 'neg') return neg(reduce(a.a, mean));
  return intern<Reduce>(`reduce|${a.id}|${mean}`, { kind: 'reduce', a, mean, shape: ROW_SCALAR });
}

/** A per-row scalar a (shape [1]) repeated to n elements, divided by n when mean is set. */
export function broadcast(a: Expr, n: Dim, mean = false): Expr {
  if (a.kind === 'const' && !mean) return a;
  if (isConst(a, 0)) return a;
  if (!isRowScalar(a)) throw new InvariantError(`broadcast of ${shapeKey(a.shape)}`);
  if (dimKey(n) === '1') return a;
  if (a.kind === 'map' && a.fn === 'neg') return neg(broadcast(a.a, n, mean));
  return intern<Broadcast>(`broadcast|${a.id}|${dimKey(n)}|${mean}`, { kind: 'broadcast', a, mean, shape: [n] });
}

// ---- traversal ----------------------------------------------------------------------------

/** Post-order (children before parents) over everything reachable from roots; stable order. */
export function topoOrder(roots: readonly Expr[]): Expr[] {
  // Depth-first post-order with an explicit stack (an expression may be thousands of nodes deep).
  const seen = new Set<number>();
  const out: Expr[] = [];
  const stack: { e: Expr; kids: readonly Expr[]; next: number }[] = [];
  for (const r of roots) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    stack.push({ e: r, kids: children(r), next: 0 });
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.kids.length) {
        const c = top.kids[top.next++]!;
        if (!seen.has(c.id)) {
          seen.add(c.id);
          stack.push({ e: c, kids: children(c), next: 0 });
        }
      } else {
        stack.pop();
        out.push(top.e);
      }
    }
  }
  return out;
}

/** The longest path from each node down to a leaf, in nodes (a leaf has depth 1), without recursion. */
export function depths(roots: readonly Expr[], memo: Map<number, number> = new Map()): Map<number, number> {
  for (const e of topoOrder(roots)) {
    if (memo.has(e.id)) continue;
    let d = 0;
    for (const c of children(e)) d = Math.max(d, memo.get(c.id)!);
    memo.set(e.id, d + 1);
  }
  return memo;
}

/** How many times each node is used as a child, counted over the graph reachable from roots. */
export function useCounts(roots: readonly Expr[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const e of topoOrder(roots)) for (const c of children(e)) counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
  return counts;
}
