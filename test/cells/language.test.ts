// The language's scalar parameters and vector slices beyond the certificate: the runtime (initialisation,
// training, weights files) and finite values for large inputs in every CPU kernel.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { importTs, type KernelModule, scaledError } from '../../src/check/kernels.js';
import { compileCell } from '../../src/derive/compile.js';
import { randomProblem } from '../../src/check/gradcheck.js';
import { emitCpuModule } from '../../src/emit/wasm/index.js';
import { createModel, loadWeights, lossAndGradients, namedParams, saveWeights, sgd, gradList } from '../../src/runtime/index.js';
import type { Kernels } from '../../src/runtime/types.js';
import { inline } from '../helpers.js';
import { FUSED_LSTM_CELL, LANGUAGE_CELLS, SCALAR_CELL, SLICE_EDGE_CELL } from '../user-cells-lang.js';
import { certify } from '../certify.js';

const load = async (text: string): Promise<KernelModule> => {
  const name = /^name: (\S+)/m.exec(text)![1]!;
  return importTs(emitCpuModule(inline(text, `test/${name}.cell.yaml`), 'test').text);
};

describe('scalar parameters in the runtime', () => {
  it('start at 1 as a gain and 0 as an offset, train, and round-trip through a weights file with shape []', async () => {
    const m = await load(SCALAR_CELL);
    const model = createModel({ layers: [{ kernels: m.f64 as unknown as Kernels<Float64Array>, sizes: { input: 3, hidden: 4, mem: 2 } }], classes: 3, array: Float64Array, seed: 5 });
    const p = model.layers[0]!.forward.params;
    expect([...p.alpha!]).toEqual([1]); // multiplies: a gain
    expect([...p.gamma!]).toEqual([0]); // added: an offset
    const x = Float64Array.from({ length: 6 * 2 * 3 }, (_, i) => Math.sin(1.3 * i));
    const batch = { steps: 6, batch: 2, x, targets: Int32Array.from({ length: 12 }, (_, i) => i % 3) };
    const { loss, grads } = lossAndGradients(model, batch);
    const dAlpha = grads.layers[0]!.forward.alpha![0]!;
    // the gradient of the scalar is the derivative of the loss (central difference)
    const h = 1e-6;
    p.alpha![0] = 1 + h;
    const up = lossAndGradients(model, batch).loss;
    p.alpha![0] = 1 - h;
    const down = lossAndGradients(model, batch).loss;
    p.alpha![0] = 1;
    expect(Math.abs(dAlpha)).toBeGreaterThan(1e-4);
    expect(Math.abs((up - down) / (2 * h) - dAlpha)).toBeLessThan(1e-6 * Math.max(1, Math.abs(dAlpha)));
    // an optimiser step moves it against the gradient
    sgd({ lr: 0.1 }).step(namedParams(model).map(([, a]) => a), gradList(model, grads));
    expect(p.alpha![0]).toBeCloseTo(1 - 0.1 * dAlpha, 12);
    expect(lossAndGradients(model, batch).loss).toBeLessThan(loss);
    // weights files keep its shape []
    const bytes = saveWeights(model);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))['layers.0.forward.alpha'].shape).toEqual([]);
    const other = createModel({ layers: [{ kernels: m.f64 as unknown as Kernels<Float64Array>, sizes: { input: 3, hidden: 4, mem: 2 } }], classes: 3, array: Float64Array, seed: 9 });
    loadWeights(other, bytes);
    expect([...other.layers[0]!.forward.params.alpha!]).toEqual([...p.alpha!]);
  });
});

describe.each(Object.keys(LANGUAGE_CELLS))('%s with inputs up to |x| = 1e4', (name) => {
  it('gives finite states and gradients in the f64, f32 and wasm kernels', async () => {
    const text = LANGUAGE_CELLS[name]!;
    const c = inline(text, `test/${name}.cell.yaml`);
    const m = await load(text);
    const sizes = Object.fromEntries(c.spec.sizes.map((s, j) => [s.name, 3 + 2 * j]));
    const pr = randomProblem(c, { steps: 4, batch: 2, seed: 3, sizes });
    for (const [k, v] of Object.entries(pr.inputs)) pr.inputs[k] = v.map((u, i) => (i % 3 === 0 ? 1e4 : i % 3 === 1 ? -1e4 : u * 1e3));
    for (const [label, fns, A] of [['f64', m.f64, Float64Array], ['f32', m.f32, Float32Array], ['wasm', m.wasm!, Float32Array]] as const) {
      const conv = (r: Record<string, Float64Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, A.from(v)]));
      const fw = fns.forward(pr.sizes, conv(pr.params), conv(pr.inputs), { steps: pr.steps, batch: pr.batch, init: conv(pr.init) });
      const bw = fns.backward(fw.tape, conv(pr.weights));
      const all = [...Object.values(fw.states), ...Object.values(bw.params), ...Object.values(bw.inputs), ...Object.values(bw.init)];
      for (const a of all) expect(a.every(Number.isFinite), `${label}: a non-finite value`).toBe(true);
      expect(all.some((a) => a.some((v) => v !== 0)), `${label}: all zero`).toBe(true);
    }
  });
});

