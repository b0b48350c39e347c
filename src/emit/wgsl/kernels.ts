// Builds a cell's forward and backward WGSL from its derivation: schedules, per-phase entry points, reductions.

import type { CompiledCell } from '../../derive/compile.js';
import type { GradTerm } from '../../derive/reverse.js';
import { InvariantError } from '../../spec/diagnostic.js';
import { type Expr, isConst } from '../../ir/expr.js';
import { type Dim, dimKey } from '../../ir/shape.js';
import type { BindingData, CellKernels, ReductionData, ShaderData } from '../../runtime/webgpu/types.js';
import { BATCH_OVERRIDE, BATCH_TILE_OVERRIDE, sizeOverride } from '../../runtime/webgpu/types.js';
import { specIdent } from '../names.js';
import { wgslComment } from '../../text/escape.js';
import { customHelperName, HELPER_NAMES } from './functions.js';
import { MAX_BATCH_TILE, phaseEntries, reductionEntry } from './entries.js';
import { LOOP_SHARED, LOOP_TILE, LOOP_TILE_NAMES } from './looptile.js';
import { GEMM_SHARED, GEMM_SIDE, GEMM_TILE, gradGemm, gradGemmSize } from './gemm.js';
import { type Homes, KernelEnv } from './env.js';
import { WgslFunctions } from './functions.js';
import { ModuleNames, ParamLayout, StepLayout } from './layout.js';
import { notation } from './notation.js';
import { type BoundValue, schedule, type Schedule, type ScheduleInput, type Sink, type SinkSpec } from './schedule.js';
import { renderShader, type ShaderView } from './templates.js';

export const WORKGROUP_SIZE = 64;

interface Built {
  view: ShaderView;
  data: Omit<ShaderData, 'shader'>;
}

/** Names of leaves as loaded into `let`s: parameters, inputs, s_prev (spec names) and the incoming adjoints delta_s_. */
function leafLabels(c: CompiledCell): string[] {
  return [...c.cell.params, ...c.cell.inputs].map((l) => specIdent('wgsl', l.name)).concat(c.cell.prev.flatMap((s) => [specIdent('wgsl', `${s.name}_prev`), deltaName(s.name)]));
}

const deltaName = (state: string): string => `delta_${state}_`;

/** The `let` name of a leaf: its spec name (s_prev for a state), or delta_s_ for an incoming adjoint. */
const leafLet = (e: Expr): string =>
  e.kind !== 'leaf' ? 'v' : e.role === 'seed' ? deltaName(e.name) : specIdent('wgsl', e.role === 'state' ? `${e.name}_prev` : e.name);

type Slot = { name: string; dim: Dim };

