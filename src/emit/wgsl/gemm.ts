// Tiled GEMM entry points: the products outside the time loop (x-projections of all steps, dx of all steps) and
// the weight gradients summed over all (t, b) rows, all from one template with printed loaders and stores.

import type { GradTerm } from '../../derive/reverse.js';
import { InvariantError } from '../../spec/diagnostic.js';
import type { Expr, Leaf, MatVec } from '../../ir/expr.js';
import { addDims, type Dim } from '../../ir/shape.js';
import type { GemmTile } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE } from '../../runtime/webgpu/types.js';
import type { Homes, KernelEnv } from './env.js';
import { dim, type ParamLayout } from './layout.js';
import { notation } from './notation.js';
import type { BoundValue } from './schedule.js';

/**
 * 16 x 16 threads, each computing an 8 x 8 block of C (rows ty·4 + i and 64 + ty·4 + i, columns tx·4 + j and
 * 64 + tx·4 + j, so the vec4 reads of shared memory are consecutive across threads): a 128 x 128 tile of C per
 * workgroup. K is staged 8 at a time through two shared buffers (2 x 2 x 4 KiB): each thread loads the next stage
 * into registers while it computes on the current one, one barrier per stage. Per k a thread reads 4 vec4 of
 * shared memory for 64 FMAs.
 */
export const GEMM_TILE: GemmTile = { rows: 128, cols: 128, depth: 8, threads: 256 };
const SIDE = 16;
const QUADS = GEMM_TILE.rows / 4; // vec4 per k row of a stage (rows = cols)
const STAGE = GEMM_TILE.depth * QUADS; // vec4 per stage buffer
if (GEMM_TILE.rows !== GEMM_TILE.cols || GEMM_TILE.rows !== 8 * SIDE || STAGE !== GEMM_TILE.threads) throw new InvariantError('GEMM: a 128 x 128 tile of 8 x 8 per thread, one vec4 per thread per stage');

/** Threads per side of a GEMM workgroup. */
export const GEMM_SIDE = SIDE;

/** Module-scope shared memory of every GEMM entry of a shader: two stages of the A tile [depth][rows] and B tile [depth][cols], as vec4. */
export const GEMM_SHARED = [
  '// GEMM tiles in workgroup memory, two stages each: A as [stage][k][m / 4], B as [stage][k][n / 4]',
  `var<workgroup> gemm_a_: array<vec4<f32>, ${2 * STAGE}>;`,
  `var<workgroup> gemm_b_: array<vec4<f32>, ${2 * STAGE}>;`,
];

export interface GemmEntry {
  name: string;
  comment: string;
  /** Helper functions (the loaders) placed before the entry. */
  helpers: string;
  body: string;
}

/** What one GEMM computes: C[m][n] (+)= Σ_k A(m, k) B(k, n), with A, B and the store printed as WGSL. */
interface GemmSpec {
  name: string;
  comment: string;
  m: string;
  n: string;
  k: string;
  /** Statements before the loaders' return, given m_ and k_ (A) or k_ and n_ (B). */
  loadA: string[];
  loadB: string[];
  /** Statements storing `v_` at (m_, n_). */
  store: string[];
  /** Along which index consecutive addresses of A and B lie: k, or the element (m for A, n for B). */
  along: { a: 'k' | 'e'; b: 'k' | 'e' };
}

const indent = (lines: readonly string[], by: string): string => lines.map((l) => `${by}${l}`).join('\n');

