// Tiled GEMM entry points: the products outside the time loop (x-projections of all steps, dx of all steps) and
// the weight gradients summed over all (t, b) rows, all from one template with printed loaders and stores.

import type { GradTerm } from '../../derive/reverse.js';
import { InvariantError } from '../../spec/diagnostic.js';
import type { Expr, Leaf, MatVec } from '../../ir/expr.js';
import type { GemmTile } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE } from '../../runtime/webgpu/types.js';
import type { Homes, KernelEnv } from './env.js';
import { dim, type ParamLayout } from './layout.js';
import { notation } from './notation.js';
import type { BoundValue } from './schedule.js';

/**
 * 16 x 16 threads, each computing an 8 x 4 block of C from three vec4 reads of shared memory per k (32 FMAs):
 * a 128 x 64 tile of C per workgroup, K staged through shared memory 16 at a time (8 + 4 KiB).
 */
export const GEMM_TILE: GemmTile = { rows: 128, cols: 64, depth: 16, threads: 256 };
const SIDE = 16;
const TM = GEMM_TILE.rows / SIDE;
const TN = GEMM_TILE.cols / SIDE;
if (TN !== 4 || TM % 4 !== 0) throw new InvariantError('GEMM thread tiles are 4k x 4');

/** Threads per side of a GEMM workgroup. */
export const GEMM_SIDE = SIDE;

