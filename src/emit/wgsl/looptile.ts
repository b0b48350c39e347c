// Loop kernels tiled over (batch rows, elements): the recurrent products of a phase staged through workgroup memory,
// several outputs per invocation, and the phase's elementwise code as their epilogue — one template for every cell.

import { InvariantError } from '../../spec/diagnostic.js';
import type { MatVec } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import type { LoopTile } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE, BATCH_TILE_OVERRIDE } from '../../runtime/webgpu/types.js';
import type { KernelEnv } from './env.js';
import { dim } from './layout.js';
import type { BoundValue, Phase, PhaseGroup, Sink } from './schedule.js';

/** Batch rows per invocation of a loop kernel, at most: the size of its per-invocation accumulators. */
export const MAX_BATCH_TILE = 8;

/**
 * A workgroup of 16 x 4 invocations covers 64 elements x (4 · btile) batch rows. Invocation (tx, ty) owns 4
 * consecutive elements (one vec4 of each accumulator) of btile rows; K is staged 16 at a time, the matrix as
 * [k][i / 4] vec4 and the vector operand as [k][row].
 */
export const LOOP_TILE: LoopTile = { cols: 64, rowGroups: 4, depth: 16, threads: 64 };
const TX = LOOP_TILE.cols / 4;
const ROWS = LOOP_TILE.rowGroups * MAX_BATCH_TILE;
const D = LOOP_TILE.depth;
if (TX * LOOP_TILE.rowGroups !== LOOP_TILE.threads) throw new InvariantError('loop tile: threads must be cols / 4 x rowGroups');

/** Module-scope workgroup memory of the loop kernels. */
export const LOOP_SHARED = [
  '// Loop-kernel tiles in workgroup memory: a matrix tile as [k][i / 4], the vector operand as [k][batch row]',
  `var<workgroup> tile_m_: array<vec4<f32>, ${(D * LOOP_TILE.cols) / 4}>;`,
  `var<workgroup> tile_v_: array<f32, ${D * ROWS}>;`,
];

/** Names the loop kernels use at module scope or as locals. */
export const LOOP_TILE_NAMES = ['tile_m_', 'tile_v_', 'i0_', 'r0_', 'e_', 'kq_', 'eq_', 'mq_', 'ti_', 'tr_'];

export interface LoopTileEntry {
  name: string;
  comment: string;
  body: string;
}

const innerDim = (mv: MatVec): Dim => (mv.transpose ? mv.m.shape[0]! : mv.m.shape[1]!);

/** Element groups of a phase's products: those sharing inner size and vector stage the vector once. */
function vectorGroups(products: readonly BoundValue[]): { inner: Dim; vs: BoundValue[] }[] {
  const out = new Map<string, { inner: Dim; vs: BoundValue[] }>();
  for (const v of products) {
    const mv = v.node as MatVec;
    const key = `${dim(innerDim(mv))}|${mv.v.id}`;
    let g = out.get(key);
    if (!g) out.set(key, (g = { inner: innerDim(mv), vs: [] }));
    g.vs.push(v);
  }
  return [...out.values()];
}

/** Reads of one element of an operand at (t_, b_, k_) — a stored vector, a leaf, or a concatenation helper. */
function vectorAt(env: KernelEnv, mv: MatVec): string {
  env.lets.clear();
  env.loaded.clear();
  return env.printer.expr(mv.v, { t: 't_', b: 'b_', j: 'k_' }, true);
}

/**
 * One loop phase as a tiled entry point. Products (which read only earlier phases and the inputs) accumulate for
 * the workgroup's tile of elements and rows; then each invocation runs the phase's elementwise code for its
 * 4 elements x btile rows, reading the products from registers.
 */