/** The kernel body of one GEMM: stage A and B tiles through shared memory (double-buffered), 8 x 8 per thread. */
function gemmBody(g: GemmSpec): string {
  const T = GEMM_TILE;
  const lines: string[] = [
    `let m_size_ = ${g.m};`,
    `let n_size_ = ${g.n};`,
    `let k_size_ = ${g.k};`,
    `let m0_ = wid_.y * ${T.rows}u;`,
    `let n0_ = wid_.x * ${T.cols}u;`,
    `let tx_ = lid_ % ${SIDE}u;`,
    `let ty_ = lid_ / ${SIDE}u;`,
    // acc_[2 i + h]: row i of the thread's 8, columns of half h (4 each).
    'var acc_: array<vec4<f32>, 16>;',
    'var ra_ = vec4<f32>();',
    'var rb_ = vec4<f32>();',
  ];
  // Each thread stages one vec4 of each operand per stage. Along the element: 4 consecutive elements at one k,
  // neighbouring threads the next 4 elements. Along k: 4 consecutive k of one element, neighbouring threads the
  // next 4 k, then the next element; stored transposed, one component at a time.
  // Every index into a private array or vector is a constant (the copies per component are printed): an index
  // only known at run time would put the accumulators in local memory on most GPUs.
  const byK = (w: 'a' | 'b') => g.along[w] === 'k';
  const comp = ['x', 'y', 'z', 'w'];
  // A thread's 4 values lie along k (k_ + c at element e0_) or along the element (e0_ + c at k_). Inside the
  // matrix (every tile but the last in each direction) they are read unguarded, 4 consecutive addresses.
  const load = (w: 'a' | 'b', limit: string, origin: string, k0: string): string[] => {
    const reg = `r${w}_`;
    const [k, e] = byK(w) ? [`${k0} + (lid_ % 2u) * 4u`, `${origin} + lid_ / 2u`] : [`${k0} + lid_ / ${QUADS}u`, `${origin} + (lid_ % ${QUADS}u) * 4u`];
    const at = (c: number): [string, string] => (c === 0 ? ['k_', 'e0_'] : byK(w) ? [`k_ + ${c}u`, 'e0_'] : ['k_', `e0_ + ${c}u`]);
    const call = (c: number) => `${g.name}_${w}_(${at(c)[1]}, ${at(c)[0]})`;
    const inside = byK(w) ? `e0_ < ${limit} && k_ + 3u < k_size_` : `k_ < k_size_ && e0_ + 3u < ${limit}`;
    return [
      '{',
      `  let k_ = ${k};`,
      `  let e0_ = ${e};`,
      `  if (${inside}) {`,
      `    ${reg} = vec4<f32>(${[0, 1, 2, 3].map(call).join(', ')});`,
      '  } else {',
      `    ${reg} = vec4<f32>();`,
      ...[0, 1, 2, 3].flatMap((c) => [`    if (${at(c)[0]} < k_size_ && ${at(c)[1]} < ${limit}) {`, `      ${reg}.${comp[c]} = ${call(c)};`, '    }']),
      '  }',
      '}',
    ];
  };
  const store = (w: 'a' | 'b'): string[] =>
    byK(w)
      ? [0, 1, 2, 3].map((c) => `gemm_${w}_[s0_ + ((lid_ % 2u) * 4u + ${c}u) * ${QUADS}u + (lid_ / 2u) / 4u][(lid_ / 2u) % 4u] = r${w}_.${comp[c]};`)
      : [`gemm_${w}_[s0_ + (lid_ / ${QUADS}u) * ${QUADS}u + lid_ % ${QUADS}u] = r${w}_;`];
  const loads = (k0: string) => [...load('a', 'm_size_', 'm0_', k0), ...load('b', 'n_size_', 'n0_', k0)];
  lines.push(...loads('0u'), 'var s_ = 0u;', `for (var k0_ = 0u; k0_ < k_size_; k0_ += ${T.depth}u) {`);
  lines.push(...[`let s0_ = s_ * ${STAGE}u;`, ...store('a'), ...store('b'), 'workgroupBarrier();'].map((l) => `  ${l}`));
  lines.push(`  if (k0_ + ${T.depth}u < k_size_) {`, ...loads(`k0_ + ${T.depth}u`).map((l) => `    ${l}`), '  }');
  lines.push(
    `  for (var kk_ = 0u; kk_ < ${T.depth}u; kk_++) {`,
    `    let q_ = s0_ + kk_ * ${QUADS}u;`,
    '    let a0_ = gemm_a_[q_ + ty_];',
    `    let a1_ = gemm_a_[q_ + ${SIDE}u + ty_];`,
    '    let a2_ = gemm_b_[q_ + tx_];',
    `    let a3_ = gemm_b_[q_ + ${SIDE}u + tx_];`,
  );
  for (let i = 0; i < 8; i++) {
    const a = `a${Math.floor(i / 4)}_.${comp[i % 4]}`;
    lines.push(`    acc_[${2 * i}] += ${a} * a2_;`, `    acc_[${2 * i + 1}] += ${a} * a3_;`);
  }
  lines.push('  }', '  s_ = 1u - s_;', '}');
  // Row i of the thread's 8: its two vec4 of columns, stored through the per-vec4 helper (bounds per column).
  for (let i = 0; i < 8; i++) {
    lines.push(
      '{',
      `  let m_ = m0_ + ${Math.floor(i / 4) * (T.rows / 2) + (i % 4)}u + ty_ * 4u;`,
      '  if (m_ < m_size_) {',
      `    ${g.name}_s_(m_, n0_ + tx_ * 4u, n_size_, acc_[${2 * i}]);`,
      `    ${g.name}_s_(m_, n0_ + ${T.cols / 2}u + tx_ * 4u, n_size_, acc_[${2 * i + 1}]);`,
      '  }',
      '}',
    );
  }
  return indent(lines, '  ');
}

