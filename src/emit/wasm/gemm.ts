// SIMD128 matrix products: C (+)= A B with A read through strides (so Aᵀ B is the same kernel),
// register-blocked 4 rows × 8 columns (8 f32x4 accumulators), a 1 × 16 block for matrix-vector
// shapes, and 4- and 1-column edges. Plus the packing helpers the kernels use.

import binaryen from 'binaryen';
import { FnBuilder, i32, v128, type X } from './builder.js';

export const GEMM = 'gemm';
export const PACK = 'packRows';
export const GEMM_NT = 'gemmNT';

/**
 * gemm(M, N, K, a, sai, sak, b, ldb, c, ldc, acc): C[i][j] (+)= Σ_k A(i, k) B[k][j], where
 * A(i, k) = a[i sai + k sak], B[k][j] = b[k ldb + j], C[i][j] = c[i ldc + j]; pointers in bytes,
 * strides in elements.
 */
export function addGemm(m: binaryen.Module): void {
  const P = ['M', 'N', 'K', 'a', 'sai', 'sak', 'b', 'ldb', 'c', 'ldc', 'acc'] as const;
  const f = new FnBuilder(m, P.map((p) => [p, i32] as const));
  const g = (n: string) => f.get(n);
  const i = f.local('i', i32), j = f.local('j', i32), k = f.local('k', i32), pb = f.local('pb', i32), sak4 = f.local('sak4', i32), ldb4 = f.local('ldb4', i32);
  const pa = [0, 1, 2, 3].map((r) => f.local(`pa${r}`, i32));
  const accs = Array.from({ length: 16 }, (_, q) => f.local(`acc${q}`, v128));
  const bv = [0, 1, 2, 3].map((q) => f.local(`bv${q}`, v128));
  const as = f.local('as', v128);
  const cAddr = (r: number, v: number) => f.iadd(g('c'), m.i32.shl(f.iadd(f.imul(f.iadd(g(i), f.c(r)), g('ldc')), g(j)), f.c(2)), f.c(16 * v));
  let label = 0;
  /** One mr × (4 nv) block (nv = 0: a single column, through lane loads and stores). */
  const block = (mr: number, nv: number): X => {
    const vecs = Math.max(nv, 1);
    const acc = (r: number, v: number) => accs[r * vecs + v]!;
    const loadC = (r: number, v: number) => (nv === 0 ? m.v128.load32_zero(0, 4, cAddr(r, 0)) : m.v128.load(0, 4, cAddr(r, v)));
    const init: X[] = [];
    for (let r = 0; r < mr; r++) {
      init.push(f.set(pa[r]!, f.iadd(g('a'), m.i32.shl(f.imul(f.iadd(g(i), f.c(r)), g('sai')), f.c(2)))));
      for (let v = 0; v < vecs; v++) init.push(f.set(acc(r, v), m.select(g('acc'), loadC(r, v), m.v128.const(new Uint8Array(16)))));
    }
    init.push(f.set(pb, f.iadd(g('b'), m.i32.shl(g(j), f.c(2)))));
    const body: X[] = [];
    for (let v = 0; v < vecs; v++) body.push(f.set(bv[v]!, nv === 0 ? m.v128.load32_zero(0, 4, g(pb)) : m.v128.load(16 * v, 4, g(pb))));
    for (let r = 0; r < mr; r++) {
      body.push(f.set(as, m.v128.load32_splat(0, 4, g(pa[r]!))));
      for (let v = 0; v < vecs; v++) body.push(f.set(acc(r, v), m.f32x4.add(f.get(acc(r, v)), m.f32x4.mul(f.get(as), f.get(bv[v]!)))));
      body.push(f.set(pa[r]!, f.iadd(g(pa[r]!), g(sak4))));
    }
    body.push(f.set(pb, f.iadd(g(pb), g(ldb4))));
    const stores: X[] = [];
    for (let r = 0; r < mr; r++) for (let v = 0; v < vecs; v++) {
      stores.push(nv === 0 ? m.v128.store32_lane(0, 4, 0, cAddr(r, 0), f.get(acc(r, v))) : m.v128.store(0, 4, cAddr(r, v), f.get(acc(r, v))));
    }
    const lk = `k${label++}`;
    return m.block(null, [...init, f.forLoop(k, f.c(0), m.i32.lt_s(g(k), g('K')), f.iadd(g(k), f.c(1)), body, lk), ...stores]);
  };
  /** Columns of one row block: wide blocks, then 4-wide, then single columns. */
  const columns = (mr: number, widths: readonly number[]): X => {
    const parts: X[] = [f.set(j, f.c(0))];
    for (const nv of widths) {
      const w = Math.max(nv, 1) * 4 / (nv === 0 ? 4 : 1);
      const lj = `j${label++}`;
      parts.push(m.block(`${lj}_out`, [m.loop(`${lj}_top`, m.block(null, [
        m.br(`${lj}_out`, m.i32.gt_s(f.iadd(g(j), f.c(w)), g('N'))),
        block(mr, nv),
        f.set(j, f.iadd(g(j), f.c(w))),
        m.br(`${lj}_top`),
      ]))]));
    }
    return m.block(null, parts);
  };
  const rows = (mr: number, widths: readonly number[]): X => {
    const li = `i${label++}`;
    return m.block(`${li}_out`, [m.loop(`${li}_top`, m.block(null, [
      m.br(`${li}_out`, m.i32.gt_s(f.iadd(g(i), f.c(mr)), g('M'))),
      columns(mr, widths),
      f.set(i, f.iadd(g(i), f.c(mr))),
      m.br(`${li}_top`),
    ]))]);
  };
  f.add(GEMM, m.block(null, [
    f.set(sak4, m.i32.shl(g('sak'), f.c(2))),
    f.set(ldb4, m.i32.shl(g('ldb'), f.c(2))),
    f.set(i, f.c(0)),
    rows(4, [2, 1, 0]),
    rows(1, [4, 1, 0]),
  ]));
  m.addFunctionExport(GEMM, GEMM);
}

