// The committed generated TypeScript kernels agree with the float64 reference, in both precisions.

import { describe, expect, it } from 'vitest';
import { checkKernels, type KernelModule, scaledError } from '../../src/check/kernels.js';
import { loss, randomProblem } from '../../src/check/gradcheck.js';
import { forwardSequence } from '../../src/check/reference.js';
import { CELL_NAMES, shipped } from '../helpers.js';

const load = async (name: string) => (await import(`../../generated/ts/${name}.ts`)) as unknown as KernelModule;

describe.each(CELL_NAMES)('%s', (name) => {
  const c = shipped(name);

  it('matches the reference forward and BPTT: f64 within 1e-10, f32 within 1e-4 of each tensor scale', async () => {
    const m = await load(name);
    const r = checkKernels(c, m, { steps: 6, batch: 3, seed: 11, sizes: Object.fromEntries(c.spec.sizes.map((s, i) => [s.name, [7, 9, 5][i] ?? 3])) });
    expect(r.f64).toBeLessThan(1e-10);
    expect(r.f32).toBeLessThan(1e-4);
  });

  it('passes a finite-difference check through the float64 kernels', async () => {
    const m = await load(name);
    const sizes = Object.fromEntries(c.spec.sizes.map((s, i) => [s.name, [3, 4, 3][i] ?? 3]));
    const p = randomProblem(c, { steps: 5, batch: 2, seed: 21, sizes });
    p.readout = undefined;
    const kloss = (): number => {
      const fw = m.f64.forward(p.sizes, p.params, p.inputs, { steps: p.steps, batch: p.batch, init: p.init });
      let L = 0;
      for (const s of Object.keys(p.weights)) fw.states[s]!.forEach((v, i) => (L += v * p.weights[s]![i]!));
      return L;
    };
    expect(Math.abs(kloss() - loss(c, p))).toBeLessThan(1e-10);
    const fw = m.f64.forward(p.sizes, p.params, p.inputs, { steps: p.steps, batch: p.batch, init: p.init });
    const g = m.f64.backward(fw.tape, p.weights);
    const h = 1e-4;
    for (const [pname, x] of Object.entries(p.params)) {
      for (let i = 0; i < x.length; i += Math.max(1, Math.floor(x.length / 7))) {
        const v = x[i]!;
        const at = (d: number) => ((x[i] = v + d), kloss());
        const fd = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h);
        x[i] = v;
        const an = g.params[pname]![i]!;
        expect(Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), 1e-6), `${pname}[${i}]`).toBeLessThan(1e-6);
      }
    }
  });

  it('treats padded steps as no-ops: each row behaves as if run alone for its own length', async () => {
    const m = await load(name);
    const sizes = Object.fromEntries(c.spec.sizes.map((s, i) => [s.name, [4, 5, 3][i] ?? 3]));
    const T = 6, B = 3;
    const p = randomProblem(c, { steps: T, batch: B, seed: 8, sizes });
    const lengths = new Int32Array([6, 3, 1]);
    const fw = m.f64.forward(p.sizes, p.params, p.inputs, { steps: T, batch: B, init: p.init, lengths });
    // dL/ds at padded steps is ignored; zero it in the comparison runs as well.
    const d = Object.fromEntries(Object.entries(p.weights).map(([k, v]) => [k, v.slice()]));
    const bw = m.f64.backward(fw.tape, d);
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      const rowSeq = (arr: Float64Array, n: number, steps: number) => {
        const out = new Float64Array(steps * n);
        for (let t = 0; t < steps; t++) out.set(arr.subarray((t * B + b) * n, (t * B + b + 1) * n), t * n);
        return out;
      };
      const inputs = Object.fromEntries(c.cell.inputs.map((x) => [x.name, rowSeq(p.inputs[x.name]!, sizes.input!, L)]));
      const init = Object.fromEntries(c.cell.prev.map((s) => [s.name, p.init[s.name]!.slice(b * sizes.hidden!, (b + 1) * sizes.hidden!)]));
      const one = m.f64.forward(p.sizes, p.params, inputs, { steps: L, batch: 1, init });
      const dOne = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, rowSeq(v, sizes.hidden!, L)]));
      const gOne = m.f64.backward(one.tape, dOne);
      for (const s of c.cell.prev) {
        const last = fw.states[s.name]!.subarray(((T - 1) * B + b) * sizes.hidden!, ((T - 1) * B + b + 1) * sizes.hidden!);
        expect(scaledError(last, one.states[s.name]!.subarray((L - 1) * sizes.hidden!))).toBeLessThan(1e-12);
        expect(scaledError(bw.init[s.name]!.subarray(b * sizes.hidden!, (b + 1) * sizes.hidden!), gOne.init[s.name]!)).toBeLessThan(1e-10);
      }
    }
  });
});

describe('forward against the reference at example sizes', () => {
  it('runs the single-row, single-step case', async () => {
    const c = shipped('lstm');
    const m = await load('lstm');
    const p = randomProblem(c, { steps: 1, batch: 1, seed: 2, sizes: { input: 1, hidden: 1 } });
    const ref = forwardSequence(c.cell, p.sizes, p.params, { batch: 1, steps: 1, inputs: p.inputs, init: p.init });
    const fw = m.f64.forward(p.sizes, p.params, p.inputs, { steps: 1, batch: 1, init: p.init });
    expect(scaledError(fw.states.h!, ref.states.h!)).toBeLessThan(1e-14);
  });

  it('rejects arrays of the wrong length with a clear error', async () => {
    const m = await load('gru');
    expect(() => m.f32.forward({ input: 2, hidden: 3 }, {} as never, { x: new Float32Array(1) }, { steps: 1, batch: 1 })).toThrow(/gru: /);
  });
});
