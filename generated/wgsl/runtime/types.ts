// Copied by cellgen build from cellgen's src/runtime/webgpu/types.ts. Do not edit.
/// <reference types="@webgpu/types" />
// The contract between emitted WGSL kernels and the generic WebGPU runner: plain data describing buffers and dispatches.

/** A size as a linear combination of size names plus a constant (the IR's Dim, as data). */
export interface DimData {
  readonly terms: readonly (readonly [string, number])[];
  readonly constant: number;
}

/** A [batch][n] block inside a per-step buffer. */
export interface SlotData {
  readonly name: string;
  readonly dim: DimData;
}

/** A parameter: [n] or [rows][cols], row-major, shared by the batch. */
export interface TensorData {
  readonly name: string;
  readonly shape: readonly DimData[];
}

/** `pre`: once over all steps before the loop; `loop`: once per step; `post`: once over all steps after it. */
export type DispatchScope = 'pre' | 'loop' | 'post';

/** One compute dispatch: one invocation per element of the widest group, per batch row (and per step outside the loop). */
export interface DispatchData {
  readonly entry: string;
  readonly scope: DispatchScope;
  /** Element counts of the groups it computes; the invocation count uses the largest. */
  readonly widths: readonly DimData[];
  /** Loop iterations per invocation (the inner sizes of its matrix-vector products). */
  readonly trips: readonly DimData[];
}

/** A gradient reduction dθ += Σ_{t,b} (...): one invocation per parameter element, over a chunk of (t, b) rows. */
export interface ReductionData {
  readonly entry: string;
  readonly param: string;
}

export type BindingType = 'uniform' | 'read-only-storage' | 'storage';

/** One bind group entry: binding i of group 0 is bindings[i]. */
export interface BindingData {
  /** Which buffer: the runner owns one of each. */
  readonly buffer: 'ctl' | 'params' | 'xs' | 'states' | 'fwork' | 'dstates' | 'bwork' | 'out';
  readonly type: BindingType;
}

export interface ShaderData {
  readonly shader: string;
  readonly bindings: readonly BindingData[];
  readonly dispatches: readonly DispatchData[];
  readonly reductions: readonly ReductionData[];
}

/**
 * Everything the runner needs to run one cell's kernels. Buffer layouts (all f32):
 * - params: each parameter row-major, in declaration order;
 * - xs, states, dstates, fwork, bwork: per step t a block of slots, each slot [batch][n]
 *   (states and dstates have T + 1 blocks: block 0 is s_0, block t + 1 is s_{t+1});
 * - out: parameter gradients laid out like params, then input adjoints laid out like xs.
 * - ctl: a uniform {t, steps, lo, hi} per dispatch, at dynamic offsets.
 */
export interface CellKernels {
  readonly cell: string;
  readonly file: string;
  /** Size names; each is the WGSL override `<name>_`; the batch is `batch_`. */
  readonly sizes: readonly string[];
  readonly params: readonly TensorData[];
  readonly inputs: readonly SlotData[];
  readonly states: readonly SlotData[];
  readonly fwork: readonly SlotData[];
  readonly bwork: readonly SlotData[];
  readonly forward: ShaderData;
  readonly backward: ShaderData;
  readonly workgroupSize: number;
  /** Limits beyond WebGPU's defaults that the kernels need (pass to requestDevice). */
  readonly requiredLimits: Readonly<Record<string, number>>;
}

/** The value of a size expression. */
export function evalDim(d: DimData, sizes: Readonly<Record<string, number>>): number {
  let v = d.constant;
  for (const [n, c] of d.terms) {
    const s = sizes[n];
    if (s === undefined) throw new Error(`no value for size '${n}'`);
    v += c * s;
  }
  return v;
}

export const numel = (shape: readonly DimData[], sizes: Readonly<Record<string, number>>): number =>
  shape.reduce((p, d) => p * evalDim(d, sizes), 1);

/** The WGSL override constant that holds a size. */
/** The WGSL override of a size: tagged, so a size named `batch` or `ctl` cannot meet a generated name (src/emit/names.ts). */
export const sizeOverride = (name: string): string => `size_${name}_`;
export const BATCH_OVERRIDE = 'batch_';
