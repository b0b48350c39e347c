// Cells users write that no shipped cell covers, certified through the reference and the TS kernels.

import { describe, expect, it } from 'vitest';
import { checkKernels, importTs } from '../../src/check/kernels.js';
import { emitCpuModule } from '../../src/emit/wasm/index.js';
import { certify } from '../certify.js';
import { inline } from '../helpers.js';
import { USER_CELLS } from '../user-cells.js';

describe.each(Object.keys(USER_CELLS))('%s', (name) => {
  it('agrees with finite differences, the dot-product test and the reference in f64 and f32', async () => {
    const c = inline(USER_CELLS[name]!, `test/${name}.cell.yaml`);
    const r = await certify(c);
    expect(r.referenceFd, 'reference finite differences').toBeLessThan(1e-6);
    expect(r.f64, 'f64 kernels vs reference').toBeLessThan(1e-10);
    expect(r.f32, 'f32 kernels vs reference').toBeLessThan(1e-4);
    expect(r.wasm, 'wasm kernels vs reference').toBeLessThan(1e-4);
    expect(r.kernelFd, 'finite differences of the f64 kernels').toBeLessThan(1e-6);
    expect(r.dotScale).toBeGreaterThan(1e-3);
    expect(r.kernelDot, 'dot-product test through the f64 kernels').toBeLessThan(1e-10);
  });

  it('the WASM kernels agree with the reference', async () => {
    const c = inline(USER_CELLS[name]!, `test/${name}.cell.yaml`);
    const m = await importTs(emitCpuModule(c, 'test').text);
    const r = checkKernels(c, m, { steps: 5, batch: 3, seed: 4, sizes: Object.fromEntries(c.spec.sizes.map((s, j) => [s.name, 3 + 2 * j])) });
    expect(r.wasm, r.worst).toBeLessThan(1e-4);
  });
});
