// The product with packed weights, C (+)= A B with B in panels of 8 columns: the kernels' main cost.
// A's rows are copied, per band and per chunk of k, into a scratch area at a fixed address in groups
// of 4 rows interleaved along k, so the 4 × 8 register block (8 f32x4 accumulators) reads A through one
// pointer with constant offsets (+11-25 % over four row pointers). A 6 × 8 block was slower: without FMA
// it needs 12 accumulators, 2 B vectors, a product and the broadcasts, and V8 (15 xmm registers) spills.

import type binaryen from 'binaryen';
import { FnBuilder, i32, v128, type X } from './builder.js';
import { PANEL_W } from './gemm.js';

export const GEMM_PANEL = 'gemmPanel';
/** The scratch area of gemmPanel (bytes from SCRATCH); the memory allocator starts at HEAP_START. */
export const SCRATCH = 16;
/** Floats of A one band holds: a band's rows × its chunk of k (24 KiB, with an 8 KiB panel inside a 32 KiB L1). */
const BAND_FLOATS = 6144;
/** The longest chunk of k (longer K is split into equal chunks, accumulating). */
const KC = 256;
export const SCRATCH_BYTES = 4 * BAND_FLOATS;
export const HEAP_START = SCRATCH + SCRATCH_BYTES;

/**
 * gemmPanel(M, N, K, a, lda, b, c, ldc, acc): C[i][j] (+)= Σ_k A[i][k] B[k][j], with A row-major (leading
 * dimension lda) and B in panels of 8 columns (packPanels); acc = 1 accumulates.
 * The first M & ~3 rows: k in chunks of at most KC; rows in bands whose A rows (of the chunk) fill the
 * scratch; in a band, panel by panel (the panel stays in L1 while every 4-row block of the band passes).
 * The remaining rows (all of a matrix-vector product at batch 1): one by one, panel by panel.
 */
