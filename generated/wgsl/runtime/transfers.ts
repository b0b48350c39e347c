// Copied by cellgen build from cellgen's src/runtime/webgpu/transfers.ts. Do not edit.
/// <reference types="@webgpu/types" />
// Moves tensors between the host (or a caller's GPUBuffers) and the chunked device layout of a runner.

import type { BufferName, Chunk } from './chunks.js';
import type { CellLayout } from './layout.js';
import type { PendingCopies, Read } from './queue.js';
import type { CellKernels, SlotData } from './types.js';

/** A tensor given as host values or as a GPUBuffer holding the same row-major f32 values. */
export type Tensor = ArrayLike<number> | GPUBuffer;

const isBuffer = (t: unknown): t is GPUBuffer => typeof (t as GPUBuffer | undefined)?.mapAsync === 'function';
const floats = (a: ArrayLike<number>): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/**
 * Moves the rows [b0, b0 + L.batch) of a `total`-row batch: caller tensors are [T][total][n] (or [total][n]),
 * the slice's device blocks [L.batch][n]. Host values go up with queue.writeBuffer; copies from GPUBuffers wait in
 * `pending` for the next submission; reads are described (`Read`) for the runner to copy back with its own work.
 */
export class Transfers<S extends string> {
  private readonly b0: number;
  private readonly total: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly kernels: CellKernels,
    private readonly L: CellLayout,
    private readonly pending: PendingCopies,
    part?: { b0: number; total: number },
  ) {
    this.b0 = part?.b0 ?? 0;
    this.total = part?.total ?? L.batch;
  }

  /** The slice's rows of step t of a [T][total][n] tensor, as a float range. */
  private rowsOf(t: number, n: number): [number, number] {
    const from = (t * this.total + this.b0) * n;
    return [from, from + this.L.batch * n];
  }

  private checkBuffer(b: GPUBuffer, name: string, floatsNeeded: number): void {
    if (b.size < floatsNeeded * 4) throw new Error(`GPUBuffer for '${name}' has ${b.size} bytes; expected at least ${floatsNeeded * 4}`);
  }

  writeParams(dst: GPUBuffer, params: Readonly<Record<string, ArrayLike<number>>> | GPUBuffer): void {
    const P = this.L.params;
    if (isBuffer(params)) {
      this.checkBuffer(params, 'params', P.total);
      this.pending.copy(params, 0, dst, 0, P.total * 4);
      return;
    }
    const host = new Float32Array(P.total);
    for (const p of this.kernels.params) {
      const v = params[p.name];
      if (!v) throw new Error(`missing parameter '${p.name}'`);
      P.pack(host, p.name, v);
    }
    this.pending.write(dst, 0, host);
  }

  /**
   * Copies [T][batch][n] tensors, one per slot, into the per-step blocks of every chunk (from block `first`):
   * host arrays are packed and written per chunk, GPUBuffers copied block by block.
   */
  writeSteps(chunks: readonly Chunk[], buffer: BufferName, slots: readonly SlotData[], tensors: Readonly<Record<string, Tensor>>, first: number): void {
    const block = buffer === 'states' || buffer === 'dstates' ? this.L.states : this.L.xs;
    const T = chunks.reduce((s, c) => s + c.steps, 0);
    for (const s of slots) if (!tensors[s.name]) throw new Error(`missing '${s.name}'`);
    // Host values first (a chunk's whole blocks), then the copies from GPUBuffers over their slots.
    const host = slots.filter((s) => !isBuffer(tensors[s.name]));
    for (const c of chunks) {
      if (!host.length) break;
      const data = new Float32Array(c.steps * block.stride);
      for (const s of host) {
        const { offset, n } = block.offsets.get(s.name)!;
        const f = this.checkArray(tensors[s.name] as ArrayLike<number>, s.name, T, n);
        for (let t = 0; t < c.steps; t++) data.set(f.subarray(...this.rowsOf(c.t0 + t, n)), t * block.stride + offset);
      }
      this.pending.write(c.buffers.get(buffer)!, first * block.stride * 4, data);
    }
    for (const s of slots) {
      const v = tensors[s.name]!;
      if (!isBuffer(v)) continue;
      const { offset, n } = block.offsets.get(s.name)!;
      this.checkBuffer(v, s.name, T * this.total * n);
      for (const c of chunks) this.copyBlocks(v, c.t0, c.buffers.get(buffer)!, first, offset, n, block.stride, c.steps);
    }
  }

  private checkArray(v: ArrayLike<number>, name: string, steps: number, n: number): Float32Array {
    const f = floats(v);
    if (f.length !== steps * this.total * n) throw new Error(`'${name}' has ${f.length} values; expected ${steps} steps x ${this.total} rows x ${n} = ${steps * this.total * n}`);
    return f;
  }

  /** Copies the slice's rows of `steps` consecutive steps of src (from step `from`) into a slot of dst's blocks from `first`. */
  private copyBlocks(src: GPUBuffer, from: number, dst: GPUBuffer, first: number, offset: number, n: number, stride: number, steps: number, copy = this.pending.copy.bind(this.pending)): void {
    const per = this.L.batch * n;
    if (stride === per && this.total === this.L.batch) copy(src, from * per * 4, dst, (first * stride + offset) * 4, steps * per * 4);
    else for (let t = 0; t < steps; t++) copy(src, this.rowsOf(from + t, n)[0] * 4, dst, ((first + t) * stride + offset) * 4, per * 4);
  }

  writeInit(chunk: Chunk, init: Readonly<Partial<Record<string, Tensor>>>): void {
    const S = this.L.states;
    const dst = chunk.buffers.get('states')!;
    // Host values and zeros first (the whole block unless every state comes from a GPUBuffer), then the copies.
    if (this.kernels.states.some((s) => !isBuffer(init[s.name]))) {
      const host = new Float32Array(S.stride);
      for (const s of this.kernels.states) {
        const v = init[s.name];
        const { offset, n } = S.offsets.get(s.name)!;
        if (v && !isBuffer(v)) host.set(this.checkArray(v, s.name, 1, n).subarray(...this.rowsOf(0, n)), offset);
      }
      this.pending.write(dst, 0, host);
    }
    for (const s of this.kernels.states) {
      const v = init[s.name];
      if (!isBuffer(v)) continue;
      const { offset, n } = S.offsets.get(s.name)!;
      this.checkBuffer(v, s.name, this.total * n);
      this.pending.copy(v, this.rowsOf(0, n)[0] * 4, dst, offset * 4, this.L.batch * n * 4);
    }
  }

  /**
   * The adjoint seeds dL/ds_t, t = 1 .. T, into the chunks' dstates: chunk [t0, t0 + n) takes s_t for
   * t0 <= t < t0 + n at block t - t0 (its block n is filled from the next chunk), the last chunk also s_T.
   * Host values (and zeros) are written before `enc` runs; GPUBuffer seeds are copied by `enc`, which clears the
   * blocks first when every seed is a GPUBuffer.
   */
  writeSeeds(enc: GPUCommandEncoder, chunks: readonly Chunk[], seeds: Readonly<Partial<Record<string, Tensor>>>): void {
    const S = this.L.states;
    const T = chunks.reduce((s, c) => s + c.steps, 0);
    const onDevice = this.kernels.states.every((s) => isBuffer(seeds[s.name]));
    chunks.forEach((c, i) => {
      const lo = Math.max(1, c.t0);
      const hi = i === chunks.length - 1 ? c.t0 + c.steps : c.t0 + c.steps - 1;
      const host = onDevice ? undefined : new Float32Array((c.steps + 1) * S.stride);
      const dst = c.buffers.get('dstates')!;
      if (onDevice) enc.clearBuffer(dst);
      for (const s of this.kernels.states) {
        const v = seeds[s.name];
        if (!v || hi < lo) continue;
        const { offset, n } = S.offsets.get(s.name)!;
        if (isBuffer(v)) {
          this.checkBuffer(v, `d${s.name}`, T * this.total * n);
          this.copyBlocks(v, lo - 1, dst, lo - c.t0, offset, n, S.stride, hi - lo + 1, (...a) => enc.copyBufferToBuffer(...a));
        } else {
          const f = this.checkArray(v, s.name, T, n);
          for (let t = lo; t <= hi; t++) host!.set(f.subarray(...this.rowsOf(t - 1, n)), (t - c.t0) * S.stride + offset);
        }
      }
      if (host) this.device.queue.writeBuffer(dst, 0, host);
    });
  }

  /** Slots of per-step blocks `first` .. of every chunk as [T][batch][n] (only the last step with `last`). */
  readSteps(chunks: readonly Chunk[], buffer: BufferName, slots: readonly SlotData[], names: readonly string[] | undefined, first: number, last = false): Read<Record<string, Float32Array>> {
    const block = buffer === 'states' || buffer === 'dstates' ? this.L.states : this.L.xs;
    const picked = slots.filter((s) => !names || names.includes(s.name));
    const use = last ? [chunks.at(-1)!] : chunks;
    return {
      regions: use.map((c) => ({ buffer: c.buffers.get(buffer)!, offset: (first + (last ? c.steps - 1 : 0)) * block.stride, floats: (last ? 1 : c.steps) * block.stride })),
      decode: (parts) => {
        const out: Record<string, Float32Array> = {};
        for (const s of picked) {
          const per = this.L.batch * block.offsets.get(s.name)!.n;
          const whole = new Float32Array((last ? 1 : chunks.reduce((n, c) => n + c.steps, 0)) * per);
          let at = 0;
          use.forEach((c, i) => {
            const steps = last ? 1 : c.steps;
            whole.set(block.unpack(parts[i]!, s.name, steps), at);
            at += steps * per;
          });
          out[s.name] = whole;
        }
        return out;
      },
    };
  }

  readParams(buffer: GPUBuffer, names?: readonly string[]): Read<Record<string, Float32Array>> {
    return {
      regions: [{ buffer, offset: 0, floats: this.L.params.total }],
      decode: ([all]) => {
        const out: Record<string, Float32Array> = {};
        for (const p of this.kernels.params) if (!names || names.includes(p.name)) out[p.name] = this.L.params.unpack(all!, p.name);
        return out;
      },
    };
  }

  /** dL/ds_0: block 0 of the first chunk's dstates. */
  readInit(chunk: Chunk, names?: readonly S[]): Read<Record<S, Float32Array>> {
    return {
      regions: [{ buffer: chunk.buffers.get('dstates')!, offset: 0, floats: this.L.states.stride }],
      decode: ([all]) => {
        const out = {} as Record<S, Float32Array>;
        for (const s of this.kernels.states) if (!names || names.includes(s.name as S)) out[s.name as S] = this.L.states.unpack(all!, s.name, 1);
        return out;
      },
    };
  }
}