describe('an LSTM written in fused form with slices', () => {
  it('computes the shipped lstm, states and gradients, with the weights stacked in ONNX gate order (i, o, f, c)', async () => {
    const fused = await load(FUSED_LSTM_CELL);
    const shipped = await importTs(emitCpuModule(compileCell(readFileSync('cells/lstm.cell.yaml', 'utf8'), 'cells/lstm.cell.yaml'), 'test').text);
    const sizes = { input: 3, hidden: 5 };
    const H = sizes.hidden;
    const c = inline(FUSED_LSTM_CELL, 'test/lstm-fused.cell.yaml');
    const pr = randomProblem(c, { steps: 6, batch: 2, seed: 12, sizes });
    // rows k*H .. (k+1)*H of the stacked W, U, b are gate k's
    const gates = ['i', 'o', 'f', 'c'];
    const block = (a: Float64Array, k: number, cols: number) => a.slice(k * H * cols, (k + 1) * H * cols);
    const split: Record<string, Float64Array> = {};
    gates.forEach((g, k) => {
      split[`W_${g}`] = block(pr.params.W!, k, sizes.input);
      split[`U_${g}`] = block(pr.params.U!, k, H);
      split[`b_${g}`] = block(pr.params.b!, k, 1);
    });
    const opts = { steps: pr.steps, batch: pr.batch, init: pr.init };
    const fa = fused.f64.forward(sizes, pr.params, pr.inputs, opts);
    const fb = shipped.f64.forward(sizes, split, pr.inputs, opts);
    for (const s of ['c', 'h']) expect(scaledError(fa.states[s]!, fb.states[s]!), s).toBeLessThan(1e-14);
    const ga = fused.f64.backward(fa.tape, pr.weights);
    const gb = shipped.f64.backward(fb.tape, pr.weights);
    gates.forEach((g, k) => {
      expect(scaledError(block(ga.params.W! as Float64Array, k, sizes.input), gb.params[`W_${g}`]!), `dW_${g}`).toBeLessThan(1e-13);
      expect(scaledError(block(ga.params.U! as Float64Array, k, H), gb.params[`U_${g}`]!), `dU_${g}`).toBeLessThan(1e-13);
      expect(scaledError(block(ga.params.b! as Float64Array, k, 1), gb.params[`b_${g}`]!), `db_${g}`).toBeLessThan(1e-13);
    });
    expect(scaledError(ga.inputs.x!, gb.inputs.x!)).toBeLessThan(1e-13);
    for (const s of ['c', 'h']) expect(scaledError(ga.init[s]!, gb.init[s]!), `d${s}_0`).toBeLessThan(1e-13);
    // and the check can fail: the shipped lstm's own gate order (i, f, o, c in its parameter list) is not ONNX's
    const swapped = { ...split, W_o: split.W_f!, W_f: split.W_o! };
    expect(scaledError(fa.states.h!, shipped.f64.forward(sizes, swapped, pr.inputs, opts).states.h!)).toBeGreaterThan(1e-3);
  });
});

describe('slice-edge (CPU targets: a one-element slice broadcasts, which WGSL does not compute yet)', () => {
  it('agrees with finite differences, the dot-product test and the reference in f64, f32 and wasm', async () => {
    const r = await certify(inline(SLICE_EDGE_CELL, 'test/slice-edge.cell.yaml'));
    expect(r.referenceFd).toBeLessThan(1e-6);
    expect(r.f64).toBeLessThan(1e-10);
    expect(r.f32).toBeLessThan(1e-4);
    expect(r.wasm).toBeLessThan(1e-4);
    expect(r.kernelFd).toBeLessThan(1e-6);
    expect(r.kernelDot).toBeLessThan(1e-10);
  });
});
