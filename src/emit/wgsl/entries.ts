// Entry points of a shader: one per phase of a schedule (GEMMs for its products outside the loop), one per vector gradient.

import type { GradTerm } from '../../derive/reverse.js';
import { InvariantError } from '../../spec/diagnostic.js';
import type { Expr, Leaf, MatVec } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import type { DispatchData } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE, BATCH_TILE_OVERRIDE } from '../../runtime/webgpu/types.js';
import { AT, type Homes, type KernelEnv } from './env.js';
import { dim, type ParamLayout } from './layout.js';
import { notation } from './notation.js';
import { type BoundValue, isGemm, type Phase, type PhaseGroup, type Sink } from './schedule.js';
import { type GemmEntry, matvecGemm } from './gemm.js';
import type { ShaderView } from './templates.js';

const maxOf = (dims: readonly Dim[]): string => dims.map(dim).reduce((a, b) => `max(${a}, ${b})`);

/** Batch rows per invocation of a loop kernel, at most: the size of its per-invocation accumulators. */
export const MAX_BATCH_TILE = 8;

/** A shader's entry points: elementwise phases, and GEMMs for the products outside the loop. */
export interface Entries {
  entries: ShaderView['entries'];
  gemms: GemmEntry[];
  dispatches: DispatchData[];
}

/**
 * One elementwise entry point per phase (the values of each size group in dependency order, then the sinks),
 * and before it a GEMM per product of the phase when the phase is outside the loop. In the loop, an invocation
 * covers `btile_` batch rows: the products of a group run first, reading each matrix element once per tile.
 */
export function phaseEntries(
  prefix: string,
  phases: readonly Phase[],
  env: KernelEnv,
  homes: Homes,
  sinkWrite: (s: Sink, value: string) => string,
  comment: (v: BoundValue) => string,
): Entries {
  const out: Entries = { entries: [], gemms: [], dispatches: [] };
  const counts = new Map<string, number>();
  for (const ph of phases) counts.set(ph.scope, (counts.get(ph.scope) ?? 0) + 1);
  for (const ph of phases) {
    const loop = ph.scope === 'loop';
    for (const g of ph.groups)
      for (const v of g.values) {
        if (!isGemm(v)) continue;
        const mv = v.node as MatVec;
        out.gemms.push(matvecGemm(prefix, v, env, homes, comment(v)));
        out.dispatches.push({ entry: out.gemms.at(-1)!.name, scope: ph.scope, kind: 'gemm', widths: [v.node.shape[0]!], trips: [innerDim(mv)] });
      }
    const groups = ph.groups.map((g) => ({ ...g, values: g.values.filter((v) => !isGemm(v)) })).filter((g) => g.values.length || g.sinks.length);
    if (!groups.length) continue;
    const kind = loop ? 'step' : ph.scope;
    const name = `${prefix}_${kind}${ph.index}`;
    const widths = groups.map((g) => g.dim);
    const trips: Dim[] = [];
    const body: string[] = [`let n_ = ${maxOf(widths)};`];
    if (loop) body.push('let t_ = ctl_.t;', `let b0_ = (g_ / n_) * ${BATCH_TILE_OVERRIDE};`, 'let i_ = g_ % n_;', `if (b0_ >= ${BATCH_OVERRIDE}) {`, '  return;', '}');
    else body.push('let r_ = g_ / n_;', 'let i_ = g_ % n_;', `let t_ = r_ / ${BATCH_OVERRIDE};`, `let b_ = r_ % ${BATCH_OVERRIDE};`, 'if (t_ >= ctl_.steps) {', '  return;', '}');
    for (const g of groups) {
      const lines = loop ? loopGroup(g, ph, env, homes, sinkWrite, comment, trips) : elementGroup(g, ph, env, homes, sinkWrite, comment);
      if (groups.length > 1) body.push(`if (i_ < ${dim(g.dim)}) {`, ...lines.map((l) => `  ${l}`), '}');
      else body.push(...lines);
    }
    const what = [...groups.flatMap((g) => g.values.map((v) => v.name)), ...groups.flatMap((g) => g.sinks.map((s) => sinkLabel(s)))];
    const where = loop ? `step t, phase ${ph.index + 1} of ${counts.get('loop')}` : `${ph.scope === 'pre' ? 'before' : 'after'} the time loop, all steps at once`;
    out.entries.push({ name, comment: `${prefix} ${where}: ${what.join(', ')}`, body: body.map((l) => `  ${l}`).join('\n') });
    out.dispatches.push({ entry: name, scope: ph.scope, kind: 'elementwise', widths, trips });
  }
  return out;
}

const innerDim = (mv: MatVec): Dim => (mv.transpose ? mv.m.shape[0]! : mv.m.shape[1]!);

