// Generic WebGPU runner: runs any cell's emitted kernels over whole sequences, with data kept on the device.

import { type BatchSlice, batchSlices, chunkSteps, createBuffer, USAGE_STORAGE } from './chunks.js';
import { CellLayout, type Sizes } from './layout.js';
import { compile, type Kernel } from './pipelines.js';
import { mapRead, PendingCopies, type Read, readAll, Staging } from './queue.js';
import { mergeRows, Slice, type SliceContext } from './slices.js';
import { BATCH_OVERRIDE, BATCH_TILE_OVERRIDE, type CellKernels, evalDim, gemmTrips, loopTileTrips, sizeOverride, type SlotData } from './types.js';
import type { Tensor } from './transfers.js';

export type { Tensor } from './transfers.js';

export interface RunnerOptions {
  readonly sizes: Sizes;
  readonly batch: number;
  /**
   * Most loop iterations one invocation may run. llvmpipe silently stops a loop past 65,535 iterations per
   * invocation in total, so the default keeps well below that (no limit on a device known to be hardware).
   */
  readonly maxLoopTrips?: number;
  /** (t, b) rows summed per gradient-reduction dispatch; bounds the reduction loop's trip count. */
  readonly reductionRows?: number;
  /** Workgroups per grid dimension before a dispatch wraps into y (the device limit when absent). */
  readonly maxWorkgroupsPerDimension?: number;
  /** Most steps per chunk of the sequence (default: as many as the device's binding limits allow). */
  readonly chunkSteps?: number;
  /** Batch rows per invocation of the loop kernels, 1 .. kernels.maxBatchTile (default: from batch and sizes). */
  readonly batchTile?: number;
  /** Most batch rows per slice (default: as many as the device's binding limits allow for one step). */
  readonly batchSlice?: number;
  /**
   * Largest buffer binding in bytes (default: the device's maxStorageBufferBindingSize and maxBufferSize); a
   * smaller value splits the sequence and the batch sooner, as a device with smaller limits would.
   */
  readonly maxBindingBytes?: number;
}

export interface ForwardArgs<P extends string, X extends string, S extends string> {
  /** Each parameter row-major ([n] or [rows][cols]). */
  readonly params: Readonly<Record<P, ArrayLike<number>>>;
  /** Each input [T][batch][n], row-major. */
  readonly inputs: Readonly<Record<X, ArrayLike<number>>>;
  /** Each initial state [batch][n]; zeros where absent. */
  readonly init?: Readonly<Partial<Record<S, ArrayLike<number>>>>;
  readonly steps: number;
}

export interface ForwardResult<S extends string> {
  /** s_1 .. s_T per state, [T][batch][n]. */
  readonly states: Record<S, Float32Array>;
}

export interface BackwardResult<P extends string, X extends string, S extends string> {
  /** dL/dθ, laid out like the parameters. */
  readonly grads: Record<P, Float32Array>;
  /** dL/dx_t, [T][batch][n]. */
  readonly dInputs: Record<X, Float32Array>;
  /** dL/ds_0, [batch][n]. */
  readonly dInit: Record<S, Float32Array>;
}

/** True when the device says it is not a software rasterizer (whose loops stop past 65,535 iterations). */
function isHardware(device: GPUDevice): boolean {
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return false;
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return text.trim() !== '' && !/llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(text);
}

/**
 * Largest batch tile (a power of two up to `most`) that still leaves about 512 workgroups per loop dispatch (four
 * of 64 threads per multiprocessor of a 132-SM GPU, so each has warps to switch between while one waits on memory)
 * and does not leave most of a workgroup's rows past the batch.
 */
function pickBatchTile(batch: number, width: number, most: number, tile: CellKernels['loopTile']): number {
  const groups = (bt: number) => Math.ceil(width / tile.cols) * Math.ceil(batch / (tile.rowGroups * bt));
  let bt = 1;
  while (bt * 2 <= most && tile.rowGroups * bt * 2 <= batch && groups(bt * 2) >= 512) bt *= 2;
  return bt;
}