/** The new value of each state, by node: s_t is stored in st_ (block t + 1). */
function stateRoots(c: CompiledCell): Map<number, string> {
  const m = new Map<number, string>();
  for (const s of c.cell.prev) if (!m.has(c.cell.next.get(s.name)!.id)) m.set(c.cell.next.get(s.name)!.id, s.name);
  return m;
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

/** Fixed local names of the entry points and GEMM kernels (all end in '_', so no spec name can take them). */
const KERNEL_LOCALS = [
  't_', 'b_', 'i_', 'j_', 'k_', 'g_', 'r_', 'n_', 'm_', 'q_', 'c_', 's_', 'v_', 'w_', 'e0_', 'b0_', 'bq_', 'k0_', 'kk_', 'm0_', 'n0_',
  'tx_', 'ty_', 'acc_', 's0_', 'ra_', 'rb_', 'k_size_', 'm_size_', 'n_size_', 'gid_', 'nwg_', 'lid_', 'wid_', ...Array.from({ length: 16 }, (_, i) => `a${i}_`),
];

function moduleNames(c: CompiledCell): ModuleNames {
  const names = new ModuleNames();
  for (const n of ['Ctl_', 'ctl_', 'params_', 'xs_', 'st_', 'fw_', 'ds_', 'bw_', 'grads_', 'dxs_']) names.add(n, 'a kernel buffer');
  for (const n of ['gemm_a_', 'gemm_b_']) names.add(n, 'a GEMM tile');
  for (const n of LOOP_TILE_NAMES) names.add(n, 'a loop-kernel tile or local');
  for (const n of KERNEL_LOCALS) if (!names.has(n)) names.add(n, 'a kernel local');
  for (const n of HELPER_NAMES) names.add(n, 'a helper function');
  for (const a of c.spec.activations) for (const f of [a.name, `${a.name}_grad`]) names.add(customHelperName(f), `the helper of ${f}`);
  names.add(BATCH_OVERRIDE, 'the batch size');
  names.add(BATCH_TILE_OVERRIDE, 'the batch tile of the loop kernels');
  for (const s of c.spec.sizes) names.add(sizeOverride(s.name), `size ${s.name}`);
  return names;
}

/** Claims the value names a schedule chose, so module-scope names allocated later avoid them. */
function claimValues(names: ModuleNames, sched: Schedule, labels: readonly string[]): void {
  for (const l of labels) if (!names.has(l)) names.add(l, 'a leaf value');
  for (const v of sched.values.values()) if (!names.has(v.name)) names.add(v.name, 'a value');
}

function sizeDecls(c: CompiledCell): string[] {
  return [
    '// Sizes, set per pipeline.',
    ...c.spec.sizes.map((s) => `override ${sizeOverride(s.name)}: u32;`),
    `override ${BATCH_OVERRIDE}: u32;`,
    `// Batch rows per invocation of a loop kernel (1 .. ${MAX_BATCH_TILE}).`,
    `override ${BATCH_TILE_OVERRIDE}: u32 = 1u;`,
  ];
}

/** The forward: s_t from x_t and s_{t-1}; values the backward reads are stored per step in fw_. */
function buildForward(c: CompiledCell, eqNames: Map<number, string>): { built: Built; sched: Schedule; slots: Slot[] } {
  const { cell, bw } = c;
  const roots = stateRoots(c);
  const input: ScheduleInput = {
    sinks: cell.prev.map((s): SinkSpec => ({ kind: 'state', name: s.name, dim: s.shape[0]!, expr: cell.next.get(s.name)!, recurrent: true })),
    forced: bw.saved,
    available: (e) => e.kind === 'leaf',
    recurrent: (e) => e.kind === 'leaf' && e.role === 'state',
    nameOf: (e) => eqNames.get(e.id),
    leafName: leafLet,
    reserved: [...moduleNames(c).all(), ...leafLabels(c)],
  };
  const sched = schedule(input);
  const names = moduleNames(c);
  claimValues(names, sched, leafLabels(c));
  const { params, xs, states } = baseLayouts(c, names);
  // A stored new state lives in st_ (block t + 1) only.
  const slots = sched.stored.filter((v) => !roots.has(v.node.id)).map((v) => ({ name: v.name, dim: v.node.shape[0]! }));
  const fwork = new StepLayout('fw_', 'FW', slots, 'forward values kept for the backward and between phases', names);
  const homes: Homes = {
    available: (e, at) => {
      if (e.kind !== 'leaf') return undefined;
      if (e.role === 'param') return params.vector(e.name, e.shape.length === 0 ? '0u' : at.j);
      if (e.role === 'input') return xs.at(e.name, at.t, at.b, at.j);
      if (e.role === 'state') return states.at(e.name, at.t, at.b, at.j);
      throw new InvariantError(`no ${e.role} leaves in the forward`);
    },
    stored: (v, at) => (roots.has(v.node.id) ? states.at(roots.get(v.node.id)!, `${at.t} + 1u`, at.b, at.j) : fwork.at(v.name, at.t, at.b, at.j)),
    writes: (v) => !roots.has(v.node.id),
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
  const { entries, gemms, tiles, dispatches } = phaseEntries('forward', sched.phases, env, homes, sinkWrite, comment);
  const bindings: BindingData[] = [
    { buffer: 'ctl', type: 'uniform' },
    { buffer: 'params', type: 'read-only-storage' },
    { buffer: 'xs', type: 'read-only-storage' },
    { buffer: 'states', type: 'storage' },
    { buffer: 'fwork', type: 'storage' },
  ];
  const view = shaderView(c, 'forward', bindings, [...sizeDecls(c), ...params.decls, ...xs.decls, ...states.decls, ...fwork.decls], env, { entries, gemms, tiles });
  return { built: { view, data: { bindings, dispatches, reductions: [] } }, sched, slots };
}

/** The view of one shader: its bindings, overrides and entry points, over the fixed GEMM and loop-tile scaffolding. */
function shaderView(c: CompiledCell, what: ShaderView['what'], bindings: readonly BindingData[], overrides: ShaderView['overrides'], env: KernelEnv, parts: Pick<ShaderView, 'entries' | 'gemms' | 'tiles'>): ShaderView {
  return {
    title: wgslComment(c.spec.title),
    file: wgslComment(c.spec.file),
    what,
    buffers: bufferViews(bindings),
    overrides,
    helpers: env.helperSources(),
    entries: parts.entries,
    workgroupSize: WORKGROUP_SIZE,
    gemms: parts.gemms,
    gemmShared: GEMM_SHARED,
    gemmSide: GEMM_SIDE,
    tiles: parts.tiles,
    tileShared: LOOP_SHARED,
    tileThreads: LOOP_TILE.threads,
  };
}

const BUFFER_DOCS: Record<BindingData['buffer'], [string, string]> = {
  ctl: ['ctl_', 'the step of this dispatch'],
  params: ['params_', 'parameters θ'],
  xs: ['xs_', 'inputs x_t'],
  states: ['st_', 'states s_0 .. s_T'],
  fwork: ['fw_', 'forward values stored per step'],
  dstates: ['ds_', 'state adjoints: block t + 1 starts as dL/ds_{t+1}; step t adds what flows back to s_t'],
  bwork: ['bw_', 'backward values stored per step'],
  grads: ['grads_', 'parameter gradients, laid out like params_'],
  dxs: ['dxs_', 'input adjoints, laid out like xs_'],
};

function bufferViews(bindings: readonly BindingData[]): ShaderView['buffers'] {
  return bindings.flatMap((b, i) => {
    if (b.type === 'uniform') return [];
    const [name, comment] = BUFFER_DOCS[b.buffer];
    return [{ binding: i, name, access: b.type === 'storage' ? 'read_write' : 'read', comment }];
  });
}

/** The backward: BPTT over the stored forward, then the parameter gradients as reductions over (t, b). */
function buildBackward(c: CompiledCell, eqNames: Map<number, string>, fw: Schedule, fwSlots: readonly Slot[]): Built & { bwork: Slot[] } {
  const { cell, bw } = c;
  const stateRoot = stateRoots(c);
  const fwStored = new Map(fw.stored.filter((v) => !stateRoot.has(v.node.id)).map((v) => [v.node.id, v]));
  const bindName = new Map<number, string>();
  for (const b of bw.bindings) if (!bindName.has(b.expr.id)) bindName.set(b.expr.id, b.name);
  const operands = (g: GradTerm): Expr[] => (g.kind === 'outer' ? [g.dy, g.v] : [g.g]);
  const leafName = (e: Expr): string => {
    if (e.kind === 'leaf') return leafLet(e);
    const s = stateRoot.get(e.id);
    return s !== undefined ? specIdent('wgsl', s) : fwStored.get(e.id)?.name ?? 'v';
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
    reserved: [...moduleNames(c).all(), ...leafLabels(c), ...cell.prev.map((p) => specIdent('wgsl', p.name)), ...fw.stored.map((v) => v.name)],
  };
  const sched = schedule(input);
  const names = moduleNames(c);
  claimValues(names, sched, [...leafLabels(c), ...cell.prev.map((p) => specIdent('wgsl', p.name)), ...fw.stored.map((v) => v.name)]);
  const { params, xs, states } = baseLayouts(c, names);
  const fwork = new StepLayout('fw_', 'FW', fwSlots, 'forward values stored per step', names);
  const bwork = new StepLayout('bw_', 'BW', sched.stored.map((v) => ({ name: v.name, dim: v.node.shape[0]! })), 'backward values kept between phases and for the gradient reductions', names);
  const homes: Homes = {
    available: (e, at) => {
      if (e.kind === 'leaf') {
        if (e.role === 'param') return params.vector(e.name, e.shape.length === 0 ? '0u' : at.j);
        if (e.role === 'input') return xs.at(e.name, at.t, at.b, at.j);
        if (e.role === 'state') return states.at(e.name, at.t, at.b, at.j);
        return states.at(e.name, `${at.t} + 1u`, at.b, at.j, { buffer: 'ds_' }); // δs_t: block t + 1
      }
      const s = stateRoot.get(e.id);
      if (s !== undefined) return states.at(s, `${at.t} + 1u`, at.b, at.j);
      const f = fwStored.get(e.id);
      return f ? fwork.at(f.name, at.t, at.b, at.j) : undefined;
    },
    stored: (v, at) => (v.into ? xs.at(v.into.sink, at.t, at.b, at.j, { buffer: 'dxs_' }) : bwork.at(v.name, at.t, at.b, at.j)),
    writes: () => true,
    label: (e) => (input.available(e) ? leafName(e) : sched.values.get(e.id)?.name),
  };
  const env = new KernelEnv(new WgslFunctions(cell.fns), sched, homes, params, names);
  const comment = (v: BoundValue): string => `${v.name} = ${notation(v.node, homes.label)}`;
  const sinkWrite = (s: Sink, value: string): string => {
    const at = notation(s.expr, homes.label, false);
    if (s.kind === 'dstate') return `// d${s.name}_prev = ${at}, added into the adjoint of s_t\n${states.at(s.name, 't_', 'b_', 'i_', { buffer: 'ds_' })} += ${value};`;
    return `// d${s.name} ${s.accumulate ? '+' : ''}= ${at}\n${xs.at(s.name, 't_', 'b_', 'i_', { buffer: 'dxs_' })} ${s.accumulate ? '+' : ''}= ${value};`;
  };
  const { entries, gemms, tiles, dispatches } = phaseEntries('backward', sched.phases, env, homes, sinkWrite, comment);

  // Outer-product gradients sharing v (and so n) are one GEMM, their parameters' rows stacked; a parameter with two
  // terms starts a new group, so no GEMM adds into one gradient twice.
  const reductions: ReductionData[] = [];
  const stacks: { key: string; name: string; terms: { g: GradTerm & { kind: 'outer' }; p: (typeof cell.params)[number] }[] }[] = [];
  bw.grads.forEach((g, k) => {
    const name = `grad${k}_${g.param}`;
    const p = cell.params.find((q) => q.name === g.param)!;
    if (g.kind === 'outer') {
      const key = `${g.v.id}|${p.shape.length === 2 ? dimKey(p.shape[1]!) : ''}`;
      const s = stacks.find((x) => x.key === key && !x.terms.some((t) => t.g.param === g.param));
      if (s) s.terms.push({ g, p });
      else stacks.push({ key, name, terms: [{ g, p }] });
      return;
    }
    entries.push(reductionEntry(name, g, p, env, homes, params));
    reductions.push({ entry: name, params: [g.param], kind: 'sum', shape: p.shape });
  });
  for (const s of stacks) {
    gemms.push(gradGemm(s.name, s.terms, env, homes, params));
    reductions.push({ entry: s.name, params: s.terms.map((t) => t.g.param), kind: 'gemm', shape: gradGemmSize(s.terms) });
  }

  const bindings: BindingData[] = [
    { buffer: 'ctl', type: 'uniform' },
    { buffer: 'params', type: 'read-only-storage' },
    { buffer: 'xs', type: 'read-only-storage' },
    { buffer: 'states', type: 'read-only-storage' },
    { buffer: 'fwork', type: 'read-only-storage' },
    { buffer: 'dstates', type: 'storage' },
    { buffer: 'bwork', type: 'storage' },
    { buffer: 'grads', type: 'storage' },
    { buffer: 'dxs', type: 'storage' },
  ];
  const view = shaderView(c, 'backward', bindings, [...sizeDecls(c), ...params.decls, ...xs.decls, ...states.decls, ...fwork.decls, ...bwork.decls], env, { entries, gemms, tiles });
  const bworkSlots = sched.stored.map((v) => ({ name: v.name, dim: v.node.shape[0]! }));
  return { view, data: { bindings, dispatches, reductions }, bwork: bworkSlots };
}

/** Both shaders and the runner's description of them. */
export function buildKernels(c: CompiledCell): { shaders: { forward: string; backward: string }; kernels: CellKernels } {
  const eqNames = equationNames(c);
  const fw = buildForward(c, eqNames);
  const bwd = buildBackward(c, eqNames, fw.sched, fw.slots);
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
    fwork: fw.slots,
    bwork: bwd.bwork,
    forward: { shader: forward, ...fw.built.data },
    backward: { shader: backward, ...bwd.data },
    workgroupSize: WORKGROUP_SIZE,
    gemmTile: GEMM_TILE,
    maxBatchTile: MAX_BATCH_TILE,
    loopTile: LOOP_TILE,
    requiredLimits: {
      maxStorageBuffersPerShaderStage: Math.max(storageCount(fw.built.data.bindings), storageCount(bwd.data.bindings)),
      maxComputeInvocationsPerWorkgroup: Math.max(WORKGROUP_SIZE, GEMM_TILE.threads, LOOP_TILE.threads),
      maxComputeWorkgroupSizeX: Math.max(WORKGROUP_SIZE, GEMM_SIDE, LOOP_TILE.threads),
      maxComputeWorkgroupSizeY: GEMM_SIDE,
    },
  };
  return { shaders: { forward, backward }, kernels };
}
