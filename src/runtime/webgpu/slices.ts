// One batch slice of a runner: its layout, pipelines and per-chunk buffers, and the dispatches of its sequence.

import { allocateChunks, type BatchSlice, type BufferName, type Chunk, controlWords, createBuffer, USAGE_STORAGE, USAGE_UNIFORM } from './chunks.js';
import type { CellLayout, Sizes } from './layout.js';
import type { Kernel } from './pipelines.js';
import type { PendingCopies } from './queue.js';
import { Transfers } from './transfers.js';
import { type CellKernels, type DispatchData, evalDim } from './types.js';

/** What every slice of a runner shares. */
export interface SliceContext {
  readonly device: GPUDevice;
  readonly kernels: CellKernels;
  readonly sizes: Sizes;
  /** Dynamic uniform offset alignment (bytes). */
  readonly align: number;
  readonly reductionRows: number;
  /** Workgroups per grid dimension before a dispatch wraps into y. */
  readonly perDim: number;
  readonly batchTile: number;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  /** Copies waiting for the runner's next submission. */
  readonly pending: PendingCopies;
}

interface Sequence {
  readonly steps: number;
  readonly chunks: readonly Chunk[];
  readonly ctl: readonly GPUBuffer[];
  readonly groups: readonly { forward: GPUBindGroup; backward: GPUBindGroup }[];
}

/** Rows [b0, b0 + rows) of the batch, run as a batch of its own (kernels compiled for `rows`). */
export class Slice<S extends string> {
  private seq?: Sequence;
  readonly io: Transfers<S>;

  constructor(
    private readonly cx: SliceContext,
    readonly part: BatchSlice,
    readonly layout: CellLayout,
    private readonly fw: Kernel,
    private readonly bw: Kernel,
    total: number,
  ) {
    this.io = new Transfers<S>(cx.device, cx.kernels, layout, cx.pending, { b0: part.b0, total });
  }

  get chunks(): readonly Chunk[] {
    if (!this.seq) throw new Error('writeInputs first');
    return this.seq.chunks;
  }

  get steps(): number | undefined {
    return this.seq?.steps;
  }

  /** Buffers for exactly T steps in chunks of `per` steps; bwork (one chunk's scratch) is shared by all slices. */
  prepare(steps: number, per: number, bwork: GPUBuffer): void {
    this.destroy();
    const { device, kernels } = this.cx;
    const chunks = allocateChunks(device, kernels.cell, this.layout, steps, per, this.cx.reductionRows, bwork);
    const ctl = chunks.map((c) => {
      const words = controlWords(c, this.layout.batch, this.cx.reductionRows, this.cx.align);
      const b = device.createBuffer({ label: `${kernels.cell} ctl`, size: words.byteLength, usage: USAGE_UNIFORM });
      device.queue.writeBuffer(b, 0, words);
      return b;
    });
    const group = (k: Kernel, c: number) =>
      device.createBindGroup({
        layout: k.layout,
        entries: k.data.bindings.map((b, i) => ({ binding: i, resource: b.type === 'uniform' ? { buffer: ctl[c]!, size: 16 } : { buffer: this.buffer(chunks[c]!, b.buffer) } })),
      });
    this.seq = { steps, chunks, ctl, groups: chunks.map((_, c) => ({ forward: group(this.fw, c), backward: group(this.bw, c) })) };
  }

  private buffer(c: Chunk, name: BufferName): GPUBuffer {
    if (name === 'params') return this.cx.params;
    if (name === 'grads') return this.cx.grads;
    const b = c.buffers.get(name);
    if (!b) throw new Error(`invariant: no buffer '${name}'`);
    return b;
  }

