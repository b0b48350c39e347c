// Every emitted shader of every cell compiles on Dawn without errors or warnings, and all its pipelines create.

import { describe, expect, it } from 'vitest';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { WgslCellRunner } from '../../../src/runtime/webgpu/index.js';
import { allCells, dawnDevice, failWithoutDeviceUnderCi, oddSizes } from './fixture.js';

const nd = await dawnDevice();
const device = nd.device;

describe('WGSL on Dawn: a device', () => {
  failWithoutDeviceUnderCi(nd);
  it.skipIf(!device)('is a real adapter', () => {
    expect(nd.adapter).toBeTruthy();
  });
});

describe.skipIf(!device)('WGSL on Dawn: compilation', () => {
  for (const { file, cell } of allCells()) {
    const out = emitWgsl(cell);
    for (const [name, code] of Object.entries(out.shaders)) {
      it(`${file}: the ${name} shader compiles with no errors or warnings`, async () => {
        const module = device!.createShaderModule({ code });
        const info = await module.getCompilationInfo();
        const messages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
        expect(messages).toEqual([]);
      });
    }
    it(`${file}: a pipeline creates for every entry point`, async () => {
      const runner = await WgslCellRunner.create(device!, out.kernels, { sizes: oddSizes(cell), batch: 3 });
      const entries = [...out.kernels.forward.dispatches, ...out.kernels.backward.dispatches, ...out.kernels.backward.reductions].map((d) => d.entry);
      expect(entries.length).toBeGreaterThan(2);
      for (const e of entries) expect(out.shaders.forward.includes(`fn ${e}(`) || out.shaders.backward.includes(`fn ${e}(`)).toBe(true);
      runner.destroy();
    });
  }
});
