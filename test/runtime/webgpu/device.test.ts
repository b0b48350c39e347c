// The device-resident runner API: GPUBuffers in, results kept on the device, only what is asked read back, in chunks.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCell } from '../../../src/derive/compile.js';
import { randomProblem } from '../../../src/check/gradcheck.js';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { WgslCellRunner } from '../../../src/runtime/webgpu/index.js';
import { dawnDevice, failWithoutDeviceUnderCi, oddSizes } from '../../emit/wgsl/fixture.js';

const nd = await dawnDevice();
const device = nd.device;
failWithoutDeviceUnderCi(nd);

const lstm = compileCell(readFileSync('cells/lstm.cell.yaml', 'utf8'), 'cells/lstm.cell.yaml');
const kernels = emitWgsl(lstm).kernels;

function upload(values: ArrayLike<number>): GPUBuffer {
  const b = device!.createBuffer({ size: Math.max(16, values.length * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  device!.queue.writeBuffer(b, 0, Float32Array.from(values));
  return b;
}

/** max |a - b| / (1e-6 + |b|) over all entries. */
const close = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(b[i]!));
};

describe.skipIf(!device)('WgslCellRunner on the device', () => {
  const sizes = oddSizes(lstm);
  const T = 5;
  const B = 3;
  const p = randomProblem(lstm, { steps: T, batch: B, seed: 21, sizes });

  it('lstm: GPUBuffer parameters, inputs, initial states and seeds in chunks of 2 steps and slices of the batch give what the array forms give', async () => {
    const ref = await WgslCellRunner.create(device!, kernels, { sizes, batch: B });
    const fw = await ref.forward({ params: p.params, inputs: p.inputs, init: p.init, steps: T });
    const bw = await ref.backward(p.weights);

    const r = await WgslCellRunner.create(device!, kernels, { sizes, batch: B, chunkSteps: 2, batchSlice: 2 });
    expect(r.batchSlices()).toEqual([0, 1, 2].map((b0) => ({ b0, rows: 1 })));
    const packed = new Float32Array(r.layout.params.total);
    for (const q of kernels.params) r.layout.params.pack(packed, q.name, p.params[q.name]!);
    r.writeParams(upload(packed));
    r.writeInputs({ x: upload(p.inputs.x!) }, T);
    r.writeInit({ h: upload(p.init.h!), c: p.init.c! });
    await r.runForward();
    expect(r.deviceBuffers().chunks.map((c) => [c.b0, c.t0, c.steps])).toEqual([0, 1, 2].flatMap((b) => [[b, 0, 2], [b, 2, 2], [b, 4, 1]]));
    // Only s_T of h comes back.
    const last = await r.readStates({ names: ['h'], last: true });
    expect(Object.keys(last)).toEqual(['h']);
    close(last.h!, fw.states.h!.subarray((T - 1) * B * sizes.hidden!));
    close((await r.readStates()).c!, fw.states.c!);

    await r.runBackward({ h: upload(p.weights.h!), c: upload(p.weights.c!) });
    const g = await r.readGrads(['U_i', 'b_f']);
    expect(Object.keys(g).sort()).toEqual(['U_i', 'b_f']);
    close(g.U_i!, bw.grads.U_i!);
    close(g.b_f!, bw.grads.b_f!);
    close((await r.readDInputs()).x!, bw.dInputs.x!);
    const d0 = await r.readDInit();
    close(d0.h!, bw.dInit.h!);
    close(d0.c!, bw.dInit.c!);
    ref.destroy();
    r.destroy();
  });

  it('keeps gradients on the device: a second backward overwrites them rather than adding', async () => {
    const r = await WgslCellRunner.create(device!, kernels, { sizes, batch: B });
    await r.forward({ params: p.params, inputs: p.inputs, init: p.init, steps: T });
    const first = await r.readGrads();
    await r.runBackward(p.weights);
    const once = (await r.readGrads()).W_o!;
    await r.runBackward(p.weights);
    close((await r.readGrads()).W_o!, once);
    expect(once.some((v) => v !== 0)).toBe(true);
    expect(first.W_o!.every((v) => v === 0)).toBe(true);
    r.destroy();
  });

  it('refuses a GPUBuffer too small for the tensor it stands for', async () => {
    const r = await WgslCellRunner.create(device!, kernels, { sizes, batch: B });
    expect(() => r.writeInputs({ x: upload([1, 2, 3]) }, T)).toThrow(/'x'.*expected at least/);
    r.destroy();
  });
});