/** The loads, values and sinks of one group at the invocation's own (t_, b_, i_). */
function elementGroup(g: PhaseGroup, ph: Phase, env: KernelEnv, homes: Homes, sinkWrite: (s: Sink, value: string) => string, comment: (v: BoundValue) => string, acc?: Map<number, string>): string[] {
  const lines: string[] = [];
  env.lets.clear();
  env.loaded.clear();
  for (const l of env.loads(g, ph)) {
    lines.push(`let ${l.name} = ${env.printer.expr(l.node, AT)};`);
    env.loaded.set(l.node.id, l.name);
  }
  for (const v of g.values) {
    lines.push(`// ${comment(v)}`);
    const tile = acc?.get(v.node.id);
    if (tile !== undefined) lines.push(`let ${v.name} = ${tile}[c_];`);
    else if (v.node.kind === 'matvec') lines.push(...env.printer.matvecStatements(v.node, v.name, AT));
    else if (v.node.kind === 'reduce') lines.push(...env.printer.reduceStatements(v.node, v.name, AT));
    else lines.push(`let ${v.name} = ${env.printer.node(v.node, AT)};`);
    env.lets.add(v.node.id);
    if (v.stored && homes.writes(v)) lines.push(`${homes.stored(v, AT)} = ${v.name};`);
  }
  for (const s of g.sinks) lines.push(...sinkWrite(s, env.printer.expr(s.expr, AT)).split('\n'));
  return lines;
}

/**
 * A loop group over the batch rows b0_ .. b0_ + btile_ - 1: its products (which read only earlier phases)
 * accumulate for all rows in one pass over k, each matrix element loaded once; then the elementwise code per row.
 */
function loopGroup(g: PhaseGroup, ph: Phase, env: KernelEnv, homes: Homes, sinkWrite: (s: Sink, value: string) => string, comment: (v: BoundValue) => string, trips: Dim[]): string[] {
  const lines: string[] = [];
  const acc = new Map<number, string>();
  const products = g.values.filter((v) => v.node.kind === 'matvec');
  const byInner = new Map<string, BoundValue[]>();
  for (const v of products) {
    const k = dim(innerDim(v.node as MatVec));
    byInner.set(k, [...(byInner.get(k) ?? []), v]);
  }
  for (const [inner, vs] of byInner) {
    trips.push(innerDim(vs[0]!.node as MatVec));
    lines.push(`// ${vs.map((v) => v.name).join(', ')}: products for ${BATCH_TILE_OVERRIDE} batch rows, each matrix element read once`);
    for (const v of vs) {
      acc.set(v.node.id, `acc_${v.name}_`);
      lines.push(`var acc_${v.name}_: array<f32, ${MAX_BATCH_TILE}>;`);
    }
    lines.push(`for (var k_ = 0u; k_ < ${inner}; k_++) {`);
    vs.forEach((v, n) => {
      const mv = v.node as MatVec;
      if (mv.m.kind !== 'leaf') throw new InvariantError('the matrix of a product must be a parameter');
      lines.push(`  let m${n}_ = ${mv.transpose ? env.matrix(mv.m, 'k_', 'i_') : env.matrix(mv.m, 'i_', 'k_')};`);
    });
    lines.push(`  for (var c_ = 0u; c_ < ${BATCH_TILE_OVERRIDE}; c_++) {`, `    let b_ = min(b0_ + c_, ${BATCH_OVERRIDE} - 1u);`);
    vs.forEach((v, n) => {
      env.lets.clear();
      env.loaded.clear();
      const vec = env.printer.operand((v.node as MatVec).v, { t: 't_', b: 'b_', j: 'k_' }, true, 'mul', true);
      lines.push(`    acc_${v.name}_[c_] += m${n}_ * ${vec};`);
    });
    lines.push('  }', '}');
  }
  lines.push(`for (var c_ = 0u; c_ < ${BATCH_TILE_OVERRIDE}; c_++) {`, '  let b_ = b0_ + c_;', `  if (b_ >= ${BATCH_OVERRIDE}) {`, '    break;', '  }');
  lines.push(...elementGroup(g, ph, env, homes, sinkWrite, comment, acc).map((l) => `  ${l}`), '}');
  return lines;
}

const sinkLabel = (s: Sink): string => (s.kind === 'state' ? `new ${s.name}` : s.kind === 'dstate' ? `d${s.name}_prev` : `d${s.name}`);


/**
 * dθ += Σ_{t,b} g_t,b for a vector θ over the (t, b) rows [lo, hi) of one dispatch: one invocation per
 * element of θ, reading the per-step operand wherever it is stored.
 */
export function reductionEntry(name: string, g: GradTerm & { kind: 'sum' }, p: Leaf, env: KernelEnv, homes: Homes, params: ParamLayout): ShaderView['entries'][number] {
  const read = (e: Expr, j: string): string => {
    env.lets.clear();
    env.loaded.clear();
    return env.printer.expr(e, { t: 't_', b: 'b_', j }, true);
  };
  const lab = (e: Expr): string => notation(e, homes.label, false);
  const rows = (term: string): string[] => [
    '// rows [lo, hi) of the (t, b) range',
    'for (var r_ = ctl_.lo; r_ < ctl_.hi; r_++) {',
    `  let t_ = r_ / ${BATCH_OVERRIDE};`,
    `  let b_ = r_ % ${BATCH_OVERRIDE};`,
    `  acc_ += ${term};`,
    '}',
    `grads_[${params.offset(g.param)} + g_] += acc_;`,
  ];
  if (p.shape.length !== 1) throw new InvariantError(`summed gradient of the matrix ${g.param}`);
  const body = [`if (g_ >= ${dim(p.shape[0]!)}) {`, '  return;', '}', 'let i_ = g_;', 'var acc_ = 0.0;', ...rows(read(g.g, 'i_'))];
  const comment = `d${g.param} += sum over t, b of ${lab(g.g)}`;
  return { name, comment, body: body.map((l) => `  ${l}`).join('\n') };
}
