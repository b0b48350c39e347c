// Copied by cellgen build from cellgen's src/runtime/webgpu/chunks.ts. Do not edit.
/// <reference types="@webgpu/types" />
// The sequence split into chunks whose buffers each fit the device's binding limits, and the GPU buffers of each.

import type { CellLayout } from './layout.js';
import type { BindingData } from './types.js';

export type BufferName = BindingData['buffer'];
export const USAGE_STORAGE = 0x0080 | 0x0008 | 0x0004; // STORAGE | COPY_DST | COPY_SRC
export const USAGE_UNIFORM = 0x0040 | 0x0008; // UNIFORM | COPY_DST

/** Steps [t0, t0 + steps) of the sequence; its states and adjoint buffers hold blocks t0 .. t0 + steps. */
export interface Chunk {
  readonly t0: number;
  readonly steps: number;
  /** Per-step buffers of this chunk (bwork is shared by all chunks: the backward runs them one at a time). */
  readonly buffers: ReadonlyMap<BufferName, GPUBuffer>;
  /** Reduction row ranges of this chunk, as uniform entries after the steps. */
  readonly reductionChunks: number;
}

/** Floats per step of each per-step buffer (states and dstates hold one block more per chunk). */
export function stepFloats(L: CellLayout): Record<'xs' | 'states' | 'fwork' | 'dstates' | 'bwork' | 'dxs', number> {
  return { xs: L.xs.stride, states: L.states.stride, fwork: L.fwork.stride, dstates: L.states.stride, bwork: L.bwork.stride, dxs: L.xs.stride };
}

/**
 * Steps per chunk: as many as keep every per-step buffer of a chunk within `maxBytes` (and `limit`, when
 * given). Throws when not even one step fits: then the batch is too large for this device.
 */
export function chunkSteps(L: CellLayout, steps: number, maxBytes: number, cell: string, limit?: number): number {
  const per = stepFloats(L);
  let fit = steps;
  for (const [name, n] of Object.entries(per)) {
    if (n === 0) continue;
    const extra = name === 'states' || name === 'dstates' ? 1 : 0;
    const most = Math.floor(maxBytes / (4 * n)) - extra;
    if (most < 1) throw new Error(`${cell}: one step of '${name}' needs ${4 * n * (1 + extra)} bytes, more than the device allows in one binding (${maxBytes}); split the batch`);
    fit = Math.min(fit, most);
  }
  return Math.max(1, Math.min(fit, limit ?? fit));
}

/** Rows [b0, b0 + rows) of the batch: a slice run with buffers and kernels of its own. */
export interface BatchSlice {
  readonly b0: number;
  readonly rows: number;
}

/**
 * The batch split into slices whose single step (two blocks of states) fits every binding: as few as possible,
 * of equal size where the batch divides, otherwise one smaller slice last. `perRow` is what one batch row adds to
 * one step of each per-step buffer (a CellLayout at batch 1); `most` caps the rows per slice.
 */
export function batchSlices(perRow: CellLayout, batch: number, maxBytes: number, cell: string, most?: number): BatchSlice[] {
  let fit = batch;
  for (const [name, n] of Object.entries(stepFloats(perRow))) {
    if (n === 0) continue;
    const blocks = name === 'states' || name === 'dstates' ? 2 : 1;
    const rows = Math.floor(maxBytes / (4 * n * blocks));
    if (rows < 1) throw new Error(`${cell}: one batch row of '${name}' needs ${4 * n * blocks} bytes, more than the device allows in one binding (${maxBytes})`);
    fit = Math.min(fit, rows);
  }
  fit = Math.max(1, Math.min(fit, most ?? fit));
  const count = Math.ceil(batch / fit);
  // Equal slices when some count up to twice the least one divides the batch: one set of pipelines serves all.
  let parts = count;
  for (let c = count; c <= 2 * count && c <= batch; c++)
    if (batch % c === 0) {
      parts = c;
      break;
    }
  const size = Math.ceil(batch / parts);
  const out: BatchSlice[] = [];
  for (let b0 = 0; b0 < batch; b0 += size) out.push({ b0, rows: Math.min(size, batch - b0) });
  return out;
}

/** Bytes of a storage buffer of n floats: a multiple of 16, at least 16. */
export const storageBytes = (floats: number): number => Math.max(16, Math.ceil((floats * 4) / 16) * 16);

/** Creates a buffer, failing with the cell and buffer named when it is over the device's limits. */
export function createBuffer(device: GPUDevice, cell: string, name: string, floats: number, usage: number): GPUBuffer {
  const bytes = storageBytes(floats);
  const max = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (bytes > max) throw new Error(`${cell}: buffer '${name}' needs ${bytes} bytes, more than the device allows (${max})`);
  return device.createBuffer({ label: `${cell} ${name}`, size: bytes, usage });
}

/** The per-step buffers of the chunks of a T-step sequence. */
export function allocateChunks(device: GPUDevice, cell: string, L: CellLayout, steps: number, perChunk: number, reductionRows: number, bwork: GPUBuffer): Chunk[] {
  const per = stepFloats(L);
  const chunks: Chunk[] = [];
  for (let t0 = 0; t0 < steps; t0 += perChunk) {
    const n = Math.min(perChunk, steps - t0);
    const map = new Map<BufferName, GPUBuffer>();
    const tag = (b: string) => (steps > perChunk ? `${b} [steps ${t0}..${t0 + n - 1}]` : b);
    map.set('xs', createBuffer(device, cell, tag('xs'), n * per.xs, USAGE_STORAGE));
    map.set('states', createBuffer(device, cell, tag('states'), (n + 1) * per.states, USAGE_STORAGE));
    map.set('fwork', createBuffer(device, cell, tag('fwork'), n * per.fwork, USAGE_STORAGE));
    map.set('dstates', createBuffer(device, cell, tag('dstates'), (n + 1) * per.dstates, USAGE_STORAGE));
    map.set('dxs', createBuffer(device, cell, tag('dxs'), n * per.dxs, USAGE_STORAGE));
    map.set('bwork', bwork);
    chunks.push({ t0, steps: n, buffers: map, reductionChunks: Math.ceil((n * L.batch) / reductionRows) });
  }
  return chunks;
}

/**
 * The uniform entries of one chunk, `align` bytes apart: 0 .. T-1 the loop steps, T all steps at once,
 * T + 1 + c the reduction row range c.
 */
export function controlWords(chunk: Chunk, batch: number, reductionRows: number, align: number): Uint32Array {
  const T = chunk.steps;
  const rows = T * batch;
  const words = align / 4;
  const ctl = new Uint32Array((T + 1 + chunk.reductionChunks) * words);
  for (let t = 0; t < T; t++) ctl.set([t, T, 0, rows], t * words);
  ctl.set([0, T, 0, rows], T * words);
  for (let c = 0; c < chunk.reductionChunks; c++) ctl.set([0, T, c * reductionRows, Math.min(rows, (c + 1) * reductionRows)], (T + 1 + c) * words);
  return ctl;
}
