// Runs every cell's WGSL forward and backward on Dawn (llvmpipe) and compares all outputs with the float64 reference.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CompiledCell } from '../../../src/derive/compile.js';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { isConst } from '../../../src/ir/expr.js';
import { randomProblem } from '../../../src/check/gradcheck.js';
import { backwardSequence, forwardSequence } from '../../../src/check/reference.js';
import { CellLayout, type RunnerOptions, type WgslCellRunner } from '../../../src/runtime/webgpu/index.js';
import { allCells, compare, dawnDevice, failWithoutDeviceUnderCi, oddSizes } from './fixture.js';

const nd = await dawnDevice();
const device = nd.device;

// Generated modules import the runtime as ../../src/runtime/webgpu/index.js, as from generated/wgsl/.
mkdirSync('.tmp', { recursive: true });
const dir = mkdtempSync(join('.tmp', 'wgsl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface GeneratedModule {
  createRunner(device: GPUDevice, sizes: Record<string, number>, batch: number, opts?: Partial<RunnerOptions>): Promise<WgslCellRunner>;
}

async function load(c: CompiledCell): Promise<GeneratedModule> {
  const file = join(dir, `${c.spec.name}.ts`);
  writeFileSync(file, emitWgsl(c).module);
  return (await import(pathToFileURL(join(process.cwd(), file)).href)) as GeneratedModule;
}

/** Runs a random problem on the GPU and in float64; returns every mismatch, by tensor. */
async function check(c: CompiledCell, opts: { steps: number; batch: number; seed: number; runner?: Partial<RunnerOptions>; perturb?: string; warm?: boolean; sizes?: Record<string, number>; onRunner?: (r: WgslCellRunner) => void }) {
  const sizes = opts.sizes ?? oddSizes(c);
  const p = randomProblem(c, { ...opts, sizes });
  const seq = { batch: opts.batch, steps: opts.steps, inputs: p.inputs, init: p.init };
  const fw = forwardSequence(c.cell, sizes, p.params, seq);
  const ref = backwardSequence(c.cell, c.bw, sizes, p.params, seq, fw, p.weights);

  const params = { ...p.params };
  if (opts.perturb) params[opts.perturb] = params[opts.perturb]!.map((v, i) => (i === 0 ? v + 0.05 : v));
  const mod = await load(c);
  const runner = await mod.createRunner(device!, sizes, opts.batch, opts.runner);
  if (opts.warm) {
    // A longer sequence first: buffers are reused, and nothing of it may leak into the run checked.
    const w = randomProblem(c, { steps: opts.steps + 3, batch: opts.batch, seed: opts.seed + 1, sizes });
    await runner.forward({ params: w.params, inputs: w.inputs, init: w.init, steps: opts.steps + 3 });
    await runner.backward(w.weights);
  }
  const gpuFw = await runner.forward({ params, inputs: p.inputs, init: p.init, steps: opts.steps });
  const gpuBw = await runner.backward(p.weights);
  opts.onRunner?.(runner);
  runner.destroy();

  const results: Record<string, ReturnType<typeof compare>> = {};
  for (const s of c.cell.prev) results[`${s.name}_t`] = compare(gpuFw.states[s.name]!, fw.states[s.name]!);
  for (const q of c.cell.params) results[`d${q.name}`] = compare(gpuBw.grads[q.name]!, ref.grads[q.name]!);
  for (const x of c.cell.inputs) results[`d${x.name}_t`] = compare(gpuBw.dInputs[x.name]!, ref.dInputs[x.name]!);
  for (const s of c.cell.prev) results[`d${s.name}_0`] = compare(gpuBw.dInit[s.name]!, ref.dInit[s.name]!);
  // The comparison must have something to compare: every reference tensor has nonzero entries (but
  // dL/ds_0 of a state that the step never reads, whose adjoint is identically zero).
  const recurs = (s: string) => !isConst(c.bw.prevAdjoint.get(s)!, 0);
  const refs: [string, Float64Array][] = [
    ...Object.entries(fw.states).map(([k, v]): [string, Float64Array] => [`${k}_t`, v]),
    ...Object.entries(ref.grads).map(([k, v]): [string, Float64Array] => [`d${k}`, v]),
    ...Object.entries(ref.dInputs).map(([k, v]): [string, Float64Array] => [`d${k}_t`, v]),
    ...Object.entries(ref.dInit).filter(([k]) => recurs(k)).map(([k, v]): [string, Float64Array] => [`d${k}_0`, v]),
  ];
  for (const [k, r] of refs) expect(r.some((v) => v !== 0), `${k} is all zero`).toBe(true);
  return results;
}

const failures = (r: Record<string, ReturnType<typeof compare>>) =>
  Object.entries(r).filter(([, v]) => v.bad.length).map(([k, v]) => `${k}: ${v.bad.join('; ')}`);

failWithoutDeviceUnderCi(nd);

describe.skipIf(!device)('WGSL on Dawn: forward and backward against the float64 reference', () => {
  for (const { file, cell } of allCells()) {
    it(`${file}: states, parameter, input and initial-state gradients match (T 5, batch 3, input 5, hidden 7)`, async () => {
      const r = await check(cell, { steps: 5, batch: 3, seed: 11 });
      expect(failures(r)).toEqual([]);
    });
  }

  const byName = new Map(allCells().map((x) => [x.cell.spec.name, x.cell]));

  it('lstm-peephole: gradient reductions over several chunks and dispatches wrapped into a 2D grid match', async () => {
    const r = await check(byName.get('lstm-peephole')!, { steps: 9, batch: 2, seed: 3, runner: { reductionRows: 4, maxWorkgroupsPerDimension: 1 } });
    expect(failures(r)).toEqual([]);
  });

  it('lstm-peephole: a sequence split into chunks of 2 steps, with 2 batch rows per loop invocation, matches', async () => {
    const r = await check(byName.get('lstm-peephole')!, { steps: 5, batch: 3, seed: 4, runner: { chunkSteps: 2, batchTile: 2 } });
    expect(failures(r)).toEqual([]);
  });

  it('lstm-peephole: a binding limit that splits both the batch and the sequence gives the reference results', async () => {
    const c = byName.get('lstm-peephole')!;
    const sizes = oddSizes(c);
    // The per-row bytes of one step of the largest per-step buffer: a limit of 6 rows x 1 step of it.
    const perRow = new CellLayout(emitWgsl(c).kernels, sizes, 1);
    const widest = Math.max(perRow.xs.stride, 2 * perRow.states.stride, perRow.fwork.stride, perRow.bwork.stride);
    let plan: { slices: number[]; chunks: number[] } | undefined;
    const onRunner = (r: WgslCellRunner) => {
      const bufs = r.deviceBuffers();
      plan = { slices: r.batchSlices().map((s) => s.rows), chunks: bufs.chunks.filter((x) => x.b0 === 0).map((x) => x.steps) };
      for (const x of bufs.chunks) for (const b of [x.xs, x.states, x.dstates, x.dxs]) expect(b.size).toBeLessThanOrEqual(4 * widest * 3 * 2);
    };
    const r = await check(c, { steps: 5, batch: 7, seed: 13, runner: { maxBindingBytes: 4 * widest * 3 * 2 }, onRunner });
    expect(failures(r)).toEqual([]);
    // 7 rows as 4 + 3 (two sets of pipelines); 4 rows of the widest buffer fit 6 / 4 steps: chunks of one step.
    expect(plan!.slices).toEqual([4, 3]);
    expect(plan!.chunks).toEqual([1, 1, 1, 1, 1]);
  });

  it('two-inputs: chunks of 1 step and a batch tile larger than the batch match', async () => {
    const r = await check(byName.get('two-inputs')!, { steps: 3, batch: 3, seed: 6, runner: { chunkSteps: 1, batchTile: 4 } });
    expect(failures(r)).toEqual([]);
  });

  it('gru: products over several 128 x 128 GEMM tiles in every direction (input 37, hidden 131, 150 rows) match', async () => {
    const r = await check(byName.get('gru')!, { steps: 3, batch: 50, seed: 9, sizes: { input: 37, hidden: 131 } });
    expect(failures(r)).toEqual([]);
  });

  it('lstm: loop tiles of 8 rows per invocation over two row tiles and two element tiles (batch 37, hidden 70) match', async () => {
    const r = await check(byName.get('lstm')!, { steps: 2, batch: 37, seed: 12, sizes: { input: 6, hidden: 70 }, runner: { batchTile: 8 } });
    expect(failures(r)).toEqual([]);
  });

  it('gru: a long sequence (T 64, batch 2) matches, whole and in chunks of 7 steps', async () => {
    expect(failures(await check(byName.get('gru')!, { steps: 64, batch: 2, seed: 5 }))).toEqual([]);
    const r = await check(byName.get('gru')!, { steps: 64, batch: 2, seed: 5, runner: { chunkSteps: 7 } });
    expect(failures(r)).toEqual([]);
  });

  it('lstm: a runner reused after a longer sequence matches', async () => {
    const r = await check(byName.get('lstm')!, { steps: 4, batch: 2, seed: 8, warm: true });
    expect(failures(r)).toEqual([]);
  });

  it('gru: the comparison catches a wrong parameter (the check can fail)', async () => {
    const r = await check(byName.get('gru')!, { steps: 5, batch: 3, seed: 11, perturb: 'U_h' });
    expect(r.h_t!.bad.length).toBeGreaterThan(0);
    expect(r.dW_z!.bad.length).toBeGreaterThan(0);
  });
});
