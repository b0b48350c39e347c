// Initialisers by parameter role (Glorot, orthogonal, forget-gate bias) and a model builder over any kernels.

import type { Layer } from './layers.js';
import { Random } from './random.js';
import type { Model } from './train.js';
import { type AnyKernels, type Arr, asAny, type CellInfo, type Kernels } from './types.js';

/** What a block of a parameter does; see src/derive/roles.ts for how a cell's structure decides it. */
export type RoleKind = 'input' | 'recurrent' | 'bias' | 'forget-bias' | 'forget-bias-inverted' | 'peephole' | 'diagonal' | 'scale' | 'readout';
export const ROLE_KINDS: readonly RoleKind[] = ['input', 'recurrent', 'bias', 'forget-bias', 'forget-bias-inverted', 'peephole', 'diagonal', 'scale', 'readout'];

/** A parameter is one block (a vector) or a row of column blocks (a matrix: [rows][Σ widths]). */
export interface RoleBlock {
  readonly role: RoleKind;
  /** Columns of this block (1 for a vector). */
  readonly cols: number;
}
export interface ParamLayout {
  readonly rows: number;
  readonly blocks: readonly RoleBlock[];
}

/** Fills `out` (rows × cols, row-major, a view into the parameter's block). */
export interface Initializer {
  readonly name: string;
  fill(block: { rows: number; cols: number; get(i: number, j: number): number; set(i: number, j: number, v: number): void }, rng: Random): void;
}

export const zeros: Initializer = { name: 'zeros', fill: () => {} };
export const constant = (v: number): Initializer => ({
  name: `constant(${v})`,
  fill: (b) => { for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) b.set(i, j, v); },
});
export const uniform = (lo: number, hi: number): Initializer => ({
  name: `uniform(${lo}, ${hi})`,
  fill: (b, rng) => { for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) b.set(i, j, rng.uniform(lo, hi)); },
});
/** Glorot & Bengio (2010): U(±√(6 / (fan_in + fan_out))) with fan_in = cols, fan_out = rows. */
export const glorotUniform: Initializer = {
  name: 'glorotUniform',
  fill: (b, rng) => {
    const a = Math.sqrt(6 / (b.rows + b.cols));
    for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) b.set(i, j, rng.uniform(-a, a));
  },
};
/**
 * Saxe et al. (2014): a random orthogonal matrix (Gram–Schmidt on a Gaussian matrix, twice for
 * stability), times `gain`. Non-square blocks get orthonormal rows or columns, whichever are fewer.
 */
export const orthogonal = (gain = 1): Initializer => ({
  name: gain === 1 ? 'orthogonal' : `orthogonal(${gain})`,
  fill: (b, rng) => {
    const byRows = b.rows <= b.cols;
    const n = byRows ? b.rows : b.cols; // vectors to orthonormalise
    const m = byRows ? b.cols : b.rows; // their length
    const v = Array.from({ length: n }, () => Float64Array.from({ length: m }, () => rng.normal()));
    for (let k = 0; k < n; k++) {
      for (let pass = 0; pass < 2; pass++)
        for (let p = 0; p < k; p++) {
          let d = 0;
          for (let i = 0; i < m; i++) d += v[k]![i]! * v[p]![i]!;
          for (let i = 0; i < m; i++) v[k]![i]! -= d * v[p]![i]!;
        }
      let s = 0;
      for (let i = 0; i < m; i++) s += v[k]![i]! ** 2;
      const inv = 1 / Math.sqrt(s);
      for (let i = 0; i < m; i++) v[k]![i]! *= inv;
    }
    for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) b.set(i, j, gain * (byRows ? v[i]![j]! : v[j]![i]!));
  },
});

