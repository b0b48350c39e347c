// The WebAssembly SIMD kernels (`wasm` in every generated module) pass the checks the f32 kernels pass.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkKernels, importTs, type KernelModule, scaledError } from '../../src/check/kernels.js';
import { randomProblem } from '../../src/check/gradcheck.js';
import { compileCell } from '../../src/derive/compile.js';
import { emitCpuModule } from '../../src/emit/wasm/index.js';
import { type Batch, direction, gradArrays, type Layer, lossAndGradients, type Model } from '../../src/runtime/index.js';
import { CELL_NAMES, shipped } from '../helpers.js';

type Wasm = KernelModule['f32'] & { backend: () => string; ready: () => Promise<boolean>; tapeBudget: (bytes: number) => void };
type Mod = KernelModule & { wasm: Wasm; paramShapes: (s: object) => Record<string, number[]> };
const load = async (name: string) => (await import(`../../generated/ts/${name}.ts`)) as unknown as Mod;
const f32 = (r: Record<string, Float64Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float32Array.from(v)]));
const sizesOf = (c: ReturnType<typeof shipped>, dims: number[]) => Object.fromEntries(c.spec.sizes.map((s, i) => [s.name, dims[i] ?? 3]));

describe.each(CELL_NAMES)('%s', (name) => {
  const c = shipped(name);

  it('matches the reference forward and BPTT through wasm within 1e-4 of each tensor scale', async () => {
    const m = await load(name);
    // sizes that are not multiples of 4 exercise the single-column tails of every pass
    for (const dims of [[7, 9, 5], [8, 12, 4], [1, 1, 1]]) {
      const r = checkKernels(c, m, { steps: 6, batch: 3, seed: 11, sizes: sizesOf(c, dims) });
      // Where float32 itself is ill-conditioned (a layer norm over one unit per gate at size 1 divides a
      // rounding-level difference by sqrt(eps)), the wasm kernels are held to the TS float32 kernels' accuracy.
      expect(r.wasm, `${dims}: ${r.worst} (TS float32: ${r.f32})`).toBeLessThan(Math.max(1e-4, 4 * r.f32));
    }
    expect(m.wasm.backend()).toBe('simd');
  });

  it('treats padded steps as the f32 kernels do', async () => {
    const m = await load(name);
    const p = randomProblem(c, { steps: 6, batch: 3, seed: 8, sizes: sizesOf(c, [5, 6, 3]) });
    const opts = { steps: 6, batch: 3, init: f32(p.init), lengths: new Int32Array([6, 3, 0]) };
    const [a, b] = [m.f32, m.wasm].map((k) => {
      const fw = k.forward(p.sizes, f32(p.params), f32(p.inputs), opts);
      return { fw, bw: k.backward(fw.tape, f32(p.weights)) };
    });
    for (const s of Object.keys(a!.fw.states)) expect(scaledError(b!.fw.states[s]!, a!.fw.states[s]!)).toBeLessThan(1e-5);
    for (const part of ['params', 'inputs', 'init'] as const) {
      for (const k of Object.keys(a!.bw[part])) expect(scaledError(b!.bw[part][k]!, a!.bw[part][k]!), `${part}.${k}`).toBeLessThan(1e-4);
    }
  });

  it('gives no NaN or Infinity for inputs up to |x| = 1e4 where the f64 kernels are finite', async () => {
    const m = await load(name);
    const p = randomProblem(c, { steps: 4, batch: 2, seed: 5, sizes: sizesOf(c, [6, 5, 3]) });
    for (const x of Object.values(p.inputs)) x.forEach((v, i) => (x[i] = v * 1e4));
    const o = { steps: 4, batch: 2, init: p.init };
    const ref = m.f64.forward(p.sizes, p.params, p.inputs, o);
    const refB = m.f64.backward(ref.tape, p.weights);
    const fw = m.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), { ...o, init: f32(p.init) });
    const bw = m.wasm.backward(fw.tape, f32(p.weights));
    const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
      ...Object.keys(ref.states).map((k) => [`state ${k}`, fw.states[k]!, ref.states[k]!] as [string, ArrayLike<number>, ArrayLike<number>]),
      ...(['params', 'inputs', 'init'] as const).flatMap((part) => Object.keys(refB[part]).map((k) => [`${part}.${k}`, bw[part][k]!, refB[part][k]!] as [string, ArrayLike<number>, ArrayLike<number>])),
    ];
    let checked = 0;
    for (const [what, got, want] of pairs) {
      for (let i = 0; i < want.length; i++) {
        if (!Number.isFinite(want[i]!) || Math.abs(want[i]!) > 3e38) continue;
        checked++;
        if (!Number.isFinite(got[i]!)) expect.fail(`${what}[${i}] is ${got[i]} where f64 gives ${want[i]}`);
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('test-only user cells', () => {
  const dir = 'test/fixtures/good';
  it.each(readdirSync(dir).filter((f) => f.endsWith('.cell.yaml')))('%s matches the reference through wasm', async (file) => {
    const c = compileCell(readFileSync(`${dir}/${file}`, 'utf8'), `${dir}/${file}`);
    const m = await importTs(emitCpuModule(c, 'test').text);
    const r = checkKernels(c, m, { steps: 5, batch: 3, seed: 4, sizes: sizesOf(c, [7, 6, 5]) });
    expect(r.wasm, r.worst).toBeLessThan(1e-4);
    expect(r.f32).toBeLessThan(1e-4);
  });
});

describe('arguments, results and memory', () => {
  it('rejects wrong lengths with the same errors as f32', async () => {
    const m = await load('gru');
    const sizes = { input: 2, hidden: 3 };
    const params = Object.fromEntries(Object.entries(m.paramShapes(sizes)).map(([k, s]) => [k, new Float32Array(s.reduce((a, b) => a * b, 1))]));
    const x = new Float32Array(4 * 2 * 2);
    const cases: [string, () => [object, object, object, object]][] = [
      ['missing parameter', () => [sizes, { ...params, U_r: undefined }, { x }, { steps: 4, batch: 2 }]],
      ['short parameter', () => [sizes, { ...params, W_z: new Float32Array(5) }, { x }, { steps: 4, batch: 2 }]],
      ['short input', () => [sizes, params, { x: new Float32Array(3) }, { steps: 4, batch: 2 }]],
      ['wrong init', () => [sizes, params, { x }, { steps: 4, batch: 2, init: { h: new Float32Array(5) } }]],
      ['wrong lengths', () => [sizes, params, { x }, { steps: 4, batch: 2, lengths: new Int32Array(3) }]],
      ['length out of range', () => [sizes, params, { x }, { steps: 4, batch: 2, lengths: new Int32Array([1, 9]) }]],
    ];
    const message = (f: () => unknown) => { try { f(); } catch (e) { return (e as Error).message; } return 'no error'; };
    for (const [what, args] of cases) {
      const want = message(() => m.f32.forward(...(args() as Parameters<typeof m.f32.forward>)));
      expect(want, what).toMatch(/^gru: /);
      expect(message(() => m.wasm.forward(...(args() as Parameters<typeof m.f32.forward>))), what).toBe(want);
    }
    const fw = m.wasm.forward(sizes, params, { x }, { steps: 4, batch: 2 });
    expect(message(() => m.wasm.backward(fw.tape, { h: new Float32Array(7) }))).toBe(message(() => m.f32.backward(m.f32.forward(sizes, params, { x }, { steps: 4, batch: 2 }).tape, { h: new Float32Array(7) })));
  });

  it('returns copies: later calls and writes to results change nothing already returned', async () => {
    const m = await load('lstm');
    const c = shipped('lstm');
    const p = randomProblem(c, { steps: 5, batch: 2, seed: 3, sizes: { input: 6, hidden: 5 } });
    const fw = m.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 5, batch: 2 });
    const h = fw.states.h!.slice();
    const g1 = m.wasm.backward(fw.tape, f32(p.weights));
    fw.states.h!.fill(7);
    const x2 = f32(p.inputs);
    x2.x!.fill(0.5);
    m.wasm.forward(p.sizes, f32(p.params), x2, { steps: 5, batch: 2 });
    const g2 = m.wasm.backward(fw.tape, f32(p.weights));
    expect(scaledError(g2.params.W_i!, g1.params.W_i!)).toBe(0);
    expect(h).not.toEqual(fw.states.h);
  });

  it('keeps tapes valid when they are evicted from wasm memory', async () => {
    const m = await load('gru');
    const c = shipped('gru');
    const p = randomProblem(c, { steps: 6, batch: 2, seed: 9, sizes: { input: 5, hidden: 7 } });
    const want = m.f32.backward(m.f32.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 6, batch: 2 }).tape, f32(p.weights));
    m.wasm.tapeBudget(1);
    try {
      const first = m.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 6, batch: 2 });
      for (let i = 0; i < 3; i++) m.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 6, batch: 2 });
      const got = m.wasm.backward(first.tape, f32(p.weights));
      expect(scaledError(got.params.U_h!, want.params.U_h!)).toBeLessThan(1e-5);
    } finally {
      m.wasm.tapeBudget(32 * 2 ** 20);
    }
  });

  it('sees parameters updated in place between calls, and old tapes keep the parameters they ran with', async () => {
    const m = await load('lstm');
    const c = shipped('lstm');
    const p = randomProblem(c, { steps: 5, batch: 3, seed: 21, sizes: { input: 6, hidden: 7 } });
    const params = f32(p.params), inputs = f32(p.inputs), o = { steps: 5, batch: 3 };
    const before = m.wasm.forward(p.sizes, params, inputs, o);
    const wantBefore = m.f32.backward(m.f32.forward(p.sizes, f32(p.params), inputs, o).tape, f32(p.weights));
    // an optimizer step in place: same arrays, new values (one element of one matrix is enough)
    for (const [k, v] of Object.entries(params)) { v[3] = v[3]! + 0.25; if (k === 'U_o') v.fill(0.1); }
    const after = m.wasm.forward(p.sizes, params, inputs, o);
    const f = m.f32.forward(p.sizes, params, inputs, o);
    expect(scaledError(after.states.h!, f.states.h!)).toBeLessThan(1e-5);
    expect(scaledError(after.states.h!, before.states.h!)).toBeGreaterThan(1e-3);
    const gAfter = m.wasm.backward(after.tape, f32(p.weights));
    expect(scaledError(gAfter.params.U_i!, m.f32.backward(f.tape, f32(p.weights)).params.U_i!)).toBeLessThan(1e-4);
    // the first tape still differentiates the first parameters
    const gBefore = m.wasm.backward(before.tape, f32(p.weights));
    expect(scaledError(gBefore.params.U_i!, wantBefore.params.U_i!)).toBeLessThan(1e-4);
    expect(scaledError(gBefore.init.c!, wantBefore.init.c!)).toBeLessThan(1e-4);
  });

  it('runs an evicted padded tape again to the same gradients', async () => {
    const m = await load('gru');
    const c = shipped('gru');
    const p = randomProblem(c, { steps: 6, batch: 3, seed: 4, sizes: { input: 5, hidden: 6 } });
    const o = { steps: 6, batch: 3, init: f32(p.init), lengths: new Int32Array([6, 2, 4]) };
    const fw = m.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), o);
    const g1 = m.wasm.backward(fw.tape, f32(p.weights));
    m.wasm.tapeBudget(1);
    try {
      // backward used the tape, so the next forwards reuse its memory; other inputs, other lengths
      const x2 = f32(p.inputs);
      x2.x!.fill(-0.3);
      for (let i = 0; i < 2; i++) m.wasm.forward(p.sizes, f32(p.params), x2, { steps: 6, batch: 3, lengths: new Int32Array([1, 6, 3]) });
      const g2 = m.wasm.backward(fw.tape, f32(p.weights));
      for (const part of ['params', 'inputs', 'init'] as const) {
        for (const k of Object.keys(g1[part])) expect(g2[part][k], `${part}.${k}`).toEqual(g1[part][k]);
      }
    } finally {
      m.wasm.tapeBudget(32 * 2 ** 20);
    }
  });

  it('falls back to the f32 kernels where WebAssembly SIMD is missing', async () => {
    const c = shipped('rnn-tanh');
    const text = emitCpuModule(c, 'test').text;
    const W = (globalThis as unknown as { WebAssembly: { validate: (b: unknown) => boolean } }).WebAssembly;
    const validate = W.validate;
    W.validate = () => false;
    try {
      const m = (await importTs(text)) as unknown as Mod;
      const p = randomProblem(c, { steps: 3, batch: 2, seed: 1, sizes: { input: 4, hidden: 5, classes: 2 } });
      const a = m.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 3, batch: 2 });
      const b = m.f32.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 3, batch: 2 });
      expect(m.wasm.backend()).toBe('f32');
      expect(a.states.h).toEqual(b.states.h);
      expect(await m.wasm.ready()).toBe(false);
      expect(m.wasm.backward(a.tape, { h: f32(p.weights).h! }).params.W).toEqual(m.f32.backward(b.tape, { h: f32(p.weights).h! }).params.W);
    } finally {
      W.validate = validate;
    }
  });

  it("decodes its WebAssembly without Node's Buffer too (as in a browser), to the same kernels", async () => {
    const c = shipped('rnn-tanh');
    const text = emitCpuModule(c, 'test').text;
    // Modules of their own (importTs's modules are cached by their code; an earlier test left one with SIMD off).
    const [plain, node] = [(await importTs(`${text}\nexport const variant = 'browser';`)) as unknown as Mod, (await importTs(`${text}\nexport const variant = 'node';`)) as unknown as Mod];
    const p = randomProblem(c, { steps: 3, batch: 2, seed: 1, sizes: { input: 4, hidden: 5, classes: 2 } });
    const g = globalThis as { Buffer?: unknown };
    const buffer = g.Buffer;
    g.Buffer = undefined;
    let a;
    try {
      a = plain.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 3, batch: 2 });
    } finally {
      g.Buffer = buffer;
    }
    expect(plain.wasm.backend()).toBe('simd');
    expect(a.states.h).toEqual(node.wasm.forward(p.sizes, f32(p.params), f32(p.inputs), { steps: 3, batch: 2 }).states.h);
  });

  it('instantiates asynchronously through ready()', async () => {
    const m = (await importTs(emitCpuModule(shipped('mgu'), 'test').text)) as unknown as Mod;
    expect(m.wasm.backend()).toBe('pending');
    expect(await m.wasm.ready()).toBe(true);
    expect(m.wasm.backend()).toBe('simd');
  });
});