function entry(g: GemmSpec): GemmEntry {
  const helpers = [
    `fn ${g.name}_a_(m_: u32, k_: u32) -> f32 {\n${indent(g.loadA, '  ')}\n}`,
    `fn ${g.name}_b_(n_: u32, k_: u32) -> f32 {\n${indent(g.loadB, '  ')}\n}`,
    `fn ${g.name}_c_(m_: u32, n_: u32, v_: f32) {\n${indent(g.store, '  ')}\n}`,
    `fn ${g.name}_s_(m_: u32, n0_: u32, n_size_: u32, v_: vec4<f32>) {\n${indent(['for (var c_ = 0u; c_ < 4u; c_++) {', '  if (n0_ + c_ < n_size_) {', `    ${g.name}_c_(m_, n0_ + c_, v_[c_]);`, '  }', '}'], '  ')}\n}`,
  ].join('\n\n');
  return { name: g.name, comment: g.comment, helpers, body: gemmBody(g) };
}

/** `let t_, b_` of the (t, b) row `r`. */
const rowLets = (r: string): string[] => {
  const row = /^[A-Za-z0-9_]+$/.test(r) ? r : `(${r})`;
  return [`let t_ = ${row} / ${BATCH_OVERRIDE};`, `let b_ = ${row} % ${BATCH_OVERRIDE};`];
};

function read(env: KernelEnv, e: Expr, j: string): string {
  env.lets.clear();
  env.loaded.clear();
  return env.printer.expr(e, { t: 't_', b: 'b_', j }, true);
}

function matrixOf(mv: MatVec): Leaf {
  if (mv.m.kind !== 'leaf') throw new InvariantError('the matrix of a product must be a parameter');
  return mv.m;
}

const innerOf = (mv: MatVec): Dim => (mv.transpose ? mv.m.shape[0]! : mv.m.shape[1]!);

/** The n and k of products in one GEMM: summed (k concatenated) or stacked (n concatenated). */
export function gemmSize(vs: readonly BoundValue[], how: 'sum' | 'stack'): { n: Dim; k: Dim } {
  const cat = (ds: Dim[]): Dim => ds.reduce((a, b) => addDims(a, b));
  const mvs = vs.map((v) => v.node as MatVec);
  return how === 'sum' ? { n: vs[0]!.node.shape[0]!, k: cat(mvs.map(innerOf)) } : { n: cat(vs.map((v) => v.node.shape[0]!)), k: innerOf(mvs[0]!) };
}