  private dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, ctlEntry: number, groupsX: number, groupsY = 1): void {
    if (groupsX === 0 || groupsY === 0) return;
    const { device, kernels, perDim } = this.cx;
    let x = groupsX;
    let y = groupsY;
    if (y === 1) {
      x = Math.min(groupsX, perDim);
      y = Math.ceil(groupsX / x);
    }
    if (x > device.limits.maxComputeWorkgroupsPerDimension || y > device.limits.maxComputeWorkgroupsPerDimension)
      throw new Error(`${kernels.cell}: a grid of ${groupsX} x ${groupsY} workgroups exceeds the device's dispatch limits; use fewer steps per chunk (chunkSteps)`);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group, [ctlEntry * this.cx.align]);
    pass.dispatchWorkgroups(x, y);
  }

  /** Encodes one chunk's dispatches of one shader: before the loop, the loop (forward or backward in t), after it. */
  private encodePhases(pass: GPUComputePassEncoder, k: Kernel, group: GPUBindGroup, chunk: Chunk, reverse: boolean): void {
    const { kernels, sizes } = this.cx;
    const B = this.layout.batch;
    const T = chunk.steps;
    const tile = kernels.gemmTile;
    const lt = kernels.loopTile;
    const width = (d: DispatchData) => Math.max(...d.widths.map((w) => evalDim(w, sizes)));
    const run = (d: DispatchData, t: number) => {
      const pipe = k.pipelines.get(d.entry)!;
      if (d.kind === 'gemm') this.dispatch(pass, pipe, group, T, Math.ceil(width(d) / tile.cols), Math.ceil((T * B) / tile.rows));
      else if (d.kind === 'tile') this.dispatch(pass, pipe, group, t, Math.ceil(width(d) / lt.cols), Math.ceil(B / (lt.rowGroups * this.cx.batchTile)));
      else this.dispatch(pass, pipe, group, T, Math.ceil((T * B * width(d)) / kernels.workgroupSize));
    };
    for (const d of k.data.dispatches) if (d.scope === 'pre') run(d, T);
    const loop = k.data.dispatches.filter((d) => d.scope === 'loop');
    for (let i = 0; i < T; i++) for (const d of loop) run(d, reverse ? T - 1 - i : i);
    for (const d of k.data.dispatches) if (d.scope === 'post') run(d, T);
  }

  /** The forward over every chunk, each starting from the last state of the one before. */
  encodeForward(enc: GPUCommandEncoder): void {
    const seq = this.seq!;
    const block = this.layout.states.stride * 4;
    seq.chunks.forEach((c, i) => {
      if (i > 0) enc.copyBufferToBuffer(seq.chunks[i - 1]!.buffers.get('states')!, seq.chunks[i - 1]!.steps * block, c.buffers.get('states')!, 0, block);
      const pass = enc.beginComputePass();
      this.encodePhases(pass, this.fw, seq.groups[i]!.forward, c, false);
      pass.end();
    });
  }

  /** BPTT over the chunks in reverse; gradient reductions add into `grads` (cleared by the caller). */
  encodeBackward(enc: GPUCommandEncoder): void {
    const seq = this.seq!;
    const { kernels, sizes } = this.cx;
    const block = this.layout.states.stride * 4;
    for (let i = seq.chunks.length - 1; i >= 0; i--) {
      const c = seq.chunks[i]!;
      // dL/ds at the chunk's last block is what the chunk after it left in its block 0.
      if (i < seq.chunks.length - 1) enc.copyBufferToBuffer(seq.chunks[i + 1]!.buffers.get('dstates')!, 0, c.buffers.get('dstates')!, c.steps * block, block);
      const pass = enc.beginComputePass();
      const group = seq.groups[i]!.backward;
      this.encodePhases(pass, this.bw, group, c, true);
      for (const r of this.bw.data.reductions) {
        const pipe = this.bw.pipelines.get(r.entry)!;
        const shape = r.shape.map((d) => evalDim(d, sizes));
        for (let k = 0; k < c.reductionChunks; k++) {
          if (r.kind === 'gemm') this.dispatch(pass, pipe, group, c.steps + 1 + k, Math.ceil(shape[1]! / kernels.gemmTile.cols), Math.ceil(shape[0]! / kernels.gemmTile.rows));
          else this.dispatch(pass, pipe, group, c.steps + 1 + k, Math.ceil((shape[0] ?? 1) / kernels.workgroupSize));
        }
      }
      pass.end();
    }
  }

  /** The chunk buffers, for callers' own kernels. */
  buffersOf(c: Chunk): { xs: GPUBuffer; states: GPUBuffer; dstates: GPUBuffer; dxs: GPUBuffer } {
    const g = (n: BufferName) => c.buffers.get(n)!;
    return { xs: g('xs'), states: g('states'), dstates: g('dstates'), dxs: g('dxs') };
  }

  destroy(): void {
    if (!this.seq) return;
    for (const c of this.seq.chunks) for (const [n, b] of c.buffers) if (n !== 'bwork') b.destroy();
    for (const b of this.seq.ctl) b.destroy();
    this.seq = undefined;
  }
}

/** [T][total][n] from each slice's [T][rows][n] (T = 1 for [total][n]). */
export function mergeRows(parts: readonly { b0: number; rows: number; data: Float32Array }[], total: number, n: number): Float32Array {
  if (parts.length === 1 && parts[0]!.rows === total) return parts[0]!.data;
  const steps = parts[0]!.data.length / (parts[0]!.rows * n);
  const out = new Float32Array(steps * total * n);
  for (const p of parts) for (let t = 0; t < steps; t++) out.set(p.data.subarray(t * p.rows * n, (t + 1) * p.rows * n), (t * total + p.b0) * n);
  return out;
}
