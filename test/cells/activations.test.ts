// User activations stay finite, forward and backward, over -1e4..1e4 in the f32 and f64 TS kernels and the wasm kernels.

import { describe, expect, it } from 'vitest';
import { backwardSequence, forwardSequence } from '../../src/check/reference.js';
import { scaledError } from '../../src/check/kernels.js';
import { tsModule } from '../certify.js';
import { inline } from '../helpers.js';
import { ACTIVATIONS, activationCell, SWEEP } from '../user-cells.js';

describe.each(Object.keys(ACTIVATIONS))('%s', (name) => {
  const c = inline(activationCell(name, ACTIVATIONS[name]!), `test/act-${name.replace(/_/g, '-')}.cell.yaml`);
  const n = SWEEP.length;
  const x = Float64Array.from(SWEEP);
  const g = new Float64Array(n).fill(1);
  const dh = new Float64Array(n).fill(1);
  const seq = { batch: 1, steps: 1, inputs: { x } };
  const fw = forwardSequence(c.cell, { n }, { g }, seq);
  const ref = backwardSequence(c.cell, c.bw, { n }, { g }, seq, fw, { h: dh });

  it('the float64 reference is finite, forward and backward, on the whole sweep', () => {
    expect([...fw.states.h!].filter((v) => !Number.isFinite(v))).toEqual([]);
    expect([...ref.dInputs.x!].filter((v) => !Number.isFinite(v))).toEqual([]);
  });

  it.each(['f64', 'f32', 'wasm'] as const)('%s kernels: finite values and derivatives that match the reference', async (prec) => {
    const m = await tsModule(c);
    const F = prec === 'f64' ? Float64Array : Float32Array;
    const k = m[prec]!;
    const out = k.forward({ n }, { g: F.from(g) }, { x: F.from(x) }, { steps: 1, batch: 1 });
    const bw = k.backward(out.tape, { h: F.from(dh) });
    const bad = (a: ArrayLike<number>) => SWEEP.filter((_, i) => !Number.isFinite(a[i]!));
    expect(bad(out.states.h!), 'x where f is not finite').toEqual([]);
    expect(bad(bw.inputs.x!), "x where f' is not finite").toEqual([]);
    expect(bad(bw.params.g!), "x where x f' is not finite").toEqual([]);
    const tol = prec === 'f64' ? 1e-12 : 1e-6;
    expect(scaledError(out.states.h!, fw.states.h!)).toBeLessThan(tol);
    expect(scaledError(bw.inputs.x!, ref.dInputs.x!)).toBeLessThan(tol);
  });
});