/**
 * packRows(dst, rowOff, width, W, rows, cols, colOff, add, tr): dst[rowOff + i][0:width] (+)= W[i][colOff : colOff + width]
 * (a row copy, memory.copy); with add = 1 the reverse direction accumulates into W. With tr = 1 the
 * packed rows are W's columns: dst[rowOff + j][i] = W[colOff + i][j] (products Wᵀ v).
 */
export function addPack(m: binaryen.Module): void {
  const f = new FnBuilder(m, [['dst', i32], ['rowOff', i32], ['width', i32], ['W', i32], ['rows', i32], ['cols', i32], ['colOff', i32], ['add', i32], ['tr', i32]]);
  const i = f.local('i', i32), j = f.local('j', i32), d = f.local('d', i32), s = f.local('s', i32);
  const g = (n: string) => f.get(n);
  const elt = (p: string, q: X) => f.iadd(g(p), m.i32.shl(q, f.c(2)));
  const move = (src: X, dstAddr: () => X, srcAddr: () => X): X => m.if(g('add'),
    m.f32.store(0, 4, srcAddr(), m.f32.add(m.f32.load(0, 4, srcAddr()), m.f32.load(0, 4, dstAddr()))),
    m.f32.store(0, 4, dstAddr(), src));
  // transposed: packed element (rowOff + j, i) <-> W element (colOff + i, j)
  const pk = () => elt('dst', f.iadd(f.imul(f.iadd(g('rowOff'), g(j)), g('width')), g(i)));
  const wt = () => elt('W', f.iadd(f.imul(f.iadd(g('colOff'), g(i)), g('cols')), g(j)));
  f.add(PACK, m.if(g('tr'),
    f.forLoop(j, f.c(0), m.i32.lt_s(g(j), g('cols')), f.iadd(g(j), f.c(1)), [
      f.forLoop(i, f.c(0), m.i32.lt_s(g(i), g('width')), f.iadd(g(i), f.c(1)), [move(m.f32.load(0, 4, wt()), pk, wt)], 'ti'),
    ], 'tj'),
    f.forLoop(i, f.c(0), m.i32.lt_s(g(i), g('rows')), f.iadd(g(i), f.c(1)), [
      f.set(d, elt('dst', f.imul(f.iadd(g('rowOff'), g(i)), g('width')))),
      f.set(s, elt('W', f.iadd(f.imul(g(i), g('cols')), g('colOff')))),
      m.if(g('add'),
        f.forLoop(j, f.c(0), m.i32.lt_s(g(j), g('width')), f.iadd(g(j), f.c(1)), [
          m.f32.store(0, 4, elt(s, g(j)), m.f32.add(m.f32.load(0, 4, elt(s, g(j))), m.f32.load(0, 4, elt(d, g(j))))),
        ], 'pj'),
        m.memory.copy(g(d), g(s), m.i32.shl(g('width'), f.c(2)))),
    ], 'pi')));
}

