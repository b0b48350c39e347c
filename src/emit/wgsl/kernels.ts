// Builds a cell's forward and backward WGSL from its derivation: schedules, per-phase entry points, reductions.

import type { CompiledCell } from '../../derive/compile.js';
import type { GradTerm } from '../../derive/reverse.js';
import { InvariantError } from '../../spec/diagnostic.js';
import { children, type Concat, type Expr, isConst } from '../../ir/expr.js';
import type { Dim } from '../../ir/shape.js';
import type { BindingData, CellKernels, DispatchData, ReductionData, ShaderData } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE, sizeOverride } from '../../runtime/webgpu/types.js';
import { WgslFunctions } from './functions.js';
import { dim, ModuleNames, ParamLayout, StepLayout } from './layout.js';
import { notation } from './notation.js';
import { type At, type PrintEnv, WgslPrinter } from './printer.js';
import { type BoundValue, type Phase, type PhaseGroup, schedule, type Schedule, type ScheduleInput, type Sink, type SinkSpec } from './schedule.js';
import { renderShader, type ShaderView } from './templates.js';

export const WORKGROUP_SIZE = 64;

/** WGSL keywords and reserved words a value name must avoid (spec names avoid most already). */
const WGSL_RESERVED = [
  'alias', 'break', 'case', 'const', 'const_assert', 'continue', 'continuing', 'default', 'diagnostic', 'discard', 'else',
  'enable', 'false', 'fn', 'for', 'if', 'let', 'loop', 'override', 'requires', 'return', 'struct', 'switch', 'true', 'var',
  'while', 'bool', 'f16', 'f32', 'i32', 'u32', 'array', 'atomic', 'ptr', 'sampler', 'vec2', 'vec3', 'vec4', 'mat2x2',
  'mat3x3', 'mat4x4', 'NULL', 'Self', 'abstract', 'as', 'async', 'attribute', 'auto', 'await', 'become', 'cast', 'catch',
  'class', 'do', 'enum', 'export', 'extends', 'extern', 'filter', 'final', 'finally', 'from', 'get', 'goto', 'handle',
  'impl', 'import', 'in', 'layout', 'macro', 'match', 'meta', 'mod', 'module', 'move', 'mut', 'new', 'nil', 'null', 'of',
  'package', 'private', 'public', 'ref', 'self', 'set', 'shared', 'signed', 'sizeof', 'static', 'super', 'target',
  'this', 'throw', 'trait', 'try', 'type', 'typedef', 'union', 'unsafe', 'use', 'using', 'where', 'with', 'yield',
];

const AT: At = { t: 't_', b: 'b_', j: 'i_' };
const CHUNK_DOC = 'rows [lo, hi) of the (t, b) range';

/** Reads of one shader's buffers: how a leaf or stored value is found at an element. */
interface Homes {
  /** Available nodes (leaves, forward values in the backward); undefined for computed nodes. */
  available(e: Expr, at: At): string | undefined;
  /** A stored bound value of this shader. */
  stored(v: BoundValue, at: At): string;
  /** A short name for comments. */
  label(e: Expr): string | undefined;
}

class KernelEnv implements PrintEnv {
  /** Values bound by `let` in the group being printed. */
  readonly lets = new Set<number>();
  /** Values loaded from buffers into a `let` at the top of the group, by name. */
  readonly loaded = new Map<number, string>();
  private readonly helpers = new Map<number, { name: string; source: string }>();
  readonly printer: WgslPrinter;

  constructor(
    readonly fns: WgslFunctions,
    private readonly sched: Schedule,
    private readonly homes: Homes,
    private readonly params: ParamLayout,
    private readonly names: ModuleNames,
  ) {
    this.printer = new WgslPrinter(this, sizeOverride);
  }

  read(e: Expr, at: At, shifted: boolean): string | undefined {
    if (!shifted && this.loaded.has(e.id)) return this.loaded.get(e.id);
    const v = this.sched.values.get(e.id);
    if (v) {
      if (!shifted && this.lets.has(e.id)) return v.name;
      if (v.stored) return this.homes.stored(v, at);
      throw new InvariantError(`'${v.name}' is read where it is neither in scope nor stored`);
    }
    return this.homes.available(e, at);
  }