/** The default initialiser of each role (the choice; every entry can be overridden). */
export const DEFAULT_INIT: Readonly<Record<RoleKind, Initializer>> = {
  input: glorotUniform,
  recurrent: orthogonal(), // square blocks; others fall back to glorotUniform
  bias: zeros,
  'forget-bias': constant(1), // σ(1) ≈ 0.73 of the state is kept at the start
  'forget-bias-inverted': constant(-1), // the same for s_t = (1 - g) ⊙ s_{t-1} + …
  peephole: zeros,
  diagonal: uniform(0, 1), // IndRNN's u ⊙ h_{t-1} (Li et al., 2018)
  scale: constant(1),
  readout: glorotUniform,
};

/** Evaluates a dimension text such as 'hidden', '2 hidden', 'hidden + input' or '3'. */
export function evalDimText(text: string, sizes: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const term of text.split('+').map((t) => t.trim())) {
    const m = /^(\d+)?\s*([A-Za-z_][A-Za-z0-9_]*)?$/.exec(term);
    if (!m || (!m[1] && !m[2])) throw new Error(`cannot read the dimension '${text}'`);
    const k = m[1] ? Number(m[1]) : 1;
    if (!m[2]) total += k;
    else {
      const s = sizes[m[2]];
      if (s === undefined) throw new Error(`no value for size '${m[2]}' (in '${text}')`);
      total += k * s;
    }
  }
  return total;
}

/**
 * The layout of a parameter from the cell's recorded role, or, for kernels without roles, from its
 * shape alone: a [n, m] matrix whose columns are a state's size n is recurrent, any other is input.
 */
export function paramLayout(cell: CellInfo, param: string, shape: readonly number[], sizes: Readonly<Record<string, number>>): ParamLayout {
  const rows = shape.length === 2 ? shape[0]! : 1;
  const cols = shape.length === 2 ? shape[1]! : shape[0] ?? 1;
  const text = cell.roles?.[param];
  if (text === undefined) {
    if (shape.length < 2) return { rows, blocks: [{ role: 'bias', cols }] };
    const stateSizes = new Set(Object.values(cell.states));
    const colText = /,\s*([^\]]+)\]$/.exec(cell.params[param] ?? '')?.[1]?.trim();
    return { rows, blocks: [{ role: colText !== undefined && stateSizes.has(colText) ? 'recurrent' : 'input', cols }] };
  }
  const blocks: RoleBlock[] = [];
  for (const part of text.split('|').map((p) => p.trim())) {
    const m = /^([a-z-]+)(?:\[([^\]]+)\])?$/.exec(part);
    if (!m || !(ROLE_KINDS as readonly string[]).includes(m[1]!)) throw new Error(`${cell.name}: unknown role '${part}' for ${param}`);
    blocks.push({ role: m[1] as RoleKind, cols: m[2] ? evalDimText(m[2], sizes) : cols });
  }
  const sum = blocks.reduce((s, b) => s + b.cols, 0);
  if (sum !== cols) throw new Error(`${cell.name}: the role blocks of ${param} cover ${sum} columns of ${cols}`);
  return { rows, blocks };
}

export interface InitOptions {
  readonly seed: number;
  /** Replaces the default initialiser of a role. */
  readonly roles?: Partial<Record<RoleKind, Initializer>>;
  /** Replaces the initialiser of one parameter by name (all its blocks), e.g. { U: orthogonal(1.5) }. */
  readonly params?: Readonly<Record<string, Initializer>>;
}

function fillParam(out: Arr, layout: ParamLayout, pick: (role: RoleKind) => Initializer, rng: Random): void {
  const C = layout.blocks.reduce((s, b) => s + b.cols, 0);
  let off = 0;
  for (const blk of layout.blocks) {
    let init = pick(blk.role);
    if (blk.role === 'recurrent' && init === DEFAULT_INIT.recurrent && blk.cols !== layout.rows) init = glorotUniform;
    const o = off;
    init.fill({ rows: layout.rows, cols: blk.cols, get: (i, j) => out[i * C + o + j]!, set: (i, j, v) => { out[i * C + o + j] = v; } }, rng);
    off += blk.cols;
  }
}