export function addGemmPanel(m: binaryen.Module): void {
  const P = ['M', 'N', 'K', 'a', 'lda', 'b', 'c', 'ldc', 'acc'] as const;
  const f = new FnBuilder(m, P.map((p) => [p, i32] as const));
  const g = (n: string) => f.get(n);
  const L = (n: string) => f.local(n, i32);
  const i = L('i'), j = L('j'), pb0 = L('pb0'), pb = L('pb'), lda4 = L('lda4'), kp = L('kp'), pa = L('pa'), pe = L('pe');
  const mB = L('mB'), mc = L('mc'), i0 = L('i0'), iEnd = L('iEnd'), k0 = L('k0'), kc = L('kc'), kl = L('kl'), ac = L('ac'), src = L('src'), dst = L('dst');
  const accs = Array.from({ length: 8 }, (_, q) => f.local(`acc${q}`, v128));
  const b0 = f.local('b0', v128), b1 = f.local('b1', v128), s = f.local('s', v128);
  const zero = () => m.v128.const(new Uint8Array(16));
  const fadd = (x: X, y: X) => m.f32x4.add(x, y), fmul = (x: X, y: X) => m.f32x4.mul(x, y);
  const lt = (x: X, y: X) => m.i32.lt_s(x, y);
  let label = 0;
  /** while (cond) body */
  const loop = (cond: () => X, body: X[]): X => {
    const l = `gp${label++}`;
    return m.block(`${l}_out`, [m.loop(`${l}_top`, m.block(null, [m.br(`${l}_out`, m.i32.eqz(cond())), ...body, m.br(`${l}_top`)]))]);
  };
  /** do body while (cond) */
  const doWhile = (body: X[], cond: () => X): X => {
    const l = `gp${label++}`;
    return m.loop(`${l}_top`, m.block(null, [...body, m.br(`${l}_top`, cond())]));
  };
  const cRow = (row: number, col: number) => f.iadd(g('c'), m.i32.shl(f.iadd(f.imul(f.iadd(g(i), f.c(row)), g('ldc')), g(j)), f.c(2)), f.c(4 * col));
  /** C (+)= one f32x4 at row i + row, columns j + col .. j + col + 3 (all inside C). */
  const put4 = (row: number, col: number, v: X, add: boolean): X => m.v128.store(0, 4, cRow(row, col), add ? fadd(v, m.v128.load(0, 4, cRow(row, col))) : v);
  /**
   * Stores f32x4s at columns j.. (n of them per row); `flag`: accumulate. A branch, not a select: C is not
   * read when it is overwritten (a large C is not in cache, and the load would stall every block).
   */
  const putRows = (rows: number, n: number, acc: (row: number, v: number) => X, flag: string): X => {
    const st = (add: boolean) => m.block(null, Array.from({ length: rows * n }, (_, q) => put4(Math.floor(q / n), 4 * (q % n), acc(Math.floor(q / n), q % n), add)));
    return m.if(g(flag), st(true), st(false));
  };
  /** Stores two f32x4 per row at columns j..j+7, fewer at the right edge of C. */
  const store8 = (rows: number, acc: (row: number, v: number) => X, flag: string): X => {
    const full = putRows(rows, 2, acc, flag), edge: X[] = [];
    for (let q = 0; q < rows; q++) {
      for (let l = 0; l < PANEL_W; l++) {
        const at = () => cRow(q, l);
        edge.push(m.if(lt(f.iadd(g(j), f.c(l)), g('N')),
          m.f32.store(0, 4, at(), m.f32.add(m.f32x4.extract_lane(acc(q, l >> 2), l & 3), m.select(g(flag), m.f32.load(0, 4, at()), m.f32.const(0))))));
      }
    }
    return m.if(m.i32.le_s(f.iadd(g(j), f.c(PANEL_W)), g('N')), full, m.block(null, edge));
  };
  /** pa = the scratch group of row i (rows i0.. of the band packed group after group: (i - i0) kl floats before it). */
  const groupAt = (): X => f.iadd(f.c(SCRATCH), m.i32.shl(f.imul(m.i32.sub(g(i), g(i0)), g(kl)), f.c(2)));
  /** One rows × 8 block at rows i.., columns j..j+7, reading the packed group and the panel at pb0. */
  const block = (rows: number): X => m.block(null, [
    ...accs.slice(0, 2 * rows).map((a) => f.set(a, zero())),
    f.set(pa, groupAt()), f.set(pe, f.iadd(g(pa), f.imul(g(kl), f.c(4 * rows)))), f.set(pb, g(pb0)),
    m.if(lt(g(pa), g(pe)), doWhile([
      f.set(b0, m.v128.load(0, 4, g(pb))), f.set(b1, m.v128.load(16, 4, g(pb))),
      ...Array.from({ length: rows }, (_, q) => [
        f.set(s, m.v128.load32_splat(4 * q, 4, g(pa))),
        f.set(accs[2 * q]!, fadd(f.get(accs[2 * q]!), fmul(f.get(s), f.get(b0)))),
        f.set(accs[2 * q + 1]!, fadd(f.get(accs[2 * q + 1]!), fmul(f.get(s), f.get(b1)))),
      ]).flat(),
      f.set(pa, f.iadd(g(pa), f.c(4 * rows))), f.set(pb, f.iadd(g(pb), f.c(32))),
    ], () => lt(g(pa), g(pe)))),
    store8(rows, (q, v) => f.get(accs[2 * q + v]!), ac),
    f.set(i, f.iadd(g(i), f.c(rows))),
  ]);
  /** Copies A[i0..iEnd][k0..k0+kl] into the scratch as groups of 4 rows, each [k][4]. */
  const packBand = (): X => m.block(null, [
    f.set(i, g(i0)),
    loop(() => lt(g(i), g(iEnd)), [
      f.set(dst, groupAt()),
      f.set(src, f.iadd(g('a'), f.imul(g(i), g(lda4)), m.i32.shl(g(k0), f.c(2)))),
      f.set(pe, f.iadd(g(src), m.i32.shl(g(kl), f.c(2)))),
      loop(() => lt(g(src), g(pe)), [
        ...[0, 1, 2, 3].map((q) => m.f32.store(4 * q, 4, g(dst), m.f32.load(0, 4, q === 0 ? g(src) : f.iadd(g(src), f.imul(g(lda4), f.c(q)))))),
        f.set(src, f.iadd(g(src), f.c(4))),
        f.set(dst, f.iadd(g(dst), f.c(16))),
      ]),
      f.set(i, f.iadd(g(i), f.c(4))),
    ]),
  ]);
  /**
   * One row i over one panel (columns j..j+7, edge-aware: the last panels of a row), all of k: k unrolled by 2 into 2 pairs of
   * accumulators, read through two pointers with constant offsets. (Unrolled by 4, V8 spills: it hoists
   * the loads.) 1.3-1.7× the dot products along B's rows (gemmNT) that matrix-vector products used before.
   */
  const row = (): X => m.block(null, [
    ...accs.slice(0, 4).map((a) => f.set(a, zero())),
    f.set(pa, f.iadd(g('a'), f.imul(g(i), g(lda4)))), f.set(pb, g(pb0)),
    f.set(pe, f.iadd(g(pa), m.i32.shl(m.i32.and(g('K'), f.c(~1)), f.c(2)))),
    m.if(lt(g(pa), g(pe)), doWhile([
      ...[0, 1].flatMap((q) => [
        f.set(s, m.v128.load32_splat(4 * q, 4, g(pa))),
        f.set(accs[2 * q]!, fadd(f.get(accs[2 * q]!), fmul(f.get(s), m.v128.load(32 * q, 4, g(pb))))),
        f.set(accs[2 * q + 1]!, fadd(f.get(accs[2 * q + 1]!), fmul(f.get(s), m.v128.load(32 * q + 16, 4, g(pb))))),
      ]),
      f.set(pa, f.iadd(g(pa), f.c(8))), f.set(pb, f.iadd(g(pb), f.c(64))),
    ], () => lt(g(pa), g(pe)))),
    m.if(m.i32.and(g('K'), f.c(1)), m.block(null, [
      f.set(s, m.v128.load32_splat(0, 4, g(pa))),
      f.set(accs[0]!, fadd(f.get(accs[0]!), fmul(f.get(s), m.v128.load(0, 4, g(pb))))),
      f.set(accs[1]!, fadd(f.get(accs[1]!), fmul(f.get(s), m.v128.load(16, 4, g(pb))))),
    ])),
    store8(1, (_q, v) => fadd(f.get(accs[v]!), f.get(accs[2 + v]!)), 'acc'),
  ]);
  /**
   * One row i over three panels (columns j..j+23, all inside C), all of k: 6 accumulators, 14 xmm registers
   * without spills, 4-14 % over row() (whose 4 accumulators make the chain of additions the bound).
   */
  const row3 = (): X => m.block(null, [
    ...accs.slice(0, 6).map((a) => f.set(a, zero())),
    f.set(pa, f.iadd(g('a'), f.imul(g(i), g(lda4)))), f.set(pb, g(pb0)), f.set(src, f.iadd(g(pb0), g(kp))), f.set(dst, f.iadd(g(src), g(kp))),
    f.set(pe, f.iadd(g(pa), m.i32.shl(g('K'), f.c(2)))),
    m.if(lt(g(pa), g(pe)), doWhile([
      f.set(s, m.v128.load32_splat(0, 4, g(pa))),
      ...[pb, src, dst].flatMap((p, q) => [0, 1].map((v) => f.set(accs[2 * q + v]!, fadd(f.get(accs[2 * q + v]!), fmul(f.get(s), m.v128.load(16 * v, 4, g(p))))))),
      f.set(pa, f.iadd(g(pa), f.c(4))), f.set(pb, f.iadd(g(pb), f.c(32))), f.set(src, f.iadd(g(src), f.c(32))), f.set(dst, f.iadd(g(dst), f.c(32))),
    ], () => lt(g(pa), g(pe)))),
    putRows(1, 6, (_q, v) => f.get(accs[v]!), 'acc'),
  ]);
  f.add(GEMM_PANEL, m.block(null, [
    f.set(lda4, m.i32.shl(g('lda'), f.c(2))),
    f.set(kp, m.i32.shl(g('K'), f.c(5))),
    f.set(mB, m.i32.and(g('M'), f.c(~3))),
    // chunks of k: ceil(K / KC) of equal length (one, of length 0, when K = 0: C = 0 or unchanged)
    f.set(kc, m.i32.div_u(f.iadd(g('K'), f.c(KC - 1)), f.c(KC))),
    f.set(kc, m.select(g(kc), m.i32.div_u(f.iadd(g('K'), m.i32.sub(g(kc), f.c(1))), m.select(g(kc), g(kc), f.c(1))), f.c(0))),
    f.set(mc, m.i32.and(m.i32.div_u(f.c(BAND_FLOATS), m.select(g(kc), g(kc), f.c(1))), f.c(~3))),
    f.set(k0, f.c(0)),
    m.if(m.i32.gt_s(g(mB), f.c(0)), doWhile([
      f.set(kl, m.select(lt(g(kc), m.i32.sub(g('K'), g(k0))), g(kc), m.i32.sub(g('K'), g(k0)))),
      f.set(ac, m.i32.or(g('acc'), m.i32.gt_s(g(k0), f.c(0)))),
      f.set(i0, f.c(0)),
      loop(() => lt(g(i0), g(mB)), [
        f.set(iEnd, f.iadd(g(i0), g(mc))),
        f.set(iEnd, m.select(lt(g(iEnd), g(mB)), g(iEnd), g(mB))),
        packBand(),
        f.set(j, f.c(0)), f.set(pb0, f.iadd(g('b'), m.i32.shl(g(k0), f.c(5)))),
        loop(() => lt(g(j), g('N')), [
          f.set(i, g(i0)),
          loop(() => lt(g(i), g(iEnd)), [block(4)]),
          f.set(j, f.iadd(g(j), f.c(PANEL_W))),
          f.set(pb0, f.iadd(g(pb0), g(kp))),
        ]),
        f.set(i0, g(iEnd)),
      ]),
      f.set(k0, f.iadd(g(k0), g(kc))),
    ], () => lt(g(k0), g('K')))),
    f.set(i, g(mB)),
    // the remaining rows (all of a matrix-vector product): one by one, three panels at a time, then one by one
    loop(() => lt(g(i), g('M')), [
      f.set(j, f.c(0)), f.set(pb0, g('b')),
      loop(() => m.i32.le_s(f.iadd(g(j), f.c(3 * PANEL_W)), g('N')), [row3(), f.set(j, f.iadd(g(j), f.c(3 * PANEL_W))), f.set(pb0, f.iadd(g(pb0), f.imul(g(kp), f.c(3))))]),
      loop(() => lt(g(j), g('N')), [row(), f.set(j, f.iadd(g(j), f.c(PANEL_W))), f.set(pb0, f.iadd(g(pb0), g(kp)))]),
      f.set(i, f.iadd(g(i), f.c(1))),
    ]),
  ]));
  m.addFunctionExport(GEMM_PANEL, GEMM_PANEL);
}
