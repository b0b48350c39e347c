// Generic WebGPU runner: runs any cell's emitted kernels over whole sequences, with data kept on the device.

import { allocateChunks, type BufferName, type Chunk, chunkSteps, controlWords, createBuffer, USAGE_STORAGE, USAGE_UNIFORM } from './chunks.js';
import { CellLayout, type Sizes } from './layout.js';
import { compile, type Kernel, scoped } from './pipelines.js';
import { BATCH_OVERRIDE, BATCH_TILE_OVERRIDE, type CellKernels, type DispatchData, evalDim, gemmTrips, loopTileTrips, sizeOverride } from './types.js';
import { Transfers, type Tensor } from './transfers.js';

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

interface Sequence {
  readonly steps: number;
  readonly chunks: readonly Chunk[];
  readonly ctl: readonly GPUBuffer[];
  readonly groups: readonly { forward: GPUBindGroup; backward: GPUBindGroup }[];
  readonly bwork: GPUBuffer;
}

/** True when the device says it is not a software rasterizer (whose loops stop past 65,535 iterations). */
function isHardware(device: GPUDevice): boolean {
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (!info) return false;
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return text.trim() !== '' && !/llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(text);
}

/**
 * Largest batch tile (a power of two up to `most`) that still leaves about 256 workgroups per loop dispatch (two
 * per multiprocessor of a large GPU) and does not leave most of a workgroup's rows past the batch.
 */
function pickBatchTile(batch: number, width: number, most: number, tile: CellKernels['loopTile']): number {
  const groups = (bt: number) => Math.ceil(width / tile.cols) * Math.ceil(batch / (tile.rowGroups * bt));
  let bt = 1;
  while (bt * 2 <= most && tile.rowGroups * bt * 2 <= batch && groups(bt * 2) >= 256) bt *= 2;
  return bt;
}

/**
 * Runs one cell's forward and backward over whole sequences on a GPUDevice. The array forms (`forward`,
 * `backward`) upload, run and read back everything; the device forms (`write*`, `runForward`, `runBackward`,
 * `read*`, `deviceBuffers`) keep states, the tape and gradients on the device and read back only what is asked.
 */
export class WgslCellRunner<P extends string = string, X extends string = string, S extends string = string> {
  private seq?: Sequence;
  private forwardSteps = 0;
  private readonly align: number;
  private readonly reductionRows: number;
  private readonly perDim: number;
  private readonly maxTrips: number;
  readonly batchTile: number;
  /** Parameters θ and their gradients, packed as `layout.params` describes. */
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  private readonly io: Transfers<S>;

  private constructor(
    readonly device: GPUDevice,
    readonly kernels: CellKernels,
    readonly layout: CellLayout,
    private readonly fw: Kernel,
    private readonly bw: Kernel,
    private readonly sizes: Sizes,
    private readonly opts: RunnerOptions,
    batchTile: number,
  ) {
    this.align = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.reductionRows = opts.reductionRows ?? 8192;
    this.perDim = Math.min(opts.maxWorkgroupsPerDimension ?? Infinity, device.limits.maxComputeWorkgroupsPerDimension);
    this.maxTrips = opts.maxLoopTrips ?? (isHardware(device) ? Infinity : 32768);
    this.batchTile = batchTile;
    if (this.reductionRows > this.maxTrips || gemmTrips(this.reductionRows, kernels.gemmTile) > this.maxTrips) throw new Error(`reductionRows ${this.reductionRows} exceeds maxLoopTrips ${this.maxTrips}`);
    for (const d of [...fw.data.dispatches, ...bw.data.dispatches]) {
      const inners = d.trips.map((x) => evalDim(x, sizes));
      const trips = d.kind === 'gemm' ? gemmTrips(inners[0] ?? 0, kernels.gemmTile) : d.kind === 'tile' ? loopTileTrips(inners, batchTile, kernels.loopTile) : 0;
      if (trips > this.maxTrips)
        throw new Error(`${kernels.cell}: ${d.entry} loops ${trips} times per invocation, more than ${this.maxTrips} (llvmpipe stops loops past 65,535); use smaller sizes`);
    }
    this.params = createBuffer(device, kernels.cell, 'params', layout.params.total, USAGE_STORAGE);
    this.grads = createBuffer(device, kernels.cell, 'grads', layout.params.total, USAGE_STORAGE);
    this.io = new Transfers<S>(device, kernels, layout);
  }