/**
 * gemmNT(M, N, K, a, lda, b, ldb, c, ldc, acc): C[i][j] (+)= Σ_k A[i][k] B[j][k], as dot products along
 * k: 8 columns at a time (8 f32x4 accumulators, one load of A per 8 of B), then 4 and 1; the
 * accumulators of 4 columns are summed across lanes by a 4 × 4 transpose into one f32x4. Used for
 * products with a parameter read row-wise (W v with W not packed, in the backward); products with packed
 * weights, matrix-vector ones included, run over panels (panel.ts).
 */
export function addGemmNT(m: binaryen.Module): void {
  const P = ['M', 'N', 'K', 'a', 'lda', 'b', 'ldb', 'c', 'ldc', 'acc'] as const;
  const f = new FnBuilder(m, P.map((p) => [p, i32] as const));
  const g = (n: string) => f.get(n);
  const i = f.local('i', i32), j = f.local('j', i32), k = f.local('k', i32), pa = f.local('pa', i32), av = f.local('av', v128), ldb4 = f.local('ldb4', i32);
  const pb = f.local('pb', i32);
  const acc = Array.from({ length: 8 }, (_, q) => f.local(`s${q}`, v128));
  const t = [0, 1].map((q) => f.local(`t${q}`, v128));
  const shuf = (x: X, y: X, lanes: number[]) => m.i8x16.shuffle(x, y, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  /** [Σ acc[q0], Σ acc[q0+1], Σ acc[q0+2], Σ acc[q0+3]] (lane sums of four accumulators). */
  const sum4x4 = (q0: number): X => m.block(null, [
    f.set(t[0]!, m.f32x4.add(shuf(f.get(acc[q0]!), f.get(acc[q0 + 1]!), [0, 4, 1, 5]), shuf(f.get(acc[q0]!), f.get(acc[q0 + 1]!), [2, 6, 3, 7]))),
    f.set(t[1]!, m.f32x4.add(shuf(f.get(acc[q0 + 2]!), f.get(acc[q0 + 3]!), [0, 4, 1, 5]), shuf(f.get(acc[q0 + 2]!), f.get(acc[q0 + 3]!), [2, 6, 3, 7]))),
    m.f32x4.add(shuf(f.get(t[0]!), f.get(t[1]!), [0, 1, 4, 5]), shuf(f.get(t[0]!), f.get(t[1]!), [2, 3, 6, 7])),
  ], v128);
  const sum1 = (q: number) => {
    const l = (n: number) => m.f32x4.extract_lane(f.get(acc[q]!), n);
    return m.f32.add(m.f32.add(l(0), l(1)), m.f32.add(l(2), l(3)));
  };
  const cAt = (jj: X) => f.iadd(g('c'), m.i32.shl(f.iadd(f.imul(g(i), g('ldc')), jj), f.c(2)));
  /** w columns (1, 4 or 8) of row i: vector part over k, then single-k tail. */
  const cols = (w: number): X => {
    const body: X[] = [
      f.set(pa, f.iadd(g('a'), m.i32.shl(f.imul(g(i), g('lda')), f.c(2)))),
      f.set(pb, f.iadd(g('b'), f.imul(g(j), g(ldb4)))),
      ...acc.slice(0, w).map((x) => f.set(x, m.v128.const(new Uint8Array(16)))),
    ];
    const step = (lane: boolean): X[] => {
      const ld = (p: X) => (lane ? m.v128.load32_zero(0, 4, p) : m.v128.load(0, 4, p));
      const kk = () => m.i32.shl(g(k), f.c(2));
      const row = (q: number) => (q === 0 ? f.iadd(g(pb), kk()) : f.iadd(g(pb), f.imul(g(ldb4), f.c(q)), kk()));
      const out: X[] = [f.set(av, ld(f.iadd(g(pa), kk())))];
      for (let q = 0; q < w; q++) out.push(f.set(acc[q]!, m.f32x4.add(f.get(acc[q]!), m.f32x4.mul(f.get(av), ld(row(q))))));
      return out;
    };
    body.push(f.forLoop(k, f.c(0), m.i32.le_s(f.iadd(g(k), f.c(4)), g('K')), f.iadd(g(k), f.c(4)), step(false), `nk${w}`));
    body.push(m.block(`nt${w}_out`, [m.loop(`nt${w}_top`, m.block(null, [m.br(`nt${w}_out`, m.i32.ge_s(g(k), g('K'))), ...step(true), f.set(k, f.iadd(g(k), f.c(1))), m.br(`nt${w}_top`)]))]));
    if (w === 1) {
      const at = () => cAt(g(j));
      body.push(m.f32.store(0, 4, at(), m.f32.add(sum1(0), m.select(g('acc'), m.f32.load(0, 4, at()), m.f32.const(0)))));
    } else {
      for (let q0 = 0; q0 < w; q0 += 4) {
        const at = () => cAt(f.iadd(g(j), f.c(q0)));
        body.push(m.v128.store(0, 4, at(), m.f32x4.add(sum4x4(q0), m.select(g('acc'), m.v128.load(0, 4, at()), m.v128.const(new Uint8Array(16))))));
      }
    }
    return m.block(null, body);
  };
  const loopJ = (w: number): X => m.block(`nj${w}_out`, [m.loop(`nj${w}_top`, m.block(null, [
    m.br(`nj${w}_out`, m.i32.gt_s(f.iadd(g(j), f.c(w)), g('N'))), cols(w), f.set(j, f.iadd(g(j), f.c(w))), m.br(`nj${w}_top`),
  ]))]);
  f.add(GEMM_NT, m.block(null, [
    f.set(ldb4, m.i32.shl(g('ldb'), f.c(2))),
    f.forLoop(i, f.c(0), m.i32.lt_s(g(i), g('M')), f.iadd(g(i), f.c(1)), [f.set(j, f.c(0)), loopJ(8), loopJ(4), loopJ(1)], 'ni'),
  ]));
}

export const PANEL = 'packPanels';
/** Columns per packed panel. */
export const PANEL_W = 8;

/**
 * packPanels(src, N, K, dst): the rows of src [N][K] as panels of 8 columns of a [K][N] matrix:
 * dst[(n >> 3) K 8 + k 8 + (n & 7)] = src[n K + k]. The panels' padding columns are left as they are
 * (zero in a zeroed buffer).
 */
export function addPanels(m: binaryen.Module): void {
  const f = new FnBuilder(m, [['src', i32], ['N', i32], ['K', i32], ['dst', i32]]);
  const n = f.local('n', i32), k = f.local('k', i32), s = f.local('s', i32), d = f.local('d', i32);
  const g = (x: string) => f.get(x);
  f.add(PANEL, f.forLoop(n, f.c(0), m.i32.lt_s(g(n), g('N')), f.iadd(g(n), f.c(1)), [
    f.set(s, f.iadd(g('src'), m.i32.shl(f.imul(g(n), g('K')), f.c(2)))),
    f.set(d, f.iadd(g('dst'), m.i32.shl(f.iadd(f.imul(m.i32.shr_u(g(n), f.c(3)), m.i32.shl(g('K'), f.c(3))), m.i32.and(g(n), f.c(7))), f.c(2)))),
    f.forLoop(k, f.c(0), m.i32.lt_s(g(k), g('K')), f.iadd(g(k), f.c(1)), [
      m.f32.store(0, 4, g(d), m.f32.load(0, 4, g(s))),
      f.set(s, f.iadd(g(s), f.c(4))),
      f.set(d, f.iadd(g(d), f.c(32))),
    ], 'pk'),
  ], 'pn'));
}

export const PANEL_KN = 'packPanelsKN';

/**
 * packPanelsKN(src, K, N, dst): a row-major [K][N] matrix as panels of 8 columns:
 * dst[(n >> 3) K 8 + k 8 + (n & 7)] = src[k N + n] (products A W with W packed, as in the backward).
 * Padding columns are left as they are (zero in a zeroed buffer).
 */
export function addPanelsKN(m: binaryen.Module): void {
  const f = new FnBuilder(m, [['src', i32], ['K', i32], ['N', i32], ['dst', i32]]);
  const n = f.local('n', i32), k = f.local('k', i32), s = f.local('s', i32), d = f.local('d', i32), kp = f.local('kp', i32);
  const g = (x: string) => f.get(x);
  // whole panels: two f32x4 per k; then the last panel's columns one by one
  const whole = f.forLoop(n, f.c(0), m.i32.le_s(f.iadd(g(n), f.c(PANEL_W)), g('N')), f.iadd(g(n), f.c(PANEL_W)), [
    f.set(s, f.iadd(g('src'), m.i32.shl(g(n), f.c(2)))),
    f.set(d, f.iadd(g('dst'), f.imul(m.i32.shr_u(g(n), f.c(3)), g(kp)))),
    f.forLoop(k, f.c(0), m.i32.lt_s(g(k), g('K')), f.iadd(g(k), f.c(1)), [
      m.v128.store(0, 4, g(d), m.v128.load(0, 4, g(s))),
      m.v128.store(16, 4, g(d), m.v128.load(16, 4, g(s))),
      f.set(s, f.iadd(g(s), m.i32.shl(g('N'), f.c(2)))),
      f.set(d, f.iadd(g(d), f.c(32))),
    ], 'kk'),
  ], 'kn');
  const edge = f.forLoop(n, g(n), m.i32.lt_s(g(n), g('N')), f.iadd(g(n), f.c(1)), [
    f.set(s, f.iadd(g('src'), m.i32.shl(g(n), f.c(2)))),
    f.set(d, f.iadd(g('dst'), f.iadd(f.imul(m.i32.shr_u(g(n), f.c(3)), g(kp)), m.i32.shl(m.i32.and(g(n), f.c(7)), f.c(2))))),
    f.forLoop(k, f.c(0), m.i32.lt_s(g(k), g('K')), f.iadd(g(k), f.c(1)), [
      m.f32.store(0, 4, g(d), m.f32.load(0, 4, g(s))),
      f.set(s, f.iadd(g(s), m.i32.shl(g('N'), f.c(2)))),
      f.set(d, f.iadd(g(d), f.c(32))),
    ], 'ke'),
  ], 'ne');
  f.add(PANEL_KN, m.block(null, [f.set(kp, m.i32.shl(g('K'), f.c(5))), whole, edge]));
}
