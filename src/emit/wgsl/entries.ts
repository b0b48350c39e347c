// Entry points of a shader: one per phase of a schedule, one per gradient reduction.

import type { GradTerm } from '../../derive/reverse.js';
import { InvariantError } from '../../spec/diagnostic.js';
import type { Expr, Leaf } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import type { DispatchData } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE } from '../../runtime/webgpu/types.js';
import { AT, type Homes, type KernelEnv } from './env.js';
import { dim, type ParamLayout } from './layout.js';
import { notation } from './notation.js';
import type { BoundValue, Phase, Sink } from './schedule.js';
import type { ShaderView } from './templates.js';

const maxOf = (dims: readonly Dim[]): string => dims.map(dim).reduce((a, b) => `max(${a}, ${b})`);

/** One entry point per phase: the values of each size group, in dependency order, then the sinks. */
export function phaseEntries(
  prefix: string,
  phases: readonly Phase[],
  env: KernelEnv,
  homes: Homes,
  sinkWrite: (s: Sink, value: string) => string,
  comment: (v: BoundValue) => string,
): { entries: ShaderView['entries']; dispatches: DispatchData[] } {
  const entries: ShaderView['entries'] = [];
  const dispatches: DispatchData[] = [];
  const counts = new Map<string, number>();
  for (const ph of phases) counts.set(ph.scope, (counts.get(ph.scope) ?? 0) + 1);
  for (const ph of phases) {
    const kind = ph.scope === 'loop' ? 'step' : ph.scope;
    const name = `${prefix}_${kind}${ph.index}`;
    const widths = ph.groups.map((g) => g.dim);
    const trips: Dim[] = [];
    const body: string[] = [`let n_ = ${maxOf(widths)};`];
    if (ph.scope === 'loop') body.push('let t_ = ctl_.t;', 'let b_ = g_ / n_;', 'let i_ = g_ % n_;', `if (b_ >= ${BATCH_OVERRIDE}) {`, '  return;', '}');
    else body.push('let r_ = g_ / n_;', 'let i_ = g_ % n_;', `let t_ = r_ / ${BATCH_OVERRIDE};`, `let b_ = r_ % ${BATCH_OVERRIDE};`, 'if (t_ >= ctl_.steps) {', '  return;', '}');
    for (const g of ph.groups) {
      const lines: string[] = [];
      env.lets.clear();
      env.loaded.clear();
      for (const l of env.loads(g, ph)) {
        lines.push(`let ${l.name} = ${env.printer.expr(l.node, AT)};`);
        env.loaded.set(l.node.id, l.name);
      }
      for (const v of g.values) {
        lines.push(`// ${comment(v)}`);
        if (v.node.kind === 'matvec') {
          lines.push(...env.printer.matvecStatements(v.node, v.name, AT));
          trips.push(v.node.transpose ? v.node.m.shape[0]! : v.node.m.shape[1]!);
        } else lines.push(`let ${v.name} = ${env.printer.node(v.node, AT)};`);
        env.lets.add(v.node.id);
        if (v.stored && homes.writes(v)) lines.push(`${homes.stored(v, AT)} = ${v.name};`);
      }
      for (const s of g.sinks) lines.push(...sinkWrite(s, env.printer.expr(s.expr, AT)).split('\n'));
      if (ph.groups.length > 1) body.push(`if (i_ < ${dim(g.dim)}) {`, ...lines.map((l) => `  ${l}`), '}');
      else body.push(...lines);
    }
    const what = [...ph.groups.flatMap((g) => g.values.map((v) => v.name)), ...ph.groups.flatMap((g) => g.sinks.map((s) => sinkLabel(s)))];
    const where = ph.scope === 'loop' ? `step t, phase ${ph.index + 1} of ${counts.get('loop')}` : `${ph.scope === 'pre' ? 'before' : 'after'} the time loop, all steps at once`;
    entries.push({ name, comment: `${prefix} ${where}: ${what.join(', ')}`, body: body.map((l) => `  ${l}`).join('\n') });
    dispatches.push({ entry: name, scope: ph.scope, widths, trips });
  }
  return { entries, dispatches };
}

const sinkLabel = (s: Sink): string => (s.kind === 'state' ? `new ${s.name}` : s.kind === 'dstate' ? `d${s.name}_prev` : `d${s.name}`);


/**
 * dθ += Σ_{t,b} dy_t,b v_t,bᵀ (or Σ g_t,b for a vector θ) over the (t, b) rows [lo, hi) of one dispatch:
 * one invocation per element of θ, reading the per-step operands wherever they are stored.
 */
export function reductionEntry(name: string, g: GradTerm, p: Leaf, env: KernelEnv, homes: Homes, params: ParamLayout): ShaderView['entries'][number] {
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
    `out_[${params.offset(g.param)} + g_] += acc_;`,
  ];
  let body: string[];
  let comment: string;
  if (g.kind === 'outer') {
    if (p.shape.length !== 2) throw new InvariantError(`outer-product gradient of the vector ${g.param}`);
    const r = dim(p.shape[0]!);
    const c = dim(p.shape[1]!);
    body = [`if (g_ >= ${r} * ${c}) {`, '  return;', '}', `let i_ = g_ / ${c};`, `let j_ = g_ % ${c};`, 'var acc_ = 0.0;', ...rows(`${read(g.dy, 'i_')} * ${read(g.v, 'j_')}`)];
    comment = `d${g.param} += sum over t, b of ${lab(g.dy)} ${lab(g.v)}'`;
  } else {
    if (p.shape.length !== 1) throw new InvariantError(`summed gradient of the matrix ${g.param}`);
    body = [`if (g_ >= ${dim(p.shape[0]!)}) {`, '  return;', '}', 'let i_ = g_;', 'var acc_ = 0.0;', ...rows(read(g.g, 'i_'))];
    comment = `d${g.param} += sum over t, b of ${lab(g.g)}`;
  }
  return { name, comment, body: body.map((l) => `  ${l}`).join('\n') };
}