/**
 * Runs one cell's forward and backward over whole sequences on a GPUDevice. The array forms (`forward`,
 * `backward`) upload, run and read back everything; the device forms (`write*`, `runForward`, `runBackward`,
 * `read*`, `deviceBuffers`) keep states, the tape and gradients on the device and read back only what is asked.
 * Buffers over the device's binding limits are split: the sequence into chunks of steps, and the batch into
 * slices of rows, each run with kernels compiled for its row count.
 */
export class WgslCellRunner<P extends string = string, X extends string = string, S extends string = string> {
  private forwardSteps = 0;
  private bwork?: GPUBuffer;
  readonly batchTile: number;
  /** Parameters θ and their gradients, packed as `layout.params` describes. */
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  /** The batch slices, largest first. */
  private readonly slices: Slice<S>[];
  /** Copies from GPUBuffers waiting for the next submission, and the reused read-back buffers. */
  private readonly pending: PendingCopies;
  private readonly staging: Staging;

  private constructor(
    readonly device: GPUDevice,
    readonly kernels: CellKernels,
    parts: readonly BatchSlice[],
    compiled: ReadonlyMap<number, { layout: CellLayout; fw: Kernel; bw: Kernel }>,
    private readonly sizes: Sizes,
    private readonly opts: RunnerOptions,
    batchTile: number,
  ) {
    const reductionRows = opts.reductionRows ?? 8192;
    const maxTrips = opts.maxLoopTrips ?? (isHardware(device) ? Infinity : 32768);
    this.batchTile = batchTile;
    if (reductionRows > maxTrips || gemmTrips(reductionRows, kernels.gemmTile) > maxTrips) throw new Error(`reductionRows ${reductionRows} exceeds maxLoopTrips ${maxTrips}`);
    for (const d of [...kernels.forward.dispatches, ...kernels.backward.dispatches]) {
      const inners = d.trips.map((x) => evalDim(x, sizes));
      const trips = d.kind === 'gemm' ? gemmTrips(inners[0] ?? 0, kernels.gemmTile) : d.kind === 'tile' ? loopTileTrips(inners, batchTile, kernels.loopTile) : 0;
      if (trips > maxTrips) throw new Error(`${kernels.cell}: ${d.entry} loops ${trips} times per invocation, more than ${maxTrips} (llvmpipe stops loops past 65,535); use smaller sizes`);
    }
    const first = compiled.get(parts[0]!.rows)!;
    this.params = createBuffer(device, kernels.cell, 'params', first.layout.params.total, USAGE_STORAGE);
    this.grads = createBuffer(device, kernels.cell, 'grads', first.layout.params.total, USAGE_STORAGE);
    this.pending = new PendingCopies(device);
    this.staging = new Staging(device);
    const cx: SliceContext = {
      device,
      kernels,
      sizes,
      align: Math.max(256, device.limits.minUniformBufferOffsetAlignment),
      reductionRows,
      perDim: Math.min(opts.maxWorkgroupsPerDimension ?? Infinity, device.limits.maxComputeWorkgroupsPerDimension),
      batchTile,
      params: this.params,
      grads: this.grads,
      pending: this.pending,
    };
    this.slices = parts.map((p) => {
      const k = compiled.get(p.rows)!;
      return new Slice<S>(cx, p, k.layout, k.fw, k.bw, opts.batch);
    });
  }