  matrix(m: Expr & { kind: 'leaf' }, row: string, col: string): string {
    return this.params.matrix(m.name, row, col);
  }

  // [a; b]_j = a_j for j < |a|, b_{j - |a|} otherwise.
  concat(e: Concat): string {
    const hit = this.helpers.get(e.id);
    if (hit) return hit.name;
    const name = this.names.add(`cat${this.helpers.size + 1}_`, 'a concatenation helper');
    const entry = { name, source: '' };
    this.helpers.set(e.id, entry);
    const saved = new Set(this.lets);
    const loaded = new Map(this.loaded);
    this.lets.clear();
    this.loaded.clear();
    const lines = [`// ${notation(e, (x) => this.homes.label(x) ?? this.sched.values.get(x.id)?.name)}`, `fn ${name}(t_: u32, b_: u32, j_: u32) -> f32 {`];
    let off: string | undefined;
    e.parts.forEach((p, i) => {
      const j = off === undefined ? 'j_' : `j_ - ${off}`;
      const value = this.printer.expr(p, { t: 't_', b: 'b_', j }, true);
      const end = off === undefined ? dim(p.shape[0]!) : `${off} + ${dim(p.shape[0]!)}`;
      if (i < e.parts.length - 1) lines.push(`  if (j_ < ${end}) {`, `    return ${value};`, '  }');
      else lines.push(`  return ${value};`);
      off = end;
    });
    lines.push('}');
    entry.source = lines.join('\n');
    for (const id of saved) this.lets.add(id);
    for (const [id, n] of loaded) this.loaded.set(id, n);
    return name;
  }

  /**
   * What a group reads at its own element from buffers (leaves, available and stored values of other
   * phases), in order of first use: loaded once into named `let`s so the arithmetic reads like the math.
   */
  loads(g: PhaseGroup, ph: Phase): { node: Expr; name: string }[] {
    const out: { node: Expr; name: string }[] = [];
    const seen = new Set<number>();
    const walk = (c: Expr): void => {
      if (c.kind === 'const' || seen.has(c.id)) return;
      const v = this.sched.values.get(c.id);
      if (v) {
        if (v.scope !== ph.scope || v.phase !== ph.index) out.push({ node: c, name: v.name });
        seen.add(c.id);
        return;
      }
      const label = this.homes.label(c);
      if (this.homes.available(c, AT) !== undefined && label !== undefined) {
        seen.add(c.id);
        out.push({ node: c, name: label });
        return;
      }
      if (c.kind === 'concat' || c.kind === 'slice' || c.kind === 'matvec') return; // read at other elements
      for (const k of children(c)) walk(k);
    };
    for (const v of g.values) if (v.node.kind === 'map' || v.node.kind === 'zip') for (const k of children(v.node)) walk(k);
    for (const s of g.sinks) walk(s.expr);
    return out;
  }

  helperSources(): string[] {
    return [...this.fns.sources(), ...[...this.helpers.values()].map((h) => h.source)];
  }
}

interface Built {
  view: ShaderView;
  data: Omit<ShaderData, 'shader'>;
}

const maxOf = (dims: readonly Dim[]): string => dims.map(dim).reduce((a, b) => `max(${a}, ${b})`);