/** Fresh parameters for one direction of a layer, each initialised by its role. */
export function initParams<A extends Arr>(kernels: Kernels<A> | AnyKernels<A>, sizes: Record<string, number>, array: new (n: number) => A, opts: InitOptions): Record<string, A> {
  const k = asAny(kernels as Kernels<A>);
  const rng = new Random(opts.seed);
  const shapes = k.paramShapes(withUnusedSizes(k.cell, sizes, 1));
  const out: Record<string, A> = {};
  for (const name of Object.keys(k.cell.params)) {
    const shape = shapes[name]!;
    const a = new array(shape.reduce((p, d) => p * d, 1));
    const layout = paramLayout(k.cell, name, shape, sizes);
    const override = opts.params?.[name];
    fillParam(a, layout, (role) => override ?? opts.roles?.[role] ?? DEFAULT_INIT[role], rng);
    out[name] = a;
  }
  return out;
}

/** Names of the sizes the kernels' inputs, states and parameters use (a readout-only size is not among them). */
function usedSizes(cell: CellInfo): Set<string> {
  return new Set([...Object.values(cell.inputs), ...Object.values(cell.states), ...Object.values(cell.params)].flatMap((t) => t.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []));
}

/** The sizes with every size the kernels do not use (a spec's readout `classes`) set to `fill` when absent. */
function withUnusedSizes(cell: CellInfo, sizes: Readonly<Record<string, number>>, fill: number): Record<string, number> {
  const used = usedSizes(cell);
  return { ...Object.fromEntries(cell.sizes.filter((s) => !used.has(s)).map((s) => [s, fill])), ...sizes };
}

export interface LayerSpec<A extends Arr> {
  readonly kernels: Kernels<A> | AnyKernels<A>;
  /** The cell's sizes; a later layer's input size may be left out (it is the previous layer's output). */
  readonly sizes: Readonly<Record<string, number>>;
  readonly bidirectional?: boolean;
}

export interface ModelSpec<A extends Arr> extends Omit<InitOptions, 'seed'> {
  readonly layers: readonly LayerSpec<A>[];
  readonly classes: number;
  /** Float32Array for the f32 kernels, Float64Array for the f64 ones. */
  readonly array: new (n: number) => A;
  readonly seed: number;
}

/** A stack with a softmax readout, every parameter initialised by its role from one seed. */
export function createModel<A extends Arr>(spec: ModelSpec<A>): Model<A> {
  if (!spec.layers.length) throw new Error('a model needs at least one layer');
  if (!(Number.isInteger(spec.classes) && spec.classes >= 1)) throw new Error(`classes must be a positive integer, got ${spec.classes}`);
  const layers: Layer<A>[] = [];
  let seed = spec.seed >>> 0;
  let prevOut = 0;
  for (const [i, ls] of spec.layers.entries()) {
    const k = asAny(ls.kernels as Kernels<A>);
    const inputSize = k.cell.inputs[Object.keys(k.cell.inputs)[0]!]!;
    const sizes: Record<string, number> = withUnusedSizes(k.cell, ls.sizes, spec.classes);
    if (sizes[inputSize] === undefined && i > 0) sizes[inputSize] = prevOut;
    const used = usedSizes(k.cell);
    for (const s of k.cell.sizes.filter((n) => used.has(n))) if (!(Number.isInteger(sizes[s]) && sizes[s]! > 0)) throw new Error(`layer ${i} (${k.cell.name}): size '${s}' must be a positive integer, got ${sizes[s]}`);
    const dir = () => ({ kernels: k, sizes, params: initParams(k, sizes, spec.array, { ...spec, seed: seed++ }) });
    layers.push(ls.bidirectional ? { forward: dir(), backward: dir() } : { forward: dir() });
    prevOut = sizes[k.cell.states[k.cell.output]!]! * (ls.bidirectional ? 2 : 1);
  }
  const W = new spec.array(spec.classes * prevOut);
  fillParam(W, { rows: spec.classes, blocks: [{ role: 'readout', cols: prevOut }] }, (r) => spec.roles?.[r] ?? DEFAULT_INIT[r], new Random(seed++));
  return { layers, readout: { W, b: new spec.array(spec.classes) } };
}
