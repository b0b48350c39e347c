// Small shapes are bound by latency: one forward + backward must cost a few submits, dispatches of the schedule only,
// one read-back per call, and no buffer, bind-group or pipeline creation once the runner is warm.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCell } from '../../../src/derive/compile.js';
import { randomProblem } from '../../../src/check/gradcheck.js';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { WgslCellRunner } from '../../../src/runtime/webgpu/index.js';
import { dawnDevice, failWithoutDeviceUnderCi } from '../../emit/wgsl/fixture.js';
import { countingDevice } from './counting.js';

const nd = await dawnDevice();
failWithoutDeviceUnderCi(nd);

const gru = compileCell(readFileSync('cells/gru.cell.yaml', 'utf8'), 'cells/gru.cell.yaml');
const kernels = emitWgsl(gru).kernels;

describe.skipIf(!nd.device)('device calls per forward + backward (gru, T 6, batch 2)', () => {
  const sizes = { input: 5, hidden: 7 };
  const T = 6;
  const B = 2;
  const p = randomProblem(gru, { steps: T, batch: B, seed: 5, sizes });
  const loop = (which: 'forward' | 'backward') => kernels[which].dispatches.filter((d) => d.scope === 'loop').length;
  const once = (which: 'forward' | 'backward') => kernels[which].dispatches.filter((d) => d.scope !== 'loop').length;
  // The schedule's dispatches: outside the loop once, inside it once per step, plus one per gradient reduction.
  const dispatches = once('forward') + T * loop('forward') + once('backward') + T * loop('backward') + kernels.backward.reductions.length;

  it('array forms: one submit and one read-back each way, nothing created after the first call', async () => {
    const c = countingDevice(nd.device!);
    const r = await WgslCellRunner.create(c.device, kernels, { sizes, batch: B });
    const built = c.reset();
    expect(built.shaderModules).toBe(2);
    await r.forward({ params: p.params, inputs: p.inputs, init: p.init, steps: T });
    await r.backward(p.weights);
    const first = c.reset();
    expect(first.dispatches).toBe(dispatches);
    const fw = await r.forward({ params: p.params, inputs: p.inputs, init: p.init, steps: T });
    const bw = await r.backward(p.weights);
    const n = c.reset();
    // One host write each of parameters, inputs, initial states and seeds; nothing else goes up or is created.
    expect(n).toMatchObject({ dispatches, submits: 2, mapAsync: 2, writeBuffer: 4, buffers: 0, bindGroups: 0, pipelines: 0, shaderModules: 0 });
    expect(fw.states.h!.length).toBe(T * B * sizes.hidden);
    expect(bw.dInputs.x!.length).toBe(T * B * sizes.input);
    r.destroy();
  });

  it('GPUBuffer forms: a forward and a backward that read back only the gradients submit three times and map once', async () => {
    const c = countingDevice(nd.device!);
    const r = await WgslCellRunner.create(c.device, kernels, { sizes, batch: B });
    const upload = (v: ArrayLike<number>) => {
      const b = nd.device!.createBuffer({ size: v.length * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      nd.device!.queue.writeBuffer(b, 0, Float32Array.from(v));
      return b;
    };
    const x = upload(p.inputs.x!);
    const seed = upload(p.weights.h!);
    const step = async () => {
      r.writeParams(p.params);
      r.writeInputs({ x }, T);
      r.writeInit(p.init);
      await r.runForward();
      await r.runBackward({ h: seed });
      return r.readGrads();
    };
    await step();
    c.reset();
    const g = await step();
    const n = c.reset();
    // The input copy goes with the forward's submission; the seeds' copies with the backward's.
    expect(n).toMatchObject({ dispatches, submits: 3, mapAsync: 1, writeBuffer: 2, buffers: 0, bindGroups: 0, pipelines: 0 });
    expect(g.U_z!.some((v) => v !== 0)).toBe(true);
    r.destroy();
  });
});