describe('sequence runtime', () => {
  it('runs a bidirectional GRU under an LSTM with wasm kernels as with f32 kernels', async () => {
    const [gru, lstm] = await Promise.all([load('gru'), load('lstm')]);
    let seed = 1;
    const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5));
    const ps = (m: Mod, s: object) => Object.fromEntries(Object.entries(m.paramShapes(s)).map(([k, sh]) => [k, rand(sh.reduce((a, b) => a * b, 1))]));
    const s1 = { input: 3, hidden: 6 }, s2 = { input: 12, hidden: 5 };
    const w = { g1: ps(gru, s1), g2: ps(gru, s1), l: ps(lstm, s2), W: rand(3 * 5), b: rand(3) };
    const model = (k: 'f32' | 'wasm'): Model<Float32Array> => ({
      layers: [
        { forward: direction(gru[k] as never, s1, w.g1), backward: direction(gru[k] as never, s1, w.g2) } as Layer<Float32Array>,
        { forward: direction(lstm[k] as never, s2, w.l) } as Layer<Float32Array>,
      ],
      readout: { W: w.W, b: w.b },
    });
    const batch: Batch<Float32Array> = { steps: 7, batch: 3, x: rand(7 * 3 * 3), targets: Int32Array.from({ length: 21 }, (_, i) => i % 3), lengths: new Int32Array([7, 5, 2]) };
    const a = lossAndGradients(model('f32'), batch);
    const b = lossAndGradients(model('wasm'), batch);
    expect(Math.abs(a.loss - b.loss) / Math.abs(a.loss)).toBeLessThan(1e-5);
    const ga = gradArrays(a.grads), gb = gradArrays(b.grads);
    ga.forEach((g, i) => expect(scaledError(gb[i]!, g)).toBeLessThan(1e-4));
  });
});
