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

/**
 * One compute dispatch. `elementwise`: one invocation per element of the widest group, per batch row (and
 * per step outside the loop); in the loop one invocation covers `BATCH_TILE_OVERRIDE` batch rows.
 * `gemm`: a tiled product C[rows][n] = A[rows][k] B[k][n] over all (t, b) rows, one workgroup per tile.
 * `tile`: a loop phase, one workgroup per `loopTile.cols` elements x `loopTile.rowGroups` · btile batch rows.
 */
export interface DispatchData {
  readonly entry: string;
  readonly scope: DispatchScope;
  readonly kind: 'elementwise' | 'gemm' | 'tile';
  /** Element counts of the groups it computes; the invocation count uses the largest (a GEMM: n). */
  readonly widths: readonly DimData[];
  /** Inner sizes of its matrix-vector products (a GEMM: k; a loop tile: one per product). */
  readonly trips: readonly DimData[];
}

/**
 * A gradient reduction dθ += Σ_{t,b} (...) over a chunk of (t, b) rows: `gemm` for a matrix θ (a tiled
 * product, one workgroup per tile of θ), `sum` for a vector θ (one invocation per element).
 */
export interface ReductionData {
  readonly entry: string;
  /** The parameters whose gradients it adds into (several for a stacked GEMM). */
  readonly params: readonly string[];
  readonly kind: 'gemm' | 'sum';
  /** The output it covers: the GEMM's [m, n] (stacked parameters' rows, columns), or the parameter's shape. */
  readonly shape: readonly DimData[];
}

/** The output tile of one GEMM workgroup (rows x cols), its threads, and the K slice per shared-memory stage. */
export interface GemmTile {
  readonly rows: number;
  readonly cols: number;
  readonly depth: number;
  readonly threads: number;
}

/**
 * The tile of a loop kernel: `cols` elements x `rowGroups` · btile batch rows per workgroup of `threads`
 * invocations, K staged `depth` at a time.
 */
export interface LoopTile {
  readonly cols: number;
  readonly rowGroups: number;
  readonly depth: number;
  readonly threads: number;
}

export type BindingType = 'uniform' | 'read-only-storage' | 'storage';

/** One bind group entry: binding i of group 0 is bindings[i]. */
export interface BindingData {
  /** Which buffer: the runner owns one of each. */
  readonly buffer: 'ctl' | 'params' | 'xs' | 'states' | 'fwork' | 'dstates' | 'bwork' | 'grads' | 'dxs';
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
 * - grads: parameter gradients laid out like params; dxs: input adjoints laid out like xs.
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
  readonly gemmTile: GemmTile;
  /** Largest batch tile of the loop kernels (rows per invocation; the runner picks 1 .. this). */
  readonly maxBatchTile: number;
  readonly loopTile: LoopTile;
  /** Limits beyond WebGPU's defaults that the kernels need (pass to requestDevice). */
  readonly requiredLimits: Readonly<Record<string, number>>;
}

/** Loop iterations of one GEMM invocation over an inner size k, at most (llvmpipe caps them per invocation). */
export const gemmTrips = (k: number, tile: GemmTile): number => (Math.ceil(k / tile.depth) + 1) * (tile.depth + 18) + (2 * tile.rows * tile.cols) / tile.threads + 16;

/** Loop iterations of one loop-tile invocation (llvmpipe caps them): per product its K stages, then the epilogue. */
export const loopTileTrips = (inners: readonly number[], btile: number, tile: LoopTile): number =>
  inners.reduce((s, k) => s + Math.ceil(k / tile.depth) * (8 + 4 * 5 + tile.depth * (1 + btile)), 0) + btile * 5 + 8;

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
/** The WGSL override constant that holds the loop kernels' batch tile. */
export const BATCH_TILE_OVERRIDE = 'btile_';