  /**
   * Compiles both shaders for these sizes and each slice's row count (sizes, rows and batch tile are WGSL override
   * constants): one set of pipelines when the batch fits one binding or splits evenly, two otherwise.
   */
  static async create<P extends string = string, X extends string = string, S extends string = string>(device: GPUDevice, kernels: CellKernels, opts: RunnerOptions): Promise<WgslCellRunner<P, X, S>> {
    new CellLayout(kernels, opts.sizes, opts.batch); // validates sizes and batch
    const parts = batchSlices(new CellLayout(kernels, opts.sizes, 1), opts.batch, maxBinding(device, opts), kernels.cell, opts.batchSlice);
    const rows = parts[0]!.rows;
    const widest = Math.max(1, ...kernels.forward.dispatches.concat(kernels.backward.dispatches).filter((d) => d.kind === 'tile').flatMap((d) => d.widths.map((w) => evalDim(w, opts.sizes))));
    const bt = opts.batchTile ?? pickBatchTile(rows, widest, kernels.maxBatchTile, kernels.loopTile);
    if (!Number.isInteger(bt) || bt < 1 || bt > kernels.maxBatchTile) throw new Error(`batchTile must be an integer in 1 .. ${kernels.maxBatchTile}, got ${bt}`);
    const compiled = new Map<number, { layout: CellLayout; fw: Kernel; bw: Kernel }>();
    for (const p of parts) {
      if (compiled.has(p.rows)) continue;
      const constants: Record<string, number> = { [BATCH_OVERRIDE]: p.rows, [BATCH_TILE_OVERRIDE]: bt };
      for (const s of kernels.sizes) constants[sizeOverride(s)] = opts.sizes[s]!;
      const fw = await compile(device, kernels, 'forward', constants);
      const bw = await compile(device, kernels, 'backward', constants);
      compiled.set(p.rows, { layout: new CellLayout(kernels, opts.sizes, p.rows), fw, bw });
    }
    return new WgslCellRunner<P, X, S>(device, kernels, parts, compiled, opts.sizes, opts, bt);
  }

  /** The layouts of the first (largest) batch slice: `layout.batch` is its row count, the whole batch when unsplit. */
  get layout(): CellLayout {
    return this.slices[0]!.layout;
  }

  /** The batch slices: rows [b0, b0 + rows) each. */
  batchSlices(): BatchSlice[] {
    return this.slices.map((s) => s.part);
  }

  /** Steps per chunk for a T-step sequence on this device (the same for every batch slice). */
  chunkSteps(steps: number): number {
    return chunkSteps(this.layout, steps, maxBinding(this.device, this.opts), this.kernels.cell, this.opts.chunkSteps);
  }

  /** Buffers for exactly T steps (kept while T does not change). */
  private prepare(steps: number): void {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
    if (this.slices[0]!.steps === steps) return;
    this.pending.flush();
    this.destroySequence();
    const per = this.chunkSteps(steps);
    this.bwork = createBuffer(this.device, this.kernels.cell, 'bwork', per * this.layout.bwork.stride, USAGE_STORAGE);
    for (const s of this.slices) s.prepare(steps, per, this.bwork);
  }

  private started(what: string): void {
    if (this.slices[0]!.steps === undefined) throw new Error(`${what} needs writeInputs first`);
  }

  /** Uploads the parameters: arrays by name, or a GPUBuffer already packed as `layout.params`. */
  writeParams(params: Readonly<Record<P, ArrayLike<number>>> | GPUBuffer): void {
    this.slices[0]!.io.writeParams(this.params, params as Record<string, ArrayLike<number>> | GPUBuffer);
  }

  /** Uploads the inputs of a T-step sequence, each [T][batch][n]: an array or a GPUBuffer of that layout. */
  writeInputs(inputs: Readonly<Record<X, Tensor>>, steps: number): void {
    this.prepare(steps);
    for (const s of this.slices) s.io.writeSteps(s.chunks, 'xs', this.kernels.inputs, inputs as Record<string, Tensor>, 0);
  }

  /** Uploads the initial states, each [batch][n] (array or GPUBuffer); zeros where absent. */
  writeInit(init?: Readonly<Partial<Record<S, Tensor>>>): void {
    this.started('writeInit');
    for (const s of this.slices) s.io.writeInit(s.chunks[0]!, (init ?? {}) as Record<string, Tensor>);
  }

