// Copied by cellgen build from cellgen's src/runtime/webgpu/layout.ts. Do not edit.
/// <reference types="@webgpu/types" />
// Host side of the packed buffer layouts: offsets from sizes, and packing between them and [T][batch][n] arrays.

import { type CellKernels, evalDim, numel, type SlotData, type TensorData } from './types.js';

export type Sizes = Readonly<Record<string, number>>;

/** Offsets of the [batch][n] slots of a per-step block, and the block's length. */
export class StepBlock {
  readonly offsets = new Map<string, { offset: number; n: number }>();
  readonly stride: number;

  constructor(slots: readonly SlotData[], sizes: Sizes, readonly batch: number) {
    let off = 0;
    for (const s of slots) {
      const n = evalDim(s.dim, sizes);
      this.offsets.set(s.name, { offset: off, n });
      off += batch * n;
    }
    this.stride = off;
  }

  /** Copies a [T][batch][n] array of one slot into blocks first .. first + T - 1 of `dst`. */
  pack(dst: Float32Array, slot: string, src: ArrayLike<number>, steps: number, first = 0, base = 0): void {
    const { offset, n } = this.offsets.get(slot)!;
    const per = this.batch * n;
    if (src.length !== steps * per) throw new Error(`'${slot}' has ${src.length} values; expected ${steps} steps x ${this.batch} rows x ${n} = ${steps * per}`);
    for (let t = 0; t < steps; t++) {
      const at = base + (first + t) * this.stride + offset;
      for (let i = 0; i < per; i++) dst[at + i] = src[t * per + i]!;
    }
  }

  /** The [T][batch][n] array of one slot from blocks first .. first + T - 1 of `src`. */
  unpack(src: Float32Array, slot: string, steps: number, first = 0, base = 0): Float32Array {
    const { offset, n } = this.offsets.get(slot)!;
    const per = this.batch * n;
    const out = new Float32Array(steps * per);
    for (let t = 0; t < steps; t++) out.set(src.subarray(base + (first + t) * this.stride + offset, base + (first + t) * this.stride + offset + per), t * per);
    return out;
  }
}

/** Offsets of the parameters, each row-major after the previous one. */
export class ParamBlock {
  readonly offsets = new Map<string, { offset: number; length: number }>();
  readonly total: number;

  constructor(params: readonly TensorData[], sizes: Sizes) {
    let off = 0;
    for (const p of params) {
      const length = numel(p.shape, sizes);
      this.offsets.set(p.name, { offset: off, length });
      off += length;
    }
    this.total = off;
  }

  pack(dst: Float32Array, name: string, src: ArrayLike<number>): void {
    const o = this.offsets.get(name);
    if (!o) throw new Error(`unknown parameter '${name}'`);
    if (src.length !== o.length) throw new Error(`parameter '${name}' has ${src.length} values; expected ${o.length}`);
    for (let i = 0; i < o.length; i++) dst[o.offset + i] = src[i]!;
  }

  unpack(src: Float32Array, name: string): Float32Array {
    const o = this.offsets.get(name)!;
    return src.slice(o.offset, o.offset + o.length);
  }
}

/** All host-side layouts of a cell at given sizes and batch. */
export class CellLayout {
  readonly params: ParamBlock;
  readonly xs: StepBlock;
  readonly states: StepBlock;
  readonly fwork: StepBlock;
  readonly bwork: StepBlock;

  constructor(k: CellKernels, sizes: Sizes, readonly batch: number) {
    for (const s of k.sizes) if (!Number.isInteger(sizes[s]) || sizes[s]! < 1) throw new Error(`size '${s}' must be a positive integer, got ${sizes[s]}`);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
    this.params = new ParamBlock(k.params, sizes);
    this.xs = new StepBlock(k.inputs, sizes, batch);
    this.states = new StepBlock(k.states, sizes, batch);
    this.fwork = new StepBlock(k.fwork, sizes, batch);
    this.bwork = new StepBlock(k.bwork, sizes, batch);
  }
}