/** `k_ - off` (parenthesized) for a segment starting at `off`. */
const minus = (j: string, off: Dim | undefined): string => {
  if (off === undefined) return j;
  const o = dim(off);
  return `(${j} - ${/[+-]/.test(o) ? `(${o})` : o})`;
};

/** Statements returning the segment's value: `if (j < end_1) { return s_1; } ... return s_last;`. */
const bySegment = (j: string, segs: readonly { end: string; text: string }[]): string[] =>
  segs.flatMap((s, i) => (i < segs.length - 1 ? [`if (${j} < ${s.end}) {`, `  ${s.text}`, '}'] : [s.text]));

/**
 * y[r][i] = Σ_k M[i][k] v[r][k] (Mᵀ: Σ_k M[k][i] v[r][k]) for every (t, b) row r of the sequence: products outside
 * the time loop as one GEMM, stored where the schedule keeps each value. Two ways to put several products in one:
 * - `sum`: products summed into one input adjoint (dx = W_1ᵀ δ_1 + W_2ᵀ δ_2 + ...), one GEMM over their inner sizes
 *   concatenated along k: A(r, k) reads δ_1, δ_2, ... and B(k, n) the matrices, one after another;
 * - `stack`: products of one vector (W_z x, W_r x, W_h x), one GEMM over their outputs concatenated along n, each
 *   stored in its own slot.
 */
export function matvecGemm(prefix: string, vs: readonly BoundValue[], how: 'sum' | 'stack', env: KernelEnv, homes: Homes, comment: string): GemmEntry {
  const v = vs[0]!;
  const mv0 = v.node as MatVec;
  if (how === 'sum' && vs.some((w) => w.into?.sink !== v.into?.sink || (vs.length > 1 && !w.into))) throw new InvariantError('only products of one input adjoint share a k-concatenated GEMM');
  if (how === 'stack' && vs.some((w) => (w.node as MatVec).v.id !== mv0.v.id || w.into)) throw new InvariantError('only products of one vector share an n-concatenated GEMM');
  const rows = rowLets('m_');
  // Segments of k (sum) or n (stack): each product read at k_ or n_ minus its offset.
  let off: Dim | undefined;
  const segs = vs.map((w) => {
    const mv = w.node as MatVec;
    const m = matrixOf(mv);
    const start = off;
    const size = how === 'sum' ? innerOf(mv) : w.node.shape[0]!;
    off = off === undefined ? size : addDims(off, size);
    const k = how === 'sum' ? minus('k_', start) : 'k_';
    const n = how === 'stack' ? minus('n_', start) : 'n_';
    return {
      end: dim(off),
      a: `return ${read(env, mv.v, k)};`,
      b: `return ${mv.transpose ? env.matrix(m, k, n) : env.matrix(m, n, k)};`,
      // A product of an input adjoint is written straight into it: the first writer assigns, the others add.
      c: `${homes.stored(w, { t: 't_', b: 'b_', j: n })} ${w.into?.accumulate ? '+=' : '='} v_;`,
    };
  });
  const seg = (get: (s: (typeof segs)[number]) => string) => segs.map((s) => ({ end: s.end, text: get(s) }));
  // The sum is added when an earlier writer of the adjoint assigned it.
  const accumulate = vs.every((w) => w.into?.accumulate);
  const sumStore = `${homes.stored(v, { t: 't_', b: 'b_', j: 'n_' })} ${accumulate ? '+=' : '='} v_;`;
  const stores = how === 'sum' ? [sumStore] : segs.flatMap((s, i) => (i < segs.length - 1 ? [`if (n_ < ${s.end}) {`, `  ${s.c}`, '  return;', '}'] : [s.c]));
  const many = vs.length > 1 ? ` over ${vs.length} products concatenated along ${how === 'sum' ? 'k' : 'n'}` : '';
  return entry({
    name: `${prefix}_gemm_${v.name}`,
    comment: `${comment}, for all steps and rows at once (tiled GEMM${many})${v.into ? `, ${accumulate ? 'added' : 'written'} into d${v.into.sink}` : ''}`,
    m: `ctl_.steps * ${BATCH_OVERRIDE}`,
    n: how === 'stack' ? dim(off!) : dim(v.node.shape[0]!),
    k: how === 'sum' ? dim(off!) : dim(innerOf(mv0)),
    loadA: how === 'sum' ? [...rows, ...bySegment('k_', seg((s) => s.a))] : [...rows, segs[0]!.a],
    loadB: bySegment(how === 'sum' ? 'k_' : 'n_', seg((s) => s.b)),
    store: [...rows, ...stores],
    // v[r][k] is contiguous along k; M[n][k] along k, Mᵀ's M[k][n] along n.
    along: { a: 'k', b: mv0.transpose ? 'e' : 'k' },
  });
}