  /**
   * One submission: the copies waiting from write calls, `encode`'s work and `read`'s copies into a reused staging
   * buffer, in one command buffer; then one mapAsync, awaited together with the error scopes.
   */
  private async execute<T>(what: string, encode: (enc: GPUCommandEncoder) => void, read?: Read<T>): Promise<T | undefined> {
    const { device } = this;
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let mapped: Promise<{ value: T } | { error: unknown }> | undefined;
    let thrown: unknown;
    try {
      const enc = this.pending.take();
      encode(enc);
      const map = read && this.staging.record(enc, read);
      device.queue.submit([enc.finish()]);
      mapped = map?.().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    } catch (e) {
      thrown = e;
    }
    const [oom, invalid, result] = await Promise.all([device.popErrorScope(), device.popErrorScope(), mapped]);
    if (thrown !== undefined) throw thrown;
    const err = invalid ?? oom;
    if (err) throw new Error(`${what}: ${err.message}`);
    if (result && 'error' in result) throw result.error;
    return result?.value;
  }

  private encodeForward(enc: GPUCommandEncoder): void {
    for (const s of this.slices) s.encodeForward(enc);
  }

  private encodeBackward(enc: GPUCommandEncoder, dStates: Readonly<Partial<Record<S, Tensor>>>): void {
    for (const s of this.slices) s.io.writeSeeds(enc, s.chunks, dStates as Record<string, Tensor>);
    enc.clearBuffer(this.grads);
    for (const s of this.slices) s.encodeBackward(enc);
  }

  /** Runs s_t = f(x_t, s_{t-1}) for the uploaded sequence in one submission; nothing is read back. */
  async runForward(): Promise<void> {
    this.started('runForward');
    await this.execute(`${this.kernels.cell} forward`, (enc) => this.encodeForward(enc));
    this.forwardSteps = this.slices[0]!.steps!;
  }

  /**
   * BPTT over the last forward, given dL/ds_t for every state and step ([T][batch][n], array or GPUBuffer;
   * zeros where absent). Gradients land in `grads`, input adjoints and dL/ds_0 in the chunks; nothing is read back.
   */
  async runBackward(dStates: Readonly<Partial<Record<S, Tensor>>>): Promise<void> {
    if (!this.forwardSteps) throw new Error('backward needs a forward first');
    await this.execute(`${this.kernels.cell} backward`, (enc) => this.encodeBackward(enc, dStates));
  }

  /** One tensor per slot, merged over the batch slices from each slice's rows. */
  private merged(slots: readonly SlotData[], names: readonly string[] | undefined, read: (s: Slice<S>) => Read<Record<string, Float32Array>>): Read<Record<string, Float32Array>> {
    return mapRead(readAll(this.slices.map(read)), (parts) => {
      const out: Record<string, Float32Array> = {};
      for (const slot of slots) {
        if (names && !names.includes(slot.name)) continue;
        out[slot.name] = mergeRows(this.slices.map((s, i) => ({ ...s.part, data: parts[i]![slot.name]! })), this.opts.batch, evalDim(slot.dim, this.sizes));
      }
      return out;
    });
  }

  private statesRead(opts: { names?: readonly S[]; last?: boolean }): Read<Record<S, Float32Array>> {
    const states = this.kernels.states;
    return this.merged(states, opts.names, (s) => s.io.readSteps(s.chunks, 'states', states, opts.names, 1, opts.last)) as Read<Record<S, Float32Array>>;
  }

  private gradsRead(names?: readonly P[]): Read<Record<P, Float32Array>> {
    return this.slices[0]!.io.readParams(this.grads, names) as Read<Record<P, Float32Array>>;
  }

  private dInputsRead(names?: readonly X[]): Read<Record<X, Float32Array>> {
    const inputs = this.kernels.inputs;
    return this.merged(inputs, names, (s) => s.io.readSteps(s.chunks, 'dxs', inputs, names, 0)) as Read<Record<X, Float32Array>>;
  }

  private dInitRead(names?: readonly S[]): Read<Record<S, Float32Array>> {
    return this.merged(this.kernels.states, names, (s) => s.io.readInit(s.chunks[0]!, names)) as Read<Record<S, Float32Array>>;
  }

