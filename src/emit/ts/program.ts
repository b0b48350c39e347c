// The kernel schedule as data: buffers, packed products and fused phases, recorded while the TS
// printer prints them, so other CPU printers (src/emit/wasm) follow exactly the same schedule.

import type { Expr } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';

/** An integer: a sum of monomials over size names (`$hidden`) and runtime values (`@steps`, `@batch`, `@step`). */
export type IntX = readonly { readonly k: number; readonly syms: readonly string[] }[];

export const numX = (v: number): IntX => (v === 0 ? [] : [{ k: v, syms: [] }]);
export const symX = (s: '@steps' | '@batch' | '@step'): IntX => [{ k: 1, syms: [s] }];
export const dimX = (d: Dim): IntX => [...d.terms.map(([n, k]) => ({ k, syms: [`$${n}`] })), ...numX(d.constant)];
export const addX = (...xs: IntX[]): IntX => xs.flat();
export const mulX = (...xs: IntX[]): IntX =>
  xs.reduce<IntX>((acc, x) => acc.flatMap((a) => x.map((b) => ({ k: a.k * b.k, syms: [...a.syms, ...b.syms] }))), [{ k: 1, syms: [] }]);

/** Where a value lives: a buffer, indexed per the layout at (step, row), plus off + col. */
/** 'scalar' is one number shared by every row and column (a scalar parameter); a store into it with += sums over both. */
export type Layout = 'seq' | 'seqNext' | 'row' | 'param' | 'scalar';
export interface PLoc {
  readonly buf: string;
  readonly layout: Layout;
  readonly n: Dim;
  readonly off?: Dim;
}
/** How a fused pass reads a node it does not compute: one location, or the sum of packed product outputs. */
export type PRead = { readonly kind: 'loc'; readonly loc: PLoc } | { readonly kind: 'sum'; readonly locs: readonly PLoc[] };

export interface PStore {
  readonly value: Expr;
  readonly loc: PLoc;
  readonly op: '=' | '+=';
}

/** A buffer argument of a product: buf + off, with leading dimension ld (all in elements). */
export interface PMat {
  readonly buf: string;
  readonly off: IntX;
  readonly ld: IntX;
}

export type Op =
  /**
   * Rows of W[:, colOff:colOff+width] into rows rowOff.. of a packed [rows][width] matrix (unpack: += back);
   * with transpose, the columns of W[colOff:colOff+width, :] (a product Wᵀ v).
   */
  | { readonly kind: 'pack' | 'unpack'; readonly packed: string; readonly rowOff: Dim; readonly width: Dim; readonly W: string; readonly rows: Dim; readonly cols: Dim; readonly colOff: Dim; readonly transpose: boolean }
  /** C = A B (NN), A Bᵀ (NT) or Aᵀ B (TN); C += ... when accumulate. */
  | { readonly kind: 'gemm'; readonly form: 'NT' | 'NN' | 'TN'; readonly M: IntX; readonly N: IntX; readonly K: IntX; readonly a: PMat; readonly b: PMat; readonly c: PMat; readonly accumulate: boolean }
  /** One fused elementwise pass over every batch row: `nodes` in order, then `stores`. */
  | { readonly kind: 'phase'; readonly nodes: readonly Expr[]; readonly stores: readonly PStore[]; readonly read: (e: Expr) => PRead | undefined }
  /** Forward: rows past their length copy their previous state into this step. */
  | { readonly kind: 'padCarry' }
  /** Backward: δs_t = carry + dL/ds_t (zero on padded steps). */
  | { readonly kind: 'seedIn' }
  /** Backward: a state adjoint that is a constant. */
  | { readonly kind: 'fill'; readonly buf: string; readonly value: number }
  /** Backward: padded rows pass δ through, then carry and next swap. */
  | { readonly kind: 'padPass' };

export interface PBuffer {
  readonly name: string;
  /** Length in elements. */
  readonly len: IntX;
}

export interface Program {
  /** Forward buffers: states over time ([steps + 1][batch][n]), tapes, packed weights, scratch and product outputs. */
  readonly fwdBuffers: readonly PBuffer[];
  readonly fwdPre: readonly Op[];
  readonly fwdStep: readonly Op[];
  /** Backward buffers (gradients, δ buffers, carries, scratch). */
  readonly bwdBuffers: readonly PBuffer[];
  readonly bwdStep: readonly Op[];
  readonly bwdPost: readonly Op[];
  /** Buffer names by role, for the caller. */
  readonly stateSeq: ReadonlyMap<string, string>;
  readonly tapeBufs: readonly string[];
  readonly packed: readonly string[];
  readonly grads: ReadonlyMap<string, string>;
  readonly dx: ReadonlyMap<string, string>;
  readonly dIn: ReadonlyMap<string, string>;
  readonly carry: ReadonlyMap<string, string>;
  readonly carryNext: ReadonlyMap<string, string>;
}
