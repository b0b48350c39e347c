// Host-side buffer layouts of the WebGPU runner: offsets from sizes, packing to and from [T][batch][n] arrays, and
// the split of the sequence and the batch into bindings that fit.

import { describe, expect, it } from 'vitest';
import { CellLayout, ParamBlock, StepBlock } from '../../../src/runtime/webgpu/layout.js';
import { readdirSync, readFileSync } from 'node:fs';
import { batchSlices, chunkSteps, stepFloats } from '../../../src/runtime/webgpu/chunks.js';
import { compileCell } from '../../../src/derive/compile.js';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { type CellKernels, evalDim } from '../../../src/runtime/webgpu/types.js';

const d = (terms: Record<string, number>, constant = 0) => ({ terms: Object.entries(terms), constant });

describe('runtime/webgpu layout', () => {
  it('evaluates a size expression such as hidden + input', () => {
    expect(evalDim(d({ hidden: 1, input: 1 }), { hidden: 7, input: 5 })).toBe(12);
    expect(evalDim(d({ hidden: 2 }, 1), { hidden: 7 })).toBe(15);
    expect(() => evalDim(d({ depth: 1 }), {})).toThrow(/depth/);
  });

  it('places each slot of a step block after the previous one, [batch][n] each', () => {
    const b = new StepBlock([{ name: 'c', dim: d({ hidden: 1 }) }, { name: 'h', dim: d({ hidden: 1 }) }], { hidden: 3 }, 2);
    expect(b.stride).toBe(12);
    expect(b.offsets.get('h')).toEqual({ offset: 6, n: 3 });
  });

  it('packs [T][batch][n] into blocks and unpacks it unchanged, from any first block and base', () => {
    const b = new StepBlock([{ name: 'a', dim: d({ n: 1 }) }, { name: 'x', dim: d({ n: 1 }, 1) }], { n: 2 }, 2);
    const T = 3;
    const x = Float32Array.from({ length: T * 2 * 3 }, (_, i) => i + 1);
    const buf = new Float32Array(5 + (T + 1) * b.stride);
    b.pack(buf, 'x', x, T, 1, 5);
    expect(b.unpack(buf, 'x', T, 1, 5)).toEqual(x);
    // x of step 0, row 1, element 2 sits in block 1 after slot a (batch 2 x n 2 = 4 floats), row 1 (3 floats)
    expect(buf[5 + 1 * b.stride + 4 + 3 + 2]).toBe(x[5]);
    expect(buf.slice(0, 5 + b.stride).every((v) => v === 0)).toBe(true);
  });

  it('refuses an array of the wrong length, naming the slot and the expected shape', () => {
    const b = new StepBlock([{ name: 'x', dim: d({ input: 1 }) }], { input: 5 }, 3);
    expect(() => b.pack(new Float32Array(100), 'x', new Float32Array(14), 1)).toThrow(/'x' has 14 values; expected 1 steps x 3 rows x 5 = 15/);
  });

  it('packs parameters row-major one after another', () => {
    const p = new ParamBlock([{ name: 'W', shape: [d({ h: 1 }), d({ i: 1 })] }, { name: 'b', shape: [d({ h: 1 })] }], { h: 2, i: 3 });
    expect(p.total).toBe(8);
    const buf = new Float32Array(p.total);
    p.pack(buf, 'b', [7, 8]);
    expect(Array.from(buf)).toEqual([0, 0, 0, 0, 0, 0, 7, 8]);
    expect(() => p.pack(buf, 'W', [1, 2])).toThrow(/expected 6/);
  });

  it('rejects sizes and batches that are not positive integers', () => {
    const k = { sizes: ['hidden'], params: [], inputs: [], states: [], fwork: [], bwork: [] } as unknown as CellKernels;
    expect(() => new CellLayout(k, { hidden: 0 }, 2)).toThrow(/hidden/);
    expect(() => new CellLayout(k, { hidden: 3 }, 1.5)).toThrow(/batch/);
  });
});