  /** Reads back in one submission (with any copies still waiting). */
  private async fetch<T>(read: Read<T>): Promise<T> {
    return (await this.execute(`${this.kernels.cell} read-back`, () => {}, read)) as T;
  }

  /** s_1 .. s_T per state ([T][batch][n]), or only s_T ([batch][n]) with `last`. */
  async readStates(opts: { names?: readonly S[]; last?: boolean } = {}): Promise<Record<S, Float32Array>> {
    if (!this.forwardSteps) throw new Error('readStates needs a forward first');
    return this.fetch(this.statesRead(opts));
  }

  /** dL/dθ by parameter name, laid out like the parameters. */
  async readGrads(names?: readonly P[]): Promise<Record<P, Float32Array>> {
    return this.fetch(this.gradsRead(names));
  }

  /** dL/dx_t per input, [T][batch][n]. */
  async readDInputs(names?: readonly X[]): Promise<Record<X, Float32Array>> {
    this.started('readDInputs');
    return this.fetch(this.dInputsRead(names));
  }

  /** dL/ds_0 per state, [batch][n]. */
  async readDInit(names?: readonly S[]): Promise<Record<S, Float32Array>> {
    this.started('readDInit');
    return this.fetch(this.dInitRead(names));
  }

  /**
   * The device buffers of the current sequence, for kernels of one's own: per batch slice (rows [b0, b0 + rows))
   * and chunk (steps [t0, t0 + steps)), states and dstates with blocks t0 .. t0 + steps, xs and dxs with blocks
   * t0 .. t0 + steps - 1, each block laid out as the slice's `layout.states` / `layout.xs` (batch = rows) describe.
   */
  deviceBuffers(): { params: GPUBuffer; grads: GPUBuffer; chunks: { b0: number; rows: number; t0: number; steps: number; xs: GPUBuffer; states: GPUBuffer; dstates: GPUBuffer; dxs: GPUBuffer }[] } {
    this.started('deviceBuffers');
    return {
      params: this.params,
      grads: this.grads,
      chunks: this.slices.flatMap((s) => s.chunks.map((c) => ({ ...s.part, t0: c.t0, steps: c.steps, ...s.buffersOf(c) }))),
    };
  }

  /** Uploads everything and runs the forward, reading every state at every step back, in one submission. */
  async forward(args: ForwardArgs<P, X, S>): Promise<ForwardResult<S>> {
    this.writeParams(args.params);
    this.writeInputs(args.inputs, args.steps);
    this.writeInit(args.init);
    const states = (await this.execute(`${this.kernels.cell} forward`, (enc) => this.encodeForward(enc), this.statesRead({})))!;
    this.forwardSteps = this.slices[0]!.steps!;
    return { states };
  }

  /** BPTT over the last forward: the gradients of every parameter, of the inputs and of the initial states (one submission, one read-back). */
  async backward(dStates: Readonly<Partial<Record<S, ArrayLike<number>>>>): Promise<BackwardResult<P, X, S>> {
    if (!this.forwardSteps) throw new Error('backward needs a forward first');
    const all = readAll<Record<string, Float32Array>>([this.gradsRead(), this.dInputsRead(), this.dInitRead()]);
    const [grads, dInputs, dInit] = (await this.execute(`${this.kernels.cell} backward`, (enc) => this.encodeBackward(enc, dStates), all))!;
    return { grads: grads as Record<P, Float32Array>, dInputs: dInputs as Record<X, Float32Array>, dInit: dInit as Record<S, Float32Array> };
  }

  private destroySequence(): void {
    for (const s of this.slices) s.destroy();
    this.bwork?.destroy();
    this.bwork = undefined;
  }

  /** Frees the device buffers (pipelines are released with the runner). */
  destroy(): void {
    this.pending.flush();
    this.destroySequence();
    this.staging.destroy();
    this.forwardSteps = 0;
  }
}

/** The largest binding: the device's limits, or the smaller one asked for. */
function maxBinding(device: GPUDevice, opts: RunnerOptions): number {
  const dev = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  return Math.min(dev, opts.maxBindingBytes ?? dev);
}