/** One entry point per phase: the values of each size group, in dependency order, then the sinks. */
function phaseEntries(prefix: string, phases: readonly Phase[], env: KernelEnv, homes: Homes, sinkWrite: (s: Sink, value: string) => string, comment: (v: BoundValue) => string): { entries: ShaderView['entries']; dispatches: DispatchData[] } {
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
        if (v.stored) lines.push(`${homes.stored(v, AT)} = ${v.name};`);
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

/** Names of leaves as loaded into `let`s: parameters, inputs, s_prev and the incoming adjoints delta_s. */
function leafLabels(c: CompiledCell): string[] {
  return [...c.cell.params, ...c.cell.inputs].map((l) => l.name).concat(c.cell.prev.flatMap((s) => [`${s.name}_prev`, `delta_${s.name}`]));
}

function equationNames(c: CompiledCell): Map<number, string> {
  const m = new Map<number, string>();
  for (const eq of c.cell.equations) if (!m.has(eq.expr.id)) m.set(eq.expr.id, eq.name);
  return m;
}

function baseLayouts(c: CompiledCell, names: ModuleNames) {
  const params = new ParamLayout('params_', c.cell.params.map((p) => ({ name: p.name, shape: p.shape })), names);
  const xs = new StepLayout('xs_', 'X', c.cell.inputs.map((x) => ({ name: x.name, dim: x.shape[0]! })), 'inputs x_t', names);
  const states = new StepLayout('st_', 'S', c.cell.prev.map((s) => ({ name: s.name, dim: s.shape[0]! })), 'states, block 0 is s_0 and block t + 1 is s_{t+1}', names);
  return { params, xs, states };
}

function moduleNames(c: CompiledCell): ModuleNames {
  const names = new ModuleNames();
  for (const n of ['Ctl_', 'ctl_', 'params_', 'xs_', 'st_', 'fw_', 'ds_', 'bw_', 'out_']) names.add(n, 'a kernel buffer');
  names.add(BATCH_OVERRIDE, 'the batch size');
  for (const s of c.spec.sizes) names.add(sizeOverride(s.name), `size ${s.name}`);
  return names;
}

function sizeDecls(c: CompiledCell): string[] {
  return ['// Sizes, set per pipeline.', ...c.spec.sizes.map((s) => `override ${sizeOverride(s.name)}: u32;`), `override ${BATCH_OVERRIDE}: u32;`];
}

/** The forward: s_t from x_t and s_{t-1}; values the backward reads are stored per step in fw_. */
function buildForward(c: CompiledCell, eqNames: Map<number, string>): { built: Built; sched: Schedule } {
  const { cell, bw } = c;
  const input: ScheduleInput = {
    sinks: cell.prev.map((s): SinkSpec => ({ kind: 'state', name: s.name, dim: s.shape[0]!, expr: cell.next.get(s.name)!, recurrent: true })),
    forced: bw.saved,
    available: (e) => e.kind === 'leaf',
    recurrent: (e) => e.kind === 'leaf' && e.role === 'state',
    nameOf: (e) => eqNames.get(e.id),
    leafName: (e) => (e.kind === 'leaf' ? (e.role === 'state' ? `${e.name}_prev` : e.name) : 'v'),
    reserved: [...WGSL_RESERVED, ...leafLabels(c)],
  };
  const sched = schedule(input);
  const names = moduleNames(c);
  const { params, xs, states } = baseLayouts(c, names);
  const fwork = new StepLayout('fw_', 'FW', sched.stored.map((v) => ({ name: v.name, dim: v.node.shape[0]! })), 'forward values kept for the backward and between phases', names);
  const homes: Homes = {
    available: (e, at) => {
      if (e.kind !== 'leaf') return undefined;
      if (e.role === 'param') return params.vector(e.name, at.j);
      if (e.role === 'input') return xs.at(e.name, at.t, at.b, at.j);
      if (e.role === 'state') return states.at(e.name, at.t, at.b, at.j);
      throw new InvariantError(`no ${e.role} leaves in the forward`);
    },
    stored: (v, at) => fwork.at(v.name, at.t, at.b, at.j),
    label: (e) => (e.kind === 'leaf' ? input.leafName(e) : sched.values.get(e.id)?.name),
  };
  const env = new KernelEnv(new WgslFunctions(cell.fns), sched, homes, params, names);
  const eqText = new Map(cell.equations.map((q) => [q.name, q.decl.expr.text.trim()]));
  const comment = (v: BoundValue): string => {
    const text = eqText.get(v.name);
    return text !== undefined && eqNames.get(v.node.id) === v.name ? `${v.name} = ${text}` : `${v.name} = ${notation(v.node, homes.label)}`;
  };
  const sinkWrite = (s: Sink, value: string): string => {
    const what = notation(s.expr, homes.label, false);
    return `// new state ${s.name}${what === s.name ? '' : ` = ${what}`}\n${states.at(s.name, 't_ + 1u', 'b_', 'i_')} = ${value};`;
  };
  const { entries, dispatches } = phaseEntries('forward', sched.phases, env, homes, sinkWrite, comment);
  const bindings: BindingData[] = [
    { buffer: 'ctl', type: 'uniform' },
    { buffer: 'params', type: 'read-only-storage' },
    { buffer: 'xs', type: 'read-only-storage' },
    { buffer: 'states', type: 'storage' },
    { buffer: 'fwork', type: 'storage' },
  ];
  const view: ShaderView = {
    title: c.spec.title,
    file: c.spec.file,
    what: 'forward',
    buffers: bufferViews(bindings),
    overrides: [...sizeDecls(c), ...params.decls, ...xs.decls, ...states.decls, ...fwork.decls],
    helpers: env.helperSources(),
    entries,
    workgroupSize: WORKGROUP_SIZE,
  };
  return { built: { view, data: { bindings, dispatches, reductions: [] } }, sched };
}

const BUFFER_DOCS: Record<BindingData['buffer'], [string, string]> = {
  ctl: ['ctl_', 'the step of this dispatch'],
  params: ['params_', 'parameters θ'],
  xs: ['xs_', 'inputs x_t'],
  states: ['st_', 'states s_0 .. s_T'],
  fwork: ['fw_', 'forward values stored per step'],
  dstates: ['ds_', 'state adjoints: block t + 1 starts as dL/ds_{t+1}; step t adds what flows back to s_t'],
  bwork: ['bw_', 'backward values stored per step'],
  out: ['out_', 'parameter gradients (laid out like params_), then input adjoints (laid out like xs_)'],
};

function bufferViews(bindings: readonly BindingData[]): ShaderView['buffers'] {
  return bindings.flatMap((b, i) => {
    if (b.type === 'uniform') return [];
    const [name, comment] = BUFFER_DOCS[b.buffer];
    return [{ binding: i, name, access: b.type === 'storage' ? 'read_write' : 'read', comment }];
  });
}

/** The backward: BPTT over the stored forward, then the parameter gradients as reductions over (t, b). */
function buildBackward(c: CompiledCell, eqNames: Map<number, string>, fw: Schedule): Built & { bwork: CellKernels['bwork'] } {
  const { cell, bw } = c;
  const fwStored = new Map(fw.stored.map((v) => [v.node.id, v]));
  const stateRoot = new Map<number, string>();
  for (const s of cell.prev) if (!stateRoot.has(cell.next.get(s.name)!.id)) stateRoot.set(cell.next.get(s.name)!.id, s.name);
  const bindName = new Map<number, string>();
  for (const b of bw.bindings) if (!bindName.has(b.expr.id)) bindName.set(b.expr.id, b.name);
  const operands = (g: GradTerm): Expr[] => (g.kind === 'outer' ? [g.dy, g.v] : [g.g]);
  const leafName = (e: Expr): string => {
    if (e.kind === 'leaf') return e.role === 'seed' ? `delta_${e.name}` : e.role === 'state' ? `${e.name}_prev` : e.name;
    return stateRoot.get(e.id) ?? fwStored.get(e.id)?.name ?? 'v';
  };
  const sinks: SinkSpec[] = [];
  for (const s of cell.prev) {
    const expr = bw.prevAdjoint.get(s.name)!;
    if (!isConst(expr, 0)) sinks.push({ kind: 'dstate', name: s.name, dim: s.shape[0]!, expr, recurrent: true });
  }
  for (const x of cell.inputs) {
    const expr = bw.inputAdjoint.get(x.name)!;
    if (!isConst(expr, 0)) sinks.push({ kind: 'dx', name: x.name, dim: x.shape[0]!, expr, recurrent: false });
  }
  const availableNode = (e: Expr): boolean => e.kind === 'leaf' || stateRoot.has(e.id) || fwStored.has(e.id);
  const input: ScheduleInput = {
    sinks,
    // A gradient operand that is a concatenation of stored values is read through its helper, not copied.
    forced: bw.grads.flatMap(operands).filter((e) => e.kind !== 'const' && !(e.kind === 'concat' && e.parts.every(availableNode))),
    available: availableNode,
    recurrent: (e) => e.kind === 'leaf' && e.role === 'seed',
    nameOf: (e) => bindName.get(e.id) ?? eqNames.get(e.id),
    leafName,
    reserved: [...WGSL_RESERVED, ...leafLabels(c), ...cell.prev.map((p) => p.name), ...fw.stored.map((v) => v.name)],
  };
  const sched = schedule(input);
  const names = moduleNames(c);
  const { params, xs, states } = baseLayouts(c, names);
  const fwork = new StepLayout('fw_', 'FW', fw.stored.map((v) => ({ name: v.name, dim: v.node.shape[0]! })), 'forward values stored per step', names);
  const bwork = new StepLayout('bw_', 'BW', sched.stored.map((v) => ({ name: v.name, dim: v.node.shape[0]! })), 'backward values kept between phases and for the gradient reductions', names);
  const homes: Homes = {
    available: (e, at) => {
      if (e.kind === 'leaf') {
        if (e.role === 'param') return params.vector(e.name, at.j);
        if (e.role === 'input') return xs.at(e.name, at.t, at.b, at.j);
        if (e.role === 'state') return states.at(e.name, at.t, at.b, at.j);
        return states.at(e.name, `${at.t} + 1u`, at.b, at.j, { buffer: 'ds_' }); // δs_t: block t + 1
      }
      const s = stateRoot.get(e.id);
      if (s !== undefined) return states.at(s, `${at.t} + 1u`, at.b, at.j);
      const f = fwStored.get(e.id);
      return f ? fwork.at(f.name, at.t, at.b, at.j) : undefined;
    },
    stored: (v, at) => bwork.at(v.name, at.t, at.b, at.j),
    label: (e) => (input.available(e) ? leafName(e) : sched.values.get(e.id)?.name),
  };
  const env = new KernelEnv(new WgslFunctions(cell.fns), sched, homes, params, names);
  const comment = (v: BoundValue): string => `${v.name} = ${notation(v.node, homes.label)}`;
  const sinkWrite = (s: Sink, value: string): string => {
    const at = notation(s.expr, homes.label, false);
    if (s.kind === 'dstate') return `// d${s.name}_prev = ${at}, added into the adjoint of s_t\n${states.at(s.name, 't_', 'b_', 'i_', { buffer: 'ds_' })} += ${value};`;
    return `// d${s.name} = ${at}\n${xs.at(s.name, 't_', 'b_', 'i_', { base: params.total, buffer: 'out_' })} = ${value};`;
  };
  const { entries, dispatches } = phaseEntries('backward', sched.phases, env, homes, sinkWrite, comment);

  const reductions: ReductionData[] = [];
  bw.grads.forEach((g, k) => {
    const name = `grad${k}_${g.param}`;
    const p = cell.params.find((q) => q.name === g.param)!;
    const read = (e: Expr, j: string): string => {
      env.lets.clear();
      env.loaded.clear();
      return env.printer.expr(e, { t: 't_', b: 'b_', j }, true);
    };
    const lab = (e: Expr): string => notation(e, homes.label, false);
    let body: string[];
    if (g.kind === 'outer') {
      if (p.shape.length !== 2) throw new InvariantError(`outer-product gradient of the vector ${g.param}`);
      const rows = dim(p.shape[0]!);
      const cols = dim(p.shape[1]!);
      body = [`if (g_ >= ${rows} * ${cols}) {`, '  return;', '}', `let i_ = g_ / ${cols};`, `let j_ = g_ % ${cols};`, 'var acc_ = 0.0;',
        `// ${CHUNK_DOC}`, 'for (var r_ = ctl_.lo; r_ < ctl_.hi; r_++) {', `  let t_ = r_ / ${BATCH_OVERRIDE};`, `  let b_ = r_ % ${BATCH_OVERRIDE};`,
        `  acc_ += ${read(g.dy, 'i_')} * ${read(g.v, 'j_')};`, '}', `out_[${params.offset(g.param)} + g_] += acc_;`];
      entries.push({ name, comment: `d${g.param} += sum over t, b of ${lab(g.dy)} ${lab(g.v)}'`, body: body.map((l) => `  ${l}`).join('\n') });
    } else {
      if (p.shape.length !== 1) throw new InvariantError(`summed gradient of the matrix ${g.param}`);
      body = [`if (g_ >= ${dim(p.shape[0]!)}) {`, '  return;', '}', 'let i_ = g_;', 'var acc_ = 0.0;', `// ${CHUNK_DOC}`,
        'for (var r_ = ctl_.lo; r_ < ctl_.hi; r_++) {', `  let t_ = r_ / ${BATCH_OVERRIDE};`, `  let b_ = r_ % ${BATCH_OVERRIDE};`,
        `  acc_ += ${read(g.g, 'i_')};`, '}', `out_[${params.offset(g.param)} + g_] += acc_;`];
      entries.push({ name, comment: `d${g.param} += sum over t, b of ${lab(g.g)}`, body: body.map((l) => `  ${l}`).join('\n') });
    }
    reductions.push({ entry: name, param: g.param });
  });

  const bindings: BindingData[] = [
    { buffer: 'ctl', type: 'uniform' },
    { buffer: 'params', type: 'read-only-storage' },
    { buffer: 'xs', type: 'read-only-storage' },
    { buffer: 'states', type: 'read-only-storage' },
    { buffer: 'fwork', type: 'read-only-storage' },
    { buffer: 'dstates', type: 'storage' },
    { buffer: 'bwork', type: 'storage' },
    { buffer: 'out', type: 'storage' },
  ];
  const view: ShaderView = {
    title: c.spec.title,
    file: c.spec.file,
    what: 'backward',
    buffers: bufferViews(bindings),
    overrides: [...sizeDecls(c), ...params.decls, ...xs.decls, ...states.decls, ...fwork.decls, ...bwork.decls],
    helpers: env.helperSources(),
    entries,
    workgroupSize: WORKGROUP_SIZE,
  };
  const bworkSlots = sched.stored.map((v) => ({ name: v.name, dim: v.node.shape[0]! }));
  return { view, data: { bindings, dispatches, reductions }, bwork: bworkSlots };
}

/** Both shaders and the runner's description of them. */
export function buildKernels(c: CompiledCell): { shaders: { forward: string; backward: string }; kernels: CellKernels } {
  const eqNames = equationNames(c);
  const fw = buildForward(c, eqNames);
  const bwd = buildBackward(c, eqNames, fw.sched);
  const forward = renderShader(fw.built.view);
  const backward = renderShader(bwd.view);
  const storageCount = (b: readonly BindingData[]) => b.filter((x) => x.type !== 'uniform').length;
  const kernels: CellKernels = {
    cell: c.spec.name,
    file: c.spec.file,
    sizes: c.spec.sizes.map((s) => s.name),
    params: c.cell.params.map((p) => ({ name: p.name, shape: p.shape })),
    inputs: c.cell.inputs.map((x) => ({ name: x.name, dim: x.shape[0]! })),
    states: c.cell.prev.map((s) => ({ name: s.name, dim: s.shape[0]! })),
    fwork: fw.sched.stored.map((v) => ({ name: v.name, dim: v.node.shape[0]! })),
    bwork: bwd.bwork,
    forward: { shader: forward, ...fw.built.data },
    backward: { shader: backward, ...bwd.data },
    workgroupSize: WORKGROUP_SIZE,
    requiredLimits: {
      maxStorageBuffersPerShaderStage: Math.max(storageCount(fw.built.data.bindings), storageCount(bwd.data.bindings)),
      maxComputeInvocationsPerWorkgroup: WORKGROUP_SIZE,
      maxComputeWorkgroupSizeX: WORKGROUP_SIZE,
    },
  };
  return { shaders: { forward, backward }, kernels };
}
