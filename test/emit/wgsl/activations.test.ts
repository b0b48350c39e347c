// User activations in WGSL on Dawn: finite forward and backward over -1e4..1e4, matching the float64 reference.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCell } from '../../../src/derive/compile.js';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { backwardSequence, forwardSequence } from '../../../src/check/reference.js';
import type { RunnerOptions, WgslCellRunner } from '../../../src/runtime/webgpu/index.js';
import { ACTIVATIONS, activationCell, SWEEP } from '../../user-cells.js';
import { compare, dawnDevice, failWithoutDeviceUnderCi } from './fixture.js';

const nd = await dawnDevice();
mkdirSync('.tmp', { recursive: true });
const dir = mkdtempSync(join('.tmp', 'wgsl-act-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
failWithoutDeviceUnderCi(nd);

interface GeneratedModule {
  createRunner(device: GPUDevice, sizes: Record<string, number>, batch: number, opts?: Partial<RunnerOptions>): Promise<WgslCellRunner>;
}

describe.skipIf(!nd.device)('WGSL user activations over -1e4..1e4', () => {
  for (const [name, body] of Object.entries(ACTIVATIONS)) {
    it(`${name}: f and f' are finite and match the reference`, async () => {
      const file = `act-${name.replace(/_/g, '-')}`;
      const c = compileCell(activationCell(name, body), `test/${file}.cell.yaml`);
      writeFileSync(join(dir, `${file}.ts`), emitWgsl(c).module);
      const mod = (await import(pathToFileURL(join(process.cwd(), dir, `${file}.ts`)).href)) as GeneratedModule;
      const n = SWEEP.length;
      const x = Float64Array.from(SWEEP);
      const g = new Float64Array(n).fill(1);
      const dh = new Float64Array(n).fill(1);
      const seq = { batch: 1, steps: 1, inputs: { x } };
      const fw = forwardSequence(c.cell, { n }, { g }, seq);
      const ref = backwardSequence(c.cell, c.bw, { n }, { g }, seq, fw, { h: dh });
      const runner = await mod.createRunner(nd.device!, { n }, 1);
      const out = await runner.forward({ params: { g }, inputs: { x }, init: { h: new Float64Array(n) }, steps: 1 });
      const bw = await runner.backward({ h: dh });
      runner.destroy();
      const bad = (a: ArrayLike<number>) => SWEEP.filter((_, i) => !Number.isFinite(a[i]!));
      expect(bad(out.states.h!), 'x where f is not finite').toEqual([]);
      expect(bad(bw.dInputs.x!), "x where f' is not finite").toEqual([]);
      expect(bad(bw.grads.g!), "x where x f' is not finite").toEqual([]);
      expect(compare(out.states.h!, fw.states.h!, 1e-4, 1e-5).bad).toEqual([]);
      expect(compare(bw.dInputs.x!, ref.dInputs.x!, 1e-4, 1e-5).bad).toEqual([]);
    });
  }
});