  /** Compiles both shaders for these sizes and batch (sizes, batch and batch tile are WGSL override constants). */
  static async create<P extends string = string, X extends string = string, S extends string = string>(device: GPUDevice, kernels: CellKernels, opts: RunnerOptions): Promise<WgslCellRunner<P, X, S>> {
    const layout = new CellLayout(kernels, opts.sizes, opts.batch);
    const widest = Math.max(1, ...kernels.forward.dispatches.concat(kernels.backward.dispatches).flatMap((d) => d.widths.map((w) => evalDim(w, opts.sizes))));
    const bt = opts.batchTile ?? pickBatchTile(opts.batch, widest, kernels.maxBatchTile, kernels.loopTile);
    if (!Number.isInteger(bt) || bt < 1 || bt > kernels.maxBatchTile) throw new Error(`batchTile must be an integer in 1 .. ${kernels.maxBatchTile}, got ${bt}`);
    const constants: Record<string, number> = { [BATCH_OVERRIDE]: opts.batch, [BATCH_TILE_OVERRIDE]: bt };
    for (const s of kernels.sizes) constants[sizeOverride(s)] = opts.sizes[s]!;
    const fw = await compile(device, kernels, 'forward', constants);
    const bw = await compile(device, kernels, 'backward', constants);
    return new WgslCellRunner<P, X, S>(device, kernels, layout, fw, bw, opts.sizes, opts, bt);
  }

  /** Steps per chunk for a T-step sequence on this device. */
  chunkSteps(steps: number): number {
    const max = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    return chunkSteps(this.layout, steps, max, this.kernels.cell, this.opts.chunkSteps);
  }

  /** Buffers for exactly T steps (kept while T does not change). */
  private prepare(steps: number): Sequence {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
    if (this.seq?.steps === steps) return this.seq;
    this.destroySequence();
    const L = this.layout;
    const per = this.chunkSteps(steps);
    const bwork = createBuffer(this.device, this.kernels.cell, 'bwork', per * L.bwork.stride, USAGE_STORAGE);
    const chunks = allocateChunks(this.device, this.kernels.cell, L, steps, per, this.reductionRows, bwork);
    const ctl = chunks.map((c) => {
      const words = controlWords(c, L.batch, this.reductionRows, this.align);
      const b = this.device.createBuffer({ label: `${this.kernels.cell} ctl`, size: words.byteLength, usage: USAGE_UNIFORM });
      this.device.queue.writeBuffer(b, 0, words);
      return b;
    });
    const group = (k: Kernel, c: number) =>
      this.device.createBindGroup({
        layout: k.layout,
        entries: k.data.bindings.map((b, i) => ({ binding: i, resource: b.type === 'uniform' ? { buffer: ctl[c]!, size: 16 } : { buffer: this.buffer(chunks[c]!, b.buffer) } })),
      });
    const groups = chunks.map((_, c) => ({ forward: group(this.fw, c), backward: group(this.bw, c) }));
    this.seq = { steps, chunks, ctl, groups, bwork };
    return this.seq;
  }

  private buffer(c: Chunk, name: BufferName): GPUBuffer {
    if (name === 'params') return this.params;
    if (name === 'grads') return this.grads;
    const b = c.buffers.get(name);
    if (!b) throw new Error(`invariant: no buffer '${name}'`);
    return b;
  }

