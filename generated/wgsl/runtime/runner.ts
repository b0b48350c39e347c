// Copied by cellgen build from cellgen's src/runtime/webgpu/runner.ts. Do not edit.
/// <reference types="@webgpu/types" />
// Generic WebGPU runner: uploads a problem, runs any cell's emitted kernels over a whole sequence, reads results back.

import { CellLayout, type Sizes } from './layout.js';
import { BATCH_OVERRIDE, type BindingData, type CellKernels, type DispatchData, evalDim, type ShaderData, sizeOverride } from './types.js';

export interface RunnerOptions {
  readonly sizes: Sizes;
  readonly batch: number;
  /**
   * Most loop iterations one invocation may run. llvmpipe silently stops a loop past 65,535 iterations per
   * invocation in total, so the default keeps well below that.
   */
  readonly maxLoopTrips?: number;
  /** (t, b) rows summed per gradient-reduction dispatch; bounds the reduction loop's trip count. */
  readonly reductionRows?: number;
  /** Workgroups per grid dimension before a dispatch wraps into y (the device limit when absent). */
  readonly maxWorkgroupsPerDimension?: number;
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

type BufferName = BindingData['buffer'];
const USAGE_STORAGE = 0x0080 | 0x0008 | 0x0004; // STORAGE | COPY_DST | COPY_SRC
const USAGE_UNIFORM = 0x0040 | 0x0008; // UNIFORM | COPY_DST
const USAGE_READBACK = 0x0001 | 0x0008; // MAP_READ | COPY_DST
const MAP_READ = 0x0001;
const STAGE_COMPUTE = 0x4;

interface Kernel {
  readonly data: ShaderData;
  readonly layout: GPUBindGroupLayout;
  readonly pipelines: ReadonlyMap<string, GPUComputePipeline>;
}

/** Runs f inside validation and out-of-memory error scopes and throws what they caught. */
async function scoped<T>(device: GPUDevice, what: string, f: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let value: T | undefined;
  let thrown: unknown;
  try {
    value = await f();
  } catch (e) {
    thrown = e;
  }
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (thrown !== undefined) throw thrown;
  const err = invalid ?? oom;
  if (err) throw new Error(`${what}: ${err.message}`);
  return value as T;
}

/** Compiles a shader, failing on any error message, and creates a pipeline per entry point. */
async function compile(device: GPUDevice, k: CellKernels, which: 'forward' | 'backward', constants: Record<string, number>): Promise<Kernel> {
  const data = k[which];
  return scoped(device, `${k.cell} ${which} kernels`, async () => {
    const module = device.createShaderModule({ label: `${k.cell} ${which}`, code: data.shader });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) throw new Error(`${k.cell} ${which} WGSL does not compile:\n${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
    const layout = device.createBindGroupLayout({
      label: `${k.cell} ${which}`,
      entries: data.bindings.map((b, i) => ({ binding: i, visibility: STAGE_COMPUTE, buffer: { type: b.type, hasDynamicOffset: b.type === 'uniform' } })),
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
    const entries = [...data.dispatches.map((d) => d.entry), ...data.reductions.map((r) => r.entry)];
    const pipelines = new Map<string, GPUComputePipeline>();
    const made = await Promise.all(entries.map((entryPoint) => device.createComputePipelineAsync({ label: `${k.cell} ${entryPoint}`, layout: pipelineLayout, compute: { module, entryPoint, constants } })));
    entries.forEach((e, i) => pipelines.set(e, made[i]!));
    return { data, layout, pipelines };
  });
}

/** Runs one cell's forward and backward over whole sequences on a GPUDevice. */
export class WgslCellRunner<P extends string = string, X extends string = string, S extends string = string> {
  private buffers?: { steps: number; map: Map<BufferName, GPUBuffer>; groups: Map<'forward' | 'backward', GPUBindGroup> };
  private forwardSteps = 0;
  private readonly align: number;
  private readonly reductionRows: number;
  private readonly perDim: number;

  private constructor(
    readonly device: GPUDevice,
    readonly kernels: CellKernels,
    readonly layout: CellLayout,
    private readonly fw: Kernel,
    private readonly bw: Kernel,
    private readonly sizes: Sizes,
    opts: RunnerOptions,
  ) {
    this.align = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.reductionRows = opts.reductionRows ?? 8192;
    this.perDim = Math.min(opts.maxWorkgroupsPerDimension ?? Infinity, device.limits.maxComputeWorkgroupsPerDimension);
    const maxTrips = opts.maxLoopTrips ?? 32768;
    if (this.reductionRows > maxTrips) throw new Error(`reductionRows ${this.reductionRows} exceeds maxLoopTrips ${maxTrips}`);
    for (const d of [...fw.data.dispatches, ...bw.data.dispatches]) {
      const trips = d.trips.reduce((s, x) => s + evalDim(x, sizes), 0);
      if (trips > maxTrips)
        throw new Error(`${kernels.cell}: ${d.entry} loops ${trips} times per invocation, more than ${maxTrips} (llvmpipe stops loops past 65,535); use smaller sizes`);
    }
  }

  /** Compiles both shaders for these sizes and batch (sizes and batch are WGSL override constants). */
  static async create<P extends string = string, X extends string = string, S extends string = string>(device: GPUDevice, kernels: CellKernels, opts: RunnerOptions): Promise<WgslCellRunner<P, X, S>> {
    const layout = new CellLayout(kernels, opts.sizes, opts.batch);
    const constants: Record<string, number> = { [BATCH_OVERRIDE]: opts.batch };
    for (const s of kernels.sizes) constants[sizeOverride(s)] = opts.sizes[s]!;
    const [fw, bw] = await Promise.all([compile(device, kernels, 'forward', constants), compile(device, kernels, 'backward', constants)]);
    return new WgslCellRunner<P, X, S>(device, kernels, layout, fw, bw, opts.sizes, opts);
  }

  /** Buffers for T steps (reused while T does not grow). */
  private ensure(steps: number): NonNullable<WgslCellRunner['buffers']> {
    if (this.buffers && this.buffers.steps >= steps) return this.buffers;
    this.destroyBuffers();
    const L = this.layout;
    const rows = steps * L.batch;
    const lengths: Record<BufferName, number> = {
      ctl: (steps + 1 + Math.ceil(rows / this.reductionRows)) * this.align / 4,
      params: L.params.total,
      xs: steps * L.xs.stride,
      states: (steps + 1) * L.states.stride,
      fwork: steps * L.fwork.stride,
      dstates: (steps + 1) * L.states.stride,
      bwork: steps * L.bwork.stride,
      out: L.params.total + steps * L.xs.stride,
    };
    const max = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    const map = new Map<BufferName, GPUBuffer>();
    for (const [name, n] of Object.entries(lengths) as [BufferName, number][]) {
      const bytes = Math.max(16, Math.ceil((n * 4) / 16) * 16);
      if (bytes > max) throw new Error(`${this.kernels.cell}: buffer '${name}' needs ${bytes} bytes, more than the device allows (${max}); request a larger maxStorageBufferBindingSize or use fewer steps`);
      map.set(name, this.device.createBuffer({ label: `${this.kernels.cell} ${name}`, size: bytes, usage: name === 'ctl' ? USAGE_UNIFORM : USAGE_STORAGE }));
    }
    const group = (k: Kernel) =>
      this.device.createBindGroup({
        layout: k.layout,
        entries: k.data.bindings.map((b, i) => ({ binding: i, resource: b.type === 'uniform' ? { buffer: map.get(b.buffer)!, size: 16 } : { buffer: map.get(b.buffer)! } })),
      });
    this.buffers = { steps, map, groups: new Map([['forward', group(this.fw)], ['backward', group(this.bw)]]) };
    return this.buffers;
  }

  /** Uniform entries: 0 .. T-1 the loop steps, T all steps at once, T + 1 + c the reduction chunk c. */
  private writeControl(steps: number): { chunks: number } {
    const rows = steps * this.layout.batch;
    const chunks = Math.ceil(rows / this.reductionRows);
    const words = this.align / 4;
    const ctl = new Uint32Array((steps + 1 + chunks) * words);
    for (let t = 0; t < steps; t++) ctl.set([t, steps, 0, rows], t * words);
    ctl.set([0, steps, 0, rows], steps * words);
    for (let c = 0; c < chunks; c++) ctl.set([0, steps, c * this.reductionRows, Math.min(rows, (c + 1) * this.reductionRows)], (steps + 1 + c) * words);
    this.device.queue.writeBuffer(this.buffers!.map.get('ctl')!, 0, ctl);
    return { chunks };
  }

  private dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, ctlEntry: number, invocations: number): void {
    if (invocations === 0) return;
    const groups = Math.ceil(invocations / this.kernels.workgroupSize);
    const x = Math.min(groups, this.perDim);
    const y = Math.ceil(groups / x);
    if (y > this.device.limits.maxComputeWorkgroupsPerDimension) throw new Error(`${this.kernels.cell}: ${invocations} invocations exceed the device's dispatch limits`);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group, [ctlEntry * this.align]);
    pass.dispatchWorkgroups(x, y);
  }

  /** Encodes one shader's dispatches: before the loop, the loop (forward or backward in t), after it. */
  private encodePhases(pass: GPUComputePassEncoder, k: Kernel, group: GPUBindGroup, steps: number, reverse: boolean): void {
    const B = this.layout.batch;
    const width = (d: DispatchData) => Math.max(...d.widths.map((w) => evalDim(w, this.sizes)));
    const pipe = (d: DispatchData) => k.pipelines.get(d.entry)!;
    for (const d of k.data.dispatches) if (d.scope === 'pre') this.dispatch(pass, pipe(d), group, steps, steps * B * width(d));
    const loop = k.data.dispatches.filter((d) => d.scope === 'loop');
    for (let i = 0; i < steps; i++) {
      const t = reverse ? steps - 1 - i : i;
      for (const d of loop) this.dispatch(pass, pipe(d), group, t, B * width(d));
    }
    for (const d of k.data.dispatches) if (d.scope === 'post') this.dispatch(pass, pipe(d), group, steps, steps * B * width(d));
  }

  /** Encodes a copy of `floats` values at `offset` into a mappable buffer; the returned function maps it after submission. */
  private readBack(enc: GPUCommandEncoder, buffer: GPUBuffer, offset: number, floats: number): () => Promise<Float32Array> {
    const staging = this.device.createBuffer({ size: Math.max(4, floats * 4), usage: USAGE_READBACK });
    enc.copyBufferToBuffer(buffer, offset * 4, staging, 0, floats * 4);
    return async () => {
      await staging.mapAsync(MAP_READ);
      const out = new Float32Array(staging.getMappedRange().slice(0, floats * 4));
      staging.unmap();
      staging.destroy();
      return out;
    };
  }

  /** Runs s_t = f(x_t, s_{t-1}) for t = 1 .. T in one submission and returns every state at every step. */
  async forward(args: ForwardArgs<P, X, S>): Promise<ForwardResult<S>> {
    const T = args.steps;
    if (!Number.isInteger(T) || T < 1) throw new Error(`steps must be a positive integer, got ${T}`);
    const L = this.layout;
    const bufs = this.ensure(T);
    const params = new Float32Array(L.params.total);
    for (const p of this.kernels.params) {
      const v = (args.params as Record<string, ArrayLike<number>>)[p.name];
      if (!v) throw new Error(`missing parameter '${p.name}'`);
      L.params.pack(params, p.name, v);
    }
    const xs = new Float32Array(T * L.xs.stride);
    for (const x of this.kernels.inputs) {
      const v = (args.inputs as Record<string, ArrayLike<number>>)[x.name];
      if (!v) throw new Error(`missing input '${x.name}'`);
      L.xs.pack(xs, x.name, v, T);
    }
    const s0 = new Float32Array(L.states.stride);
    for (const s of this.kernels.states) {
      const v = (args.init as Record<string, ArrayLike<number>> | undefined)?.[s.name];
      if (v) L.states.pack(s0, s.name, v, 1);
    }
    // Every dispatch of the sequence, and the copy of the states, in one submission.
    const read = await scoped(this.device, `${this.kernels.cell} forward`, () => {
      const q = this.device.queue;
      q.writeBuffer(bufs.map.get('params')!, 0, params);
      q.writeBuffer(bufs.map.get('xs')!, 0, xs);
      q.writeBuffer(bufs.map.get('states')!, 0, s0);
      this.writeControl(T);
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      this.encodePhases(pass, this.fw, bufs.groups.get('forward')!, T, false);
      pass.end();
      const read = this.readBack(enc, bufs.map.get('states')!, L.states.stride, T * L.states.stride);
      q.submit([enc.finish()]);
      return read;
    });
    this.forwardSteps = T;
    const all = await read();
    const states = {} as Record<S, Float32Array>;
    for (const s of this.kernels.states) states[s.name as S] = L.states.unpack(all, s.name, T);
    return { states };
  }

  /**
   * BPTT over the last forward: given dL/ds_t for every state and step ([T][batch][n]; zeros where absent),
   * returns the gradients of every parameter, of the inputs and of the initial states.
   */
  async backward(dStates: Readonly<Partial<Record<S, ArrayLike<number>>>>): Promise<BackwardResult<P, X, S>> {
    const T = this.forwardSteps;
    if (!T || !this.buffers) throw new Error('backward needs a forward first');
    const L = this.layout;
    const bufs = this.buffers;
    const ds = new Float32Array((T + 1) * L.states.stride);
    for (const s of this.kernels.states) {
      const v = (dStates as Record<string, ArrayLike<number>>)[s.name];
      if (v) L.states.pack(ds, s.name, v, T, 1);
    }
    const outLength = L.params.total + T * L.xs.stride;
    const [readOut, readInit] = await scoped(this.device, `${this.kernels.cell} backward`, () => {
      const q = this.device.queue;
      q.writeBuffer(bufs.map.get('dstates')!, 0, ds);
      const { chunks } = this.writeControl(T);
      const enc = this.device.createCommandEncoder();
      enc.clearBuffer(bufs.map.get('out')!);
      const pass = enc.beginComputePass();
      const group = bufs.groups.get('backward')!;
      this.encodePhases(pass, this.bw, group, T, true);
      for (const r of this.bw.data.reductions) {
        const n = L.params.offsets.get(r.param)!.length;
        for (let c = 0; c < chunks; c++) this.dispatch(pass, this.bw.pipelines.get(r.entry)!, group, T + 1 + c, n);
      }
      pass.end();
      const reads = [this.readBack(enc, bufs.map.get('out')!, 0, outLength), this.readBack(enc, bufs.map.get('dstates')!, 0, L.states.stride)] as const;
      q.submit([enc.finish()]);
      return reads;
    });
    const out = await readOut();
    const d0 = await readInit();
    const grads = {} as Record<P, Float32Array>;
    for (const p of this.kernels.params) grads[p.name as P] = L.params.unpack(out, p.name);
    const dInputs = {} as Record<X, Float32Array>;
    for (const x of this.kernels.inputs) dInputs[x.name as X] = L.xs.unpack(out, x.name, T, 0, L.params.total);
    const dInit = {} as Record<S, Float32Array>;
    for (const s of this.kernels.states) dInit[s.name as S] = L.states.unpack(d0, s.name, 1);
    return { grads, dInputs, dInit };
  }

  private destroyBuffers(): void {
    for (const b of this.buffers?.map.values() ?? []) b.destroy();
    this.buffers = undefined;
  }

  /** Frees the device buffers (pipelines are released with the runner). */
  destroy(): void {
    this.destroyBuffers();
    this.forwardSteps = 0;
  }
}