describe('runtime/webgpu chunks', () => {
  const k = {
    sizes: ['hidden'],
    params: [],
    inputs: [{ name: 'x', dim: d({ hidden: 1 }) }],
    states: [{ name: 'h', dim: d({ hidden: 1 }) }],
    fwork: [{ name: 'a', dim: d({ hidden: 2 }) }, { name: 'b', dim: d({ hidden: 1 }) }],
    bwork: [],
  } as unknown as CellKernels;
  const L = new CellLayout(k, { hidden: 4 }, 2); // fwork: 24 floats = 96 bytes per step

  it('keeps the whole sequence in one chunk when every buffer fits', () => {
    expect(chunkSteps(L, 10, 96 * 10, 'c')).toBe(10);
  });

  it('splits the sequence so the largest per-step buffer fits one binding', () => {
    expect(chunkSteps(L, 10, 96 * 3 + 95, 'c')).toBe(3);
    // states hold one block more than their steps: 32 bytes per block, 4 blocks in 128 bytes
    const s = new CellLayout({ ...k, fwork: [] } as unknown as CellKernels, { hidden: 4 }, 2);
    expect(chunkSteps(s, 10, 128, 'c')).toBe(3);
  });

  it('honours a smaller chunk asked for, and refuses a batch whose single step does not fit', () => {
    expect(chunkSteps(L, 10, 1e6, 'c', 4)).toBe(4);
    expect(() => chunkSteps(L, 10, 90, 'cellx')).toThrow(/cellx: one step of 'fwork' needs 96 bytes.*split the batch/);
  });
});

describe('runtime/webgpu batch slices', () => {
  const k = {
    sizes: ['hidden'],
    params: [],
    inputs: [{ name: 'x', dim: d({ hidden: 1 }) }],
    states: [{ name: 'h', dim: d({ hidden: 1 }) }],
    fwork: [{ name: 'a', dim: d({ hidden: 3 }) }],
    bwork: [],
  } as unknown as CellKernels;
  const perRow = new CellLayout(k, { hidden: 4 }, 1); // fwork: 12 floats = 48 bytes per row and step

  it('keeps the batch whole when one step fits, and splits it evenly where the batch divides', () => {
    expect(batchSlices(perRow, 10, 48 * 10, 'c')).toEqual([{ b0: 0, rows: 10 }]);
    expect(batchSlices(perRow, 10, 48 * 4, 'c').map((s) => s.rows)).toEqual([2, 2, 2, 2, 2]);
    expect(batchSlices(perRow, 12, 48 * 5, 'c').map((s) => s.rows)).toEqual([4, 4, 4]);
  });

  it('leaves one smaller slice last when no count near the least divides the batch, and honours a cap', () => {
    expect(batchSlices(perRow, 7, 48 * 3, 'c')).toEqual([{ b0: 0, rows: 3 }, { b0: 3, rows: 3 }, { b0: 6, rows: 1 }]);
    expect(batchSlices(perRow, 8, 1e9, 'c', 3).map((s) => s.rows)).toEqual([2, 2, 2, 2]);
    expect(() => batchSlices(perRow, 8, 40, 'cellx')).toThrow(/cellx: one batch row of 'fwork' needs 48 bytes/);
  });
});

describe('runtime/webgpu: every shipped cell at (T, B, I=H) = (256, 256, 1024)', () => {
  const cells = readdirSync('cells').filter((f) => f.endsWith('.cell.yaml')).sort();
  // H200 (Dawn, Vulkan), WebGPU's default, and a limit so small that one step of the whole batch does not fit.
  for (const limit of [2147483644, 134217728, 4 << 20]) {
    it(`splits every per-step buffer within ${limit} bytes`, () => {
      for (const f of cells) {
        const c = compileCell(readFileSync(`cells/${f}`, 'utf8'), `cells/${f}`);
        const kern = emitWgsl(c).kernels;
        const sizes = Object.fromEntries(kern.sizes.map((n) => [n, 1024])); // input, hidden and any other size
        const slices = batchSlices(new CellLayout(kern, sizes, 1), 256, limit, c.spec.name);
        expect(slices.reduce((s, x) => s + x.rows, 0)).toBe(256);
        const L = new CellLayout(kern, sizes, slices[0]!.rows);
        const steps = chunkSteps(L, 256, limit, c.spec.name);
        const per = stepFloats(L);
        for (const [name, n] of Object.entries(per)) {
          const blocks = steps + (name === 'states' || name === 'dstates' ? 1 : 0);
          expect(4 * n * blocks, `${c.spec.name} ${name}`).toBeLessThanOrEqual(limit);
        }
        // The whole fwork of the sequence exceeds the smaller limits, so they must split something.
        const whole = 4 * 256 * new CellLayout(kern, sizes, 256).fwork.stride;
        if (whole > limit) expect(slices.length * Math.ceil(256 / steps), c.spec.name).toBeGreaterThan(1);
        // Where one step of the whole batch (B x H x gates) is over the limit, the batch must split.
        const full = stepFloats(new CellLayout(kern, sizes, 256));
        const step = Math.max(...Object.entries(full).map(([name, n]) => 4 * n * (name === 'states' || name === 'dstates' ? 2 : 1)));
        expect(slices.length > 1, c.spec.name).toBe(step > limit);
        if (limit === 4 << 20 && ['lstm-peephole', 'gru'].includes(c.spec.name)) expect(slices.length, c.spec.name).toBeGreaterThan(1);
      }
    });
  }
});