/** Module-scope shared memory of every GEMM entry of a shader: the A tile [depth][rows] and B tile [depth][cols], as vec4. */
export const GEMM_SHARED = [
  '// GEMM tiles in workgroup memory: A as [k][m / 4], B as [k][n / 4]',
  `var<workgroup> gemm_a_: array<vec4<f32>, ${(GEMM_TILE.depth * GEMM_TILE.rows) / 4}>;`,
  `var<workgroup> gemm_b_: array<vec4<f32>, ${(GEMM_TILE.depth * GEMM_TILE.cols) / 4}>;`,
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

/** The kernel body of one GEMM: stage A and B tiles through shared memory, accumulate TM x 4 per thread. */
function gemmBody(g: GemmSpec): string {
  const T = GEMM_TILE;
  const loadsA = (T.rows * T.depth) / 4 / T.threads;
  const loadsB = (T.cols * T.depth) / 4 / T.threads;
  const lines: string[] = [
    `let m_size_ = ${g.m};`,
    `let n_size_ = ${g.n};`,
    `let k_size_ = ${g.k};`,
    `let m0_ = wid_.y * ${T.rows}u;`,
    `let n0_ = wid_.x * ${T.cols}u;`,
    `let tx_ = lid_ % ${SIDE}u;`,
    `let ty_ = lid_ / ${SIDE}u;`,
    `var acc_: array<vec4<f32>, ${TM}>;`,
    `for (var k0_ = 0u; k0_ < k_size_; k0_ += ${T.depth}u) {`,
  ];
  // Each thread stages a vec4 of 4 consecutive m (or n) at one k; threads next to each other take the next
  // k, or the next 4 elements, whichever is the next address of the operand, so a warp's reads coalesce.
  const stage = (which: 'a' | 'b', loads: number, quads: number, limit: string, origin: string) => {
    const byK = g.along[which] === 'k';
    const [kq, eq] = byK ? [`q_ % ${T.depth}u`, `q_ / ${T.depth}u`] : [`q_ / ${quads}u`, `q_ % ${quads}u`];
    lines.push(
      `  for (var s_ = 0u; s_ < ${loads}u; s_++) {`,
      `    let q_ = lid_ + s_ * ${T.threads}u;`,
      `    let kq_ = ${kq};`,
      `    let eq_ = ${eq};`,
      `    let k_ = k0_ + kq_;`,
      `    let e0_ = ${origin} + eq_ * 4u;`,
      '    var w_ = vec4<f32>();',
      '    for (var c_ = 0u; c_ < 4u; c_++) {',
      `      if (k_ < k_size_ && e0_ + c_ < ${limit}) {`,
      `        w_[c_] = ${g.name}_${which}_(e0_ + c_, k_);`,
      '      }',
      '    }',
      `    gemm_${which}_[kq_ * ${quads}u + eq_] = w_;`,
      '  }',
    );
  };
  stage('a', loadsA, T.rows / 4, 'm_size_', 'm0_');
  stage('b', loadsB, T.cols / 4, 'n_size_', 'n0_');
  lines.push('  workgroupBarrier();', `  for (var kk_ = 0u; kk_ < ${T.depth}u; kk_++) {`);
  for (let i = 0; i < TM / 4; i++) lines.push(`    let a${i}_ = gemm_a_[kk_ * ${T.rows / 4}u + ty_ * ${TM / 4}u + ${i}u];`);
  lines.push(`    let bq_ = gemm_b_[kk_ * ${T.cols / 4}u + tx_];`);
  const comp = ['x', 'y', 'z', 'w'];
  for (let i = 0; i < TM; i++) lines.push(`    acc_[${i}] += a${Math.floor(i / 4)}_.${comp[i % 4]} * bq_;`);
  lines.push(
    '  }',
    '  workgroupBarrier();',
    '}',
    `for (var i_ = 0u; i_ < ${TM}u; i_++) {`,
    `  for (var j_ = 0u; j_ < 4u; j_++) {`,
    `    let m_ = m0_ + ty_ * ${TM}u + i_;`,
    '    let n_ = n0_ + tx_ * 4u + j_;',
    '    if (m_ < m_size_ && n_ < n_size_) {',
    `      ${g.name}_c_(m_, n_, acc_[i_][j_]);`,
    '    }',
    '  }',
    '}',
  );
  return indent(lines, '  ');
}

function entry(g: GemmSpec): GemmEntry {
  const helpers = [
    `fn ${g.name}_a_(m_: u32, k_: u32) -> f32 {\n${indent(g.loadA, '  ')}\n}`,
    `fn ${g.name}_b_(n_: u32, k_: u32) -> f32 {\n${indent(g.loadB, '  ')}\n}`,
    `fn ${g.name}_c_(m_: u32, n_: u32, v_: f32) {\n${indent(g.store, '  ')}\n}`,
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

/**
 * y[r][i] = Σ_k M[i][k] v[r][k] (Mᵀ: Σ_k M[k][i] v[r][k]) for every (t, b) row r of the sequence: a product
 * outside the time loop as one GEMM, stored where the schedule keeps the value.
 */
export function matvecGemm(prefix: string, v: BoundValue, env: KernelEnv, homes: Homes, comment: string): GemmEntry {
  const mv = v.node as MatVec;
  const m = matrixOf(mv);
  const inner = mv.transpose ? m.shape[0]! : m.shape[1]!;
  return entry({
    name: `${prefix}_gemm_${v.name}`,
    comment: `${comment}, for all steps and rows at once (tiled GEMM)`,
    m: `ctl_.steps * ${BATCH_OVERRIDE}`,
    n: dim(v.node.shape[0]!),
    k: dim(inner),
    loadA: [...rowLets('m_'), `return ${read(env, mv.v, 'k_')};`],
    loadB: [`return ${mv.transpose ? env.matrix(m, 'k_', 'n_') : env.matrix(m, 'n_', 'k_')};`],
    store: [...rowLets('m_'), `${homes.stored(v, { t: 't_', b: 'b_', j: 'n_' })} = v_;`],
    // v[r][k] is contiguous along k; M[n][k] along k, Mᵀ's M[k][n] along n.
    along: { a: 'k', b: mv.transpose ? 'e' : 'k' },
  });
}

/** dθ[i][j] += Σ_{r in [lo, hi)} dy[r][i] v[r][j]: the weight gradient as a GEMM over the (t, b) rows of one chunk. */
export function gradGemm(name: string, g: GradTerm & { kind: 'outer' }, p: Leaf, env: KernelEnv, homes: Homes, params: ParamLayout): GemmEntry {
  if (p.shape.length !== 2) throw new InvariantError(`outer-product gradient of the vector ${g.param}`);
  const lab = (e: Expr): string => notation(e, homes.label, false);
  return entry({
    name,
    comment: `d${g.param} += sum over t, b of ${lab(g.dy)} ${lab(g.v)}' (tiled GEMM over rows [lo, hi))`,
    m: dim(p.shape[0]!),
    n: dim(p.shape[1]!),
    k: 'ctl_.hi - ctl_.lo',
    loadA: [...rowLets('ctl_.lo + k_'), `return ${read(env, g.dy, 'm_')};`],
    loadB: [...rowLets('ctl_.lo + k_'), `return ${read(env, g.v, 'n_')};`],
    store: [`grads_[${params.offset(g.param)} + m_ * ${dim(p.shape[1]!)} + n_] += v_;`],
    // dy[r][i] and v[r][j] are contiguous along their element.
    along: { a: 'e', b: 'e' },
  });
}
