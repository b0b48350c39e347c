// Entry points of a shader: one per phase of a schedule (GEMMs for its products outside the loop), one per vector gradient.

import type { GradTerm } from '../../derive/reverse.js';
import { InvariantError } from '../../spec/diagnostic.js';
import type { Expr, Leaf, MatVec } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import type { DispatchData } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE } from '../../runtime/webgpu/types.js';
import { AT, type Homes, type KernelEnv } from './env.js';
import { dim, type ParamLayout } from './layout.js';
import { notation } from './notation.js';
import { type BoundValue, isGemm, type Phase, type PhaseGroup, type Sink } from './schedule.js';
import { type GemmEntry, gemmSize, matvecGemm } from './gemm.js';
import { type LoopTileEntry, loopTileEntry, sinkLabel } from './looptile.js';

export { MAX_BATCH_TILE } from './looptile.js';
import type { ShaderView } from './templates.js';

const maxOf = (dims: readonly Dim[]): string => dims.map(dim).reduce((a, b) => `max(${a}, ${b})`);

/** A shader's entry points: elementwise phases, and GEMMs for the products outside the loop. */
export interface Entries {
  entries: ShaderView['entries'];
  gemms: GemmEntry[];
  /** Loop phases, tiled over (batch rows, elements). */
  tiles: LoopTileEntry[];
  dispatches: DispatchData[];
}

/**
 * One entry point per phase (the values of each size group in dependency order, then the sinks). Outside the loop
 * a GEMM per product of the phase comes first and the rest is elementwise, one invocation per element; a loop
 * phase is one tiled entry (looptile.ts): its products staged through workgroup memory, the rest their epilogue.
 */
export function phaseEntries(
  prefix: string,
  phases: readonly Phase[],
  env: KernelEnv,
  homes: Homes,
  sinkWrite: (s: Sink, value: string) => string,
  comment: (v: BoundValue) => string,
): Entries {
  const out: Entries = { entries: [], gemms: [], tiles: [], dispatches: [] };
  const counts = new Map<string, number>();
  for (const ph of phases) counts.set(ph.scope, (counts.get(ph.scope) ?? 0) + 1);
  for (const ph of phases) {
    const loop = ph.scope === 'loop';
    // Products outside the loop: one GEMM per input adjoint (its products summed, k concatenated) and one per vector
    // operand (its products stacked, n concatenated).
    const gemmGroups = new Map<string, BoundValue[]>();
    for (const g of ph.groups)
      for (const v of g.values) {
        if (!isGemm(v)) continue;
        const key = v.into ? `sum ${v.into.sink}` : `stack ${(v.node as MatVec).v.id}`;
        gemmGroups.set(key, [...(gemmGroups.get(key) ?? []), v]);
      }
    for (const [key, vs] of gemmGroups) {
      const how = key.startsWith('sum') ? 'sum' : 'stack';
      const size = gemmSize(vs, how);
      out.gemms.push(matvecGemm(prefix, vs, how, env, homes, vs.map(comment).join('; ')));
      out.dispatches.push({ entry: out.gemms.at(-1)!.name, scope: ph.scope, kind: 'gemm', widths: [size.n], trips: [size.k] });
    }
    const groups = ph.groups.map((g) => ({ ...g, values: g.values.filter((v) => !isGemm(v)) })).filter((g) => g.values.length || g.sinks.length);
    if (!groups.length) continue;
    const kind = loop ? 'step' : ph.scope;
    const name = `${prefix}_${kind}${ph.index}`;
    const widths = groups.map((g) => g.dim);
    const what = [...groups.flatMap((g) => g.values.map((v) => v.name)), ...groups.flatMap((g) => g.sinks.map((s) => sinkLabel(s)))];
    if (loop) {
      const { entry, trips } = loopTileEntry(name, ph, groups, env, (g, acc) => elementGroup(g, ph, env, homes, sinkWrite, comment, acc));
      out.tiles.push({ ...entry, comment: `${prefix} step t, phase ${ph.index + 1} of ${counts.get('loop')}, tiled over (batch, element): ${entry.comment}` });
      out.dispatches.push({ entry: name, scope: ph.scope, kind: 'tile', widths, trips });
      continue;
    }
    const body: string[] = [`let n_ = ${maxOf(widths)};`];
    body.push('let r_ = g_ / n_;', 'let i_ = g_ % n_;', `let t_ = r_ / ${BATCH_OVERRIDE};`, `let b_ = r_ % ${BATCH_OVERRIDE};`, 'if (t_ >= ctl_.steps) {', '  return;', '}');
    for (const g of groups) {
      const lines = elementGroup(g, ph, env, homes, sinkWrite, comment);
      if (groups.length > 1) body.push(`if (i_ < ${dim(g.dim)}) {`, ...lines.map((l) => `  ${l}`), '}');
      else body.push(...lines);
    }
    const where = `${ph.scope === 'pre' ? 'before' : 'after'} the time loop, all steps at once`;
    out.entries.push({ name, comment: `${prefix} ${where}: ${what.join(', ')}`, body: body.map((l) => `  ${l}`).join('\n') });
    out.dispatches.push({ entry: name, scope: ph.scope, kind: 'elementwise', widths, trips: [] });
  }
  return out;
}

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
    if (tile !== undefined) lines.push(`let ${v.name} = ${tile};`);
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
  const rows = (acc: readonly string[]): string[] => [
    '// rows [lo, hi) of the (t, b) range',
    'for (var r_ = ctl_.lo; r_ < ctl_.hi; r_++) {',
    `  let t_ = r_ / ${BATCH_OVERRIDE};`,
    `  let b_ = r_ % ${BATCH_OVERRIDE};`,
    ...acc.map((l) => `  ${l}`),
    '}',
    `grads_[${params.offset(g.param)} + g_] += acc_;`,
  ];
  if (p.shape.length === 0) {
    // a scalar parameter: one invocation sums the term over its elements too
    const n = dim(g.g.shape[0]!);
    const body = ['if (g_ >= 1u) {', '  return;', '}', 'var acc_ = 0.0;', ...rows([`for (var i_ = 0u; i_ < ${n}; i_++) {`, `  acc_ += ${read(g.g, 'i_')};`, '}'])];
    const comment = `d${g.param} += sum over t, b and elements of ${lab(g.g)}`;
    return { name, comment, body: body.map((l) => `  ${l}`).join('\n') };
  }
  if (p.shape.length !== 1) throw new InvariantError(`summed gradient of the matrix ${g.param}`);
  const body = [`if (g_ >= ${dim(p.shape[0]!)}) {`, '  return;', '}', 'let i_ = g_;', 'var acc_ = 0.0;', ...rows([`acc_ += ${read(g.g, 'i_')};`])];
  const comment = `d${g.param} += sum over t, b of ${lab(g.g)}`;
  return { name, comment, body: body.map((l) => `  ${l}`).join('\n') };
}