  private dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, ctlEntry: number, groupsX: number, groupsY = 1): void {
    if (groupsX === 0 || groupsY === 0) return;
    let x = groupsX;
    let y = groupsY;
    if (y === 1) {
      x = Math.min(groupsX, this.perDim);
      y = Math.ceil(groupsX / x);
    }
    if (x > this.device.limits.maxComputeWorkgroupsPerDimension || y > this.device.limits.maxComputeWorkgroupsPerDimension)
      throw new Error(`${this.kernels.cell}: a grid of ${groupsX} x ${groupsY} workgroups exceeds the device's dispatch limits; use fewer steps per chunk (chunkSteps)`);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group, [ctlEntry * this.align]);
    pass.dispatchWorkgroups(x, y);
  }

  /** Encodes one chunk's dispatches of one shader: before the loop, the loop (forward or backward in t), after it. */
  private encodePhases(pass: GPUComputePassEncoder, k: Kernel, group: GPUBindGroup, chunk: Chunk, reverse: boolean): void {
    const B = this.layout.batch;
    const T = chunk.steps;
    const tile = this.kernels.gemmTile;
    const lt = this.kernels.loopTile;
    const width = (d: DispatchData) => Math.max(...d.widths.map((w) => evalDim(w, this.sizes)));
    const run = (d: DispatchData, t: number) => {
      const pipe = k.pipelines.get(d.entry)!;
      if (d.kind === 'gemm') this.dispatch(pass, pipe, group, T, Math.ceil(width(d) / tile.cols), Math.ceil((T * B) / tile.rows));
      else if (d.kind === 'tile') this.dispatch(pass, pipe, group, t, Math.ceil(width(d) / lt.cols), Math.ceil(B / (lt.rowGroups * this.batchTile)));
      else this.dispatch(pass, pipe, group, T, Math.ceil((T * B * width(d)) / this.kernels.workgroupSize));
    };
    for (const d of k.data.dispatches) if (d.scope === 'pre') run(d, T);
    const loop = k.data.dispatches.filter((d) => d.scope === 'loop');
    for (let i = 0; i < T; i++) for (const d of loop) run(d, reverse ? T - 1 - i : i);
    for (const d of k.data.dispatches) if (d.scope === 'post') run(d, T);
  }

  /** Uploads the parameters: arrays by name, or a GPUBuffer already packed as `layout.params`. */
  writeParams(params: Readonly<Record<P, ArrayLike<number>>> | GPUBuffer): void {
    this.io.writeParams(this.params, params as Record<string, ArrayLike<number>> | GPUBuffer);
  }

  /** Uploads the inputs of a T-step sequence, each [T][batch][n]: an array or a GPUBuffer of that layout. */
  writeInputs(inputs: Readonly<Record<X, Tensor>>, steps: number): void {
    const seq = this.prepare(steps);
    this.io.writeSteps(seq.chunks, 'xs', this.kernels.inputs, inputs as Record<string, Tensor>, 0, true);
  }

  /** Uploads the initial states, each [batch][n] (array or GPUBuffer); zeros where absent. */
  writeInit(init?: Readonly<Partial<Record<S, Tensor>>>): void {
    if (!this.seq) throw new Error('writeInputs first: the initial states live in the first chunk of the sequence');
    this.io.writeInit(this.seq.chunks[0]!, (init ?? {}) as Record<string, Tensor>);
  }

  /** Runs s_t = f(x_t, s_{t-1}) for the uploaded sequence in one submission; nothing is read back. */
  async runForward(): Promise<void> {
    const seq = this.seq;
    if (!seq) throw new Error('writeInputs first');
    await scoped(this.device, `${this.kernels.cell} forward`, () => {
      const enc = this.device.createCommandEncoder();
      seq.chunks.forEach((c, i) => {
        // The chunk starts from the last state of the one before.
        if (i > 0) enc.copyBufferToBuffer(seq.chunks[i - 1]!.buffers.get('states')!, seq.chunks[i - 1]!.steps * this.layout.states.stride * 4, c.buffers.get('states')!, 0, this.layout.states.stride * 4);
        const pass = enc.beginComputePass();
        this.encodePhases(pass, this.fw, seq.groups[i]!.forward, c, false);
        pass.end();
      });
      this.device.queue.submit([enc.finish()]);
    });
    this.forwardSteps = seq.steps;
  }

  /**
   * BPTT over the last forward, given dL/ds_t for every state and step ([T][batch][n], array or GPUBuffer;
   * zeros where absent). Gradients land in `grads`, input adjoints and dL/ds_0 in the chunks; nothing is read back.
   */
  async runBackward(dStates: Readonly<Partial<Record<S, Tensor>>>): Promise<void> {
    const seq = this.seq;
    if (!this.forwardSteps || !seq) throw new Error('backward needs a forward first');
    const L = this.layout;
    const block = L.states.stride * 4;
    await scoped(this.device, `${this.kernels.cell} backward`, () => {
      const enc = this.device.createCommandEncoder();
      this.io.writeSeeds(enc, seq.chunks, dStates as Record<string, Tensor>);
      enc.clearBuffer(this.grads);
      for (let i = seq.chunks.length - 1; i >= 0; i--) {
        const c = seq.chunks[i]!;
        // dL/ds at the chunk's last block is what the chunk after it left in its block 0.
        if (i < seq.chunks.length - 1) enc.copyBufferToBuffer(seq.chunks[i + 1]!.buffers.get('dstates')!, 0, c.buffers.get('dstates')!, c.steps * block, block);
        const pass = enc.beginComputePass();
        const group = seq.groups[i]!.backward;
        this.encodePhases(pass, this.bw, group, c, true);
        for (const r of this.bw.data.reductions) {
          const pipe = this.bw.pipelines.get(r.entry)!;
          const shape = this.kernels.params.find((p) => p.name === r.param)!.shape.map((d) => evalDim(d, this.sizes));
          for (let k = 0; k < c.reductionChunks; k++) {
            if (r.kind === 'gemm') this.dispatch(pass, pipe, group, c.steps + 1 + k, Math.ceil(shape[1]! / this.kernels.gemmTile.cols), Math.ceil(shape[0]! / this.kernels.gemmTile.rows));
            else this.dispatch(pass, pipe, group, c.steps + 1 + k, Math.ceil(shape[0]! / this.kernels.workgroupSize));
          }
        }
        pass.end();
      }
      this.device.queue.submit([enc.finish()]);
    });
  }

  /** s_1 .. s_T per state ([T][batch][n]), or only s_T ([batch][n]) with `last`. */
  async readStates(opts: { names?: readonly S[]; last?: boolean } = {}): Promise<Record<S, Float32Array>> {
    if (!this.forwardSteps || !this.seq) throw new Error('readStates needs a forward first');
    return this.io.readSteps(this.seq.chunks, 'states', this.kernels.states, opts.names, 1, opts.last) as Promise<Record<S, Float32Array>>;
  }

  /** dL/dθ by parameter name, laid out like the parameters. */
  async readGrads(names?: readonly P[]): Promise<Record<P, Float32Array>> {
    return this.io.readParams(this.grads, names) as Promise<Record<P, Float32Array>>;
  }

  /** dL/dx_t per input, [T][batch][n]. */
  async readDInputs(names?: readonly X[]): Promise<Record<X, Float32Array>> {
    if (!this.seq) throw new Error('readDInputs needs a backward first');
    return this.io.readSteps(this.seq.chunks, 'dxs', this.kernels.inputs, names, 0) as Promise<Record<X, Float32Array>>;
  }

  /** dL/ds_0 per state, [batch][n]. */
  async readDInit(names?: readonly S[]): Promise<Record<S, Float32Array>> {
    if (!this.seq) throw new Error('readDInit needs a backward first');
    return this.io.readInit(this.seq.chunks[0]!, names) as Promise<Record<S, Float32Array>>;
  }

  /**
   * The device buffers of the current sequence, for kernels of one's own: per chunk (steps [t0, t0 + steps)),
   * states and dstates with blocks t0 .. t0 + steps, xs and dxs with blocks t0 .. t0 + steps - 1, each block laid
   * out as `layout.states` / `layout.xs` describe.
   */
  deviceBuffers(): { params: GPUBuffer; grads: GPUBuffer; chunks: { t0: number; steps: number; xs: GPUBuffer; states: GPUBuffer; dstates: GPUBuffer; dxs: GPUBuffer }[] } {
    if (!this.seq) throw new Error('writeInputs first');
    const g = (c: Chunk, n: BufferName) => c.buffers.get(n)!;
    return {
      params: this.params,
      grads: this.grads,
      chunks: this.seq.chunks.map((c) => ({ t0: c.t0, steps: c.steps, xs: g(c, 'xs'), states: g(c, 'states'), dstates: g(c, 'dstates'), dxs: g(c, 'dxs') })),
    };
  }

  /** Runs the forward in one submission and returns every state at every step. */
  async forward(args: ForwardArgs<P, X, S>): Promise<ForwardResult<S>> {
    this.writeParams(args.params);
    this.writeInputs(args.inputs, args.steps);
    this.writeInit(args.init);
    await this.runForward();
    return { states: await this.readStates() };
  }

  /** BPTT over the last forward: the gradients of every parameter, of the inputs and of the initial states. */
  async backward(dStates: Readonly<Partial<Record<S, ArrayLike<number>>>>): Promise<BackwardResult<P, X, S>> {
    await this.runBackward(dStates);
    const [grads, dInputs, dInit] = await Promise.all([this.readGrads(), this.readDInputs(), this.readDInit()]);
    return { grads, dInputs, dInit };
  }

  private destroySequence(): void {
    if (!this.seq) return;
    for (const c of this.seq.chunks) for (const [n, b] of c.buffers) if (n !== 'bwork') b.destroy();
    this.seq.bwork.destroy();
    for (const b of this.seq.ctl) b.destroy();
    this.seq = undefined;
  }

  /** Frees the device buffers (pipelines are released with the runner). */
  destroy(): void {
    this.destroySequence();
    this.forwardSteps = 0;
  }
}