export function loopTileEntry(
  name: string,
  ph: Phase,
  groups: readonly PhaseGroup[],
  env: KernelEnv,
  element: (g: PhaseGroup, acc: Map<number, string>) => string[],
): { entry: LoopTileEntry; trips: Dim[] } {
  const T = LOOP_TILE;
  const products = groups.flatMap((g) => g.values.filter((v) => v.node.kind === 'matvec'));
  const trips: Dim[] = [];
  const acc = new Map<number, string>();
  const lines: string[] = [
    'let t_ = ctl_.t;',
    `let tx_ = lid_ % ${TX}u;`,
    `let ty_ = lid_ / ${TX}u;`,
    `let i0_ = wid_.x * ${T.cols}u;`,
    `let r0_ = wid_.y * ${T.rowGroups}u * ${BATCH_TILE_OVERRIDE};`,
  ];
  for (const v of products) {
    acc.set(v.node.id, `row_${v.name}_[e_]`);
    lines.push(`var acc_${v.name}_: array<vec4<f32>, ${MAX_BATCH_TILE}>;`);
  }
  for (const vg of vectorGroups(products)) {
    const inner = dim(vg.inner);
    const mv0 = vg.vs[0]!.node as MatVec;
    lines.push(
      `// ${vg.vs.map((v) => v.name).join(', ')}: the tile's rows of the vector, and each matrix tile, staged ${D} k at a time`,
      `for (var k0_ = 0u; k0_ < ${inner}; k0_ += ${D}u) {`,
      `  for (var s_ = 0u; s_ < ${(D * ROWS) / T.threads}u; s_++) {`,
      `    let q_ = lid_ + s_ * ${T.threads}u;`,
      `    let kq_ = q_ % ${D}u;`,
      `    let tr_ = q_ / ${D}u;`,
      '    let k_ = k0_ + kq_;',
      '    let b_ = r0_ + tr_;',
      '    var w_ = 0.0;',
      `    if (tr_ < ${T.rowGroups}u * ${BATCH_TILE_OVERRIDE} && b_ < ${BATCH_OVERRIDE} && k_ < ${inner}) {`,
      `      w_ = ${vectorAt(env, mv0)};`,
      '    }',
      `    tile_v_[kq_ * ${ROWS}u + tr_] = w_;`,
      '  }',
    );
    for (const v of vg.vs) {
      const mv = v.node as MatVec;
      if (mv.m.kind !== 'leaf') throw new InvariantError('the matrix of a product must be a parameter');
      trips.push(vg.inner);
      // Neighbouring invocations stage neighbouring addresses: along k for M[i][k], along i for Mᵀ (M[k][i]).
      const [kq, eq] = mv.transpose ? [`q_ / ${TX}u`, `q_ % ${TX}u`] : [`q_ % ${D}u`, `q_ / ${D}u`];
      const m = mv.m;
      const read = (c: number) => (mv.transpose ? env.matrix(m, 'k_', `e0_ + ${c}u`) : env.matrix(m, `(e0_ + ${c}u)`, 'k_'));
      lines.push(
        `  for (var s_ = 0u; s_ < ${(D * T.cols) / 4 / T.threads}u; s_++) {`,
        `    let q_ = lid_ + s_ * ${T.threads}u;`,
        `    let kq_ = ${kq};`,
        `    let eq_ = ${eq};`,
        '    let k_ = k0_ + kq_;',
        '    let e0_ = i0_ + eq_ * 4u;',
        '    var w_ = vec4<f32>();',
        ...['x', 'y', 'z', 'w'].map((x, c) => `    if (k_ < ${inner} && e0_ + ${c}u < ${dim(v.node.shape[0]!)}) { w_.${x} = ${read(c)}; }`),
        `    tile_m_[kq_ * ${TX}u + eq_] = w_;`,
        '  }',
        '  workgroupBarrier();',
        `  for (var kk_ = 0u; kk_ < ${D}u; kk_++) {`,
        `    let mq_ = tile_m_[kk_ * ${TX}u + tx_];`,
        `    let q_ = kk_ * ${ROWS}u + ty_ * ${BATCH_TILE_OVERRIDE};`,
        // Printed per row with constant indices (rows past the override's batch tile fold away).
        ...Array.from({ length: MAX_BATCH_TILE }, (_, c) => {
          const line = `acc_${v.name}_[${c}] += mq_ * tile_v_[q_ + ${c}u];`;
          return c === 0 ? `    ${line}` : `    if (${BATCH_TILE_OVERRIDE} > ${c}u) { ${line} }`;
        }),
        '  }',
        '  workgroupBarrier();',
      );
    }
    lines.push('}');
  }
  // The epilogue: the elementwise code per (row, element) of the invocation.
  // The row's accumulators are picked with constant indices: an index known only at run time would put the
  // accumulator arrays in local memory on most GPUs, and with them every FMA of the loop above.
  lines.push(`for (var c_ = 0u; c_ < ${BATCH_TILE_OVERRIDE}; c_++) {`, `  let b_ = r0_ + ty_ * ${BATCH_TILE_OVERRIDE} + c_;`);
  for (const v of products) {
    lines.push(`  var row_${v.name}_ = acc_${v.name}_[0];`);
    for (let c = 1; c < MAX_BATCH_TILE; c++) lines.push(`  if (c_ == ${c}u) { row_${v.name}_ = acc_${v.name}_[${c}]; }`);
  }
  lines.push('  for (var e_ = 0u; e_ < 4u; e_++) {', '    let i_ = i0_ + tx_ * 4u + e_;');
  for (const g of groups) lines.push(`    if (b_ < ${BATCH_OVERRIDE} && i_ < ${dim(g.dim)}) {`, ...element(g, acc).map((l) => `      ${l}`), '    }');
  lines.push('  }', '}');
  const what = [...groups.flatMap((g) => g.values.map((v) => v.name)), ...groups.flatMap((g) => g.sinks.map(sinkLabel))];
  return { entry: { name, comment: what.join(', '), body: lines.map((l) => `  ${l}`).join('\n') }, trips };
}

export const sinkLabel = (s: Sink): string => (s.kind === 'state' ? `new ${s.name}` : s.kind === 'dstate' ? `d${s.name}_prev` : `d${s.name}`);