/**
 * dθ[i][j] += Σ_{r in [lo, hi)} dy[r][i] v[r][j]: weight gradients as one GEMM over the (t, b) rows of one chunk.
 * Gradients of several parameters with the same v (dW_z, dW_r, dW_h of x) are stacked along m: one GEMM with their
 * rows one after another, A reading each one's dy, so a small matrix does not leave most of the GPU idle.
 */
export function gradGemm(name: string, terms: readonly { g: GradTerm & { kind: 'outer' }; p: Leaf }[], env: KernelEnv, homes: Homes, params: ParamLayout): GemmEntry {
  const { g: g0, p: p0 } = terms[0]!;
  for (const { g, p } of terms) {
    if (p.shape.length !== 2) throw new InvariantError(`outer-product gradient of the vector ${g.param}`);
    if (g.v.id !== g0.v.id || dim(p.shape[1]!) !== dim(p0.shape[1]!)) throw new InvariantError('stacked gradients must share v');
  }
  if (new Set(terms.map((t) => t.g.param)).size !== terms.length) throw new InvariantError('a stacked gradient GEMM writes each parameter once');
  const lab = (e: Expr): string => notation(e, homes.label, false);
  const n = dim(p0.shape[1]!);
  let off: Dim | undefined;
  const segs = terms.map(({ g, p }) => {
    const m = minus('m_', off);
    off = off === undefined ? p.shape[0]! : addDims(off, p.shape[0]!);
    return { end: dim(off), a: `return ${read(env, g.dy, m)};`, c: `grads_[${params.offset(g.param)} + ${m} * ${n} + n_] += v_;` };
  });
  return entry({
    name,
    comment: `${terms.map(({ g }) => `d${g.param} += sum over t, b of ${lab(g.dy)} ${lab(g.v)}'`).join('; ')} (tiled GEMM over rows [lo, hi)${terms.length > 1 ? `, ${terms.length} gradients stacked along m` : ''})`,
    m: dim(off!),
    n,
    k: 'ctl_.hi - ctl_.lo',
    loadA: [...rowLets('ctl_.lo + k_'), ...bySegment('m_', segs.map((s) => ({ end: s.end, text: s.a })))],
    loadB: [...rowLets('ctl_.lo + k_'), `return ${read(env, g0.v, 'n_')};`],
    store: segs.flatMap((s, i) => (i < segs.length - 1 ? [`if (m_ < ${s.end}) {`, `  ${s.c}`, '  return;', '}'] : [s.c])),
    // dy[r][i] and v[r][j] are contiguous along their element.
    along: { a: 'e', b: 'e' },
  });
}

/** The (m, n) of a stacked gradient GEMM. */
export const gradGemmSize = (terms: readonly { p: Leaf }[]): Dim[] => [terms.map((t) => t.p.shape[0]!).reduce((a, b) => addDims(a, b)), terms[0]!.p.shape[1]!];
