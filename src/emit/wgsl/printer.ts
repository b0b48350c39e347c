// WGSL expression printer over the IR: one method per node kind, values read through the kernel's environment.

import { InvariantError } from '../../spec/diagnostic.js';
import { assertNever, type Broadcast, type Concat, type Const, type Expr, type Leaf, type MapE, type MatVec, type Reduce, type Slice, type Zip, type ZipOp } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import { type WgslFunctions, wgslNumber } from './functions.js';

/** The element being read: step, batch row, and index within the vector (all WGSL u32 expressions). */
export interface At {
  readonly t: string;
  readonly b: string;
  readonly j: string;
}

/** What a printer needs from the kernel around it. */
export interface PrintEnv {
  readonly fns: WgslFunctions;
  /**
   * A node that is not printed structurally: a `let` of the current group, or a buffer read for leaves and
   * stored values. `shifted` is true when the element differs from the invocation's own (no `let` applies).
   */
  read(e: Expr, at: At, shifted: boolean): string | undefined;
  /** Element (row, col) of a matrix parameter. */
  matrix(m: Leaf, row: string, col: string): string;
  /** The helper function that reads a concatenation at (t, b, j). */
  concat(e: Concat): string;
}

/** u32 WGSL for a symbolic size: `(2u * hidden_ + input_)`; size names map through `size`. */
export function dimWgsl(d: Dim, size: (name: string) => string): string {
  const parts: string[] = [];
  for (const [n, c] of d.terms) parts.push(c === 1 ? size(n) : c === -1 ? `-${size(n)}` : `${c}u * ${size(n)}`);
  if (d.constant !== 0 || parts.length === 0) parts.push(`${d.constant}u`);
  const s = parts.join(' + ').replace(/\+ -/g, '- ');
  return parts.length > 1 ? `(${s})` : s;
}

const ZIP_OPS = { add: '+', sub: '-', mul: '*', div: '/' } as const satisfies Record<ZipOp, string>;
const PRECEDENCE = { add: 1, sub: 1, mul: 2, div: 2 } as const satisfies Record<ZipOp, number>;

/**
 * Whether an operand of `parent` needs parentheses. Left operands of equal precedence need none (the
 * operators are left-associative); right ones keep them, so float evaluation order stays as derived.
 */
export function needsParens(child: Expr, parent: ZipOp | 'neg', right: boolean): boolean {
  if (child.kind !== 'zip') return false;
  if (parent === 'neg') return true;
  const c = PRECEDENCE[child.op];
  const p = PRECEDENCE[parent];
  return c < p || (c === p && right);
}

export class WgslPrinter {
  constructor(
    private readonly env: PrintEnv,
    private readonly size: (name: string) => string,
  ) {}

  /** e at element `at`, as a WGSL f32 expression. */
  expr(e: Expr, at: At, shifted = false): string {
    return this.env.read(e, at, shifted) ?? this.node(e, at, shifted);
  }

  /** e as an operand of `parent`, parenthesized where precedence needs it. */
  operand(e: Expr, at: At, shifted: boolean, parent: ZipOp | 'neg', right: boolean): string {
    const r = this.env.read(e, at, shifted);
    if (r !== undefined) return r;
    const s = this.node(e, at, shifted);
    return needsParens(e, parent, right) ? `(${s})` : s;
  }

  /** The defining expression of e itself (its children resolved through the environment). */
  node(e: Expr, at: At, shifted = false): string {
    switch (e.kind) {
      case 'leaf':
        return this.leaf(e);
      case 'const':
        return this.constant(e);
      case 'matvec':
        return this.matvec(e);
      case 'map':
        return this.map(e, at, shifted);
      case 'zip':
        return this.zip(e, at, shifted);
      case 'concat':
        return this.concat(e, at);
      case 'slice':
        return this.slice(e, at);
      case 'reduce':
        throw new InvariantError('a reduction must be bound to a loop, not inlined');
      case 'broadcast':
        return this.broadcast(e, at);
      default:
        return assertNever(e, 'expression kind');
    }
  }

  dim(d: Dim): string {
    return dimWgsl(d, this.size);
  }

  /**
   * y_i = Σ_k M[i, k] v_k (or Mᵀ: Σ_k M[k, i] v_k) as statements accumulating into `name`; the vector is
   * read at k, another element than the invocation's, so it never comes from a `let`.
   */
  matvecStatements(e: MatVec, name: string, at: At): string[] {
    if (e.m.kind !== 'leaf') throw new InvariantError('the matrix of a product must be a parameter');
    const inner = this.dim(e.transpose ? e.m.shape[0]! : e.m.shape[1]!);
    const k = 'k_';
    const m = e.transpose ? this.env.matrix(e.m, k, at.j) : this.env.matrix(e.m, at.j, k);
    const v = this.operand(e.v, { ...at, j: k }, true, 'mul', true);
    return [`var ${name} = 0.0;`, `for (var ${k} = 0u; ${k} < ${inner}; ${k}++) {`, `  ${name} += ${m} * ${v};`, '}'];
  }

  /** Σ_k a_k (divided by n for a mean) as statements accumulating into `name`; a is read at k, never from a `let`. */
  reduceStatements(e: Reduce, name: string, at: At): string[] {
    const n = this.dim(e.a.shape[0]!);
    const k = 'k_';
    const lines = [`var ${name} = 0.0;`, `for (var ${k} = 0u; ${k} < ${n}; ${k}++) {`, `  ${name} += ${this.expr(e.a, { ...at, j: k }, true)};`, '}'];
    if (e.mean) lines.push(`${name} = ${name} / f32(${n});`);
    return lines;
  }

  // A per-row scalar at every element: its operand's element 0 (divided by n for the transpose of a mean).
  private broadcast(e: Broadcast, at: At): string {
    const a = this.operand(e.a, { ...at, j: '0u' }, true, 'div', false);
    return e.mean ? `(${a} / f32(${this.dim(e.shape[0]!)}))` : a;
  }

  private leaf(e: Leaf): string {
    throw new InvariantError(`leaf '${e.name}' (${e.role}) has no buffer in this kernel`);
  }

  private constant(e: Const): string {
    return wgslNumber(e.value);
  }

  private matvec(e: MatVec): string {
    throw new InvariantError(`product ${e.m.kind === 'leaf' ? e.m.name : ''} must be bound to a loop, not inlined`);
  }

  private map(e: MapE, at: At, shifted: boolean): string {
    if (e.fn === 'neg') return `-${this.operand(e.a, at, shifted, 'neg', false)}`;
    return `${this.env.fns.helperFor(e.fn)}(${this.expr(e.a, at, shifted)})`;
  }

  private zip(e: Zip, at: At, shifted: boolean): string {
    return `${this.operand(e.a, at, shifted, e.op, false)} ${ZIP_OPS[e.op]} ${this.operand(e.b, at, shifted, e.op, true)}`;
  }

  // [a; b; ...]_j: a helper function picks the part by j.
  private concat(e: Concat, at: At): string {
    return `${this.env.concat(e)}(${at.t}, ${at.b}, ${at.j})`;
  }

  // a[start : start + length]_j = a_{start + j}
  private slice(e: Slice, at: At): string {
    const start = this.dim(e.start);
    return this.expr(e.a, { ...at, j: start === '0u' ? at.j : `${at.j} + ${start}` }, true);
  }
}
