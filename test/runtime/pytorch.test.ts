// PyTorch state_dicts: loaded layers compute what nn.RNN/nn.GRU/nn.LSTM compute (an independent
// float64 transcription of PyTorch's documented equations), in stacks, both directions, batch_first,
// with initial states; saved state_dicts load back to the same model.

import { describe, expect, it } from 'vitest';
import * as gruRa from '../../generated/ts/gru-reset-after.js';
import * as gruMod from '../../generated/ts/gru.js';
import * as lstmMod from '../../generated/ts/lstm.js';
import * as rnnRelu from '../../generated/ts/rnn-relu.js';
import * as rnnTanh from '../../generated/ts/rnn-tanh.js';
import { Random } from '../../src/runtime/random.js';
import { type KernelsByPrecision, type LayerInit, layersFromTorch, layersToTorch, lossAndGradients, runStack, type TorchMode, truncatedLossAndGradients } from '../../src/runtime/index.js';

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** PyTorch's cell equations, gate blocks in PyTorch order; x [I], h/c [H]. */
function torchStep(mode: TorchMode, relu: boolean, p: Record<string, Float64Array>, x: Float64Array, h: Float64Array, c: Float64Array, H: number): [Float64Array, Float64Array] {
  const I = x.length;
  const G = mode === 'RNN' ? 1 : mode === 'GRU' ? 3 : 4;
  const gi = new Float64Array(G * H);
  const gh = new Float64Array(G * H);
  for (let r = 0; r < G * H; r++) {
    let a = p.bias_ih![r]!;
    for (let j = 0; j < I; j++) a += p.weight_ih![r * I + j]! * x[j]!;
    let b = p.bias_hh![r]!;
    for (let j = 0; j < H; j++) b += p.weight_hh![r * H + j]! * h[j]!;
    gi[r] = a;
    gh[r] = b;
  }
  const hn = new Float64Array(H);
  const cn = new Float64Array(H);
  for (let k = 0; k < H; k++) {
    if (mode === 'RNN') hn[k] = relu ? Math.max(0, gi[k]! + gh[k]!) : Math.tanh(gi[k]! + gh[k]!);
    else if (mode === 'GRU') {
      const r = sig(gi[k]! + gh[k]!);
      const z = sig(gi[H + k]! + gh[H + k]!);
      const n = Math.tanh(gi[2 * H + k]! + r * gh[2 * H + k]!);
      hn[k] = (1 - z) * n + z * h[k]!;
    } else {
      const i = sig(gi[k]! + gh[k]!);
      const f = sig(gi[H + k]! + gh[H + k]!);
      const g = Math.tanh(gi[2 * H + k]! + gh[2 * H + k]!);
      const o = sig(gi[3 * H + k]! + gh[3 * H + k]!);
      cn[k] = f * c[k]! + i * g;
      hn[k] = o * Math.tanh(cn[k]!);
    }
  }
  return [hn, cn];
}

interface Case {
  mode: TorchMode;
  relu?: boolean;
  kernels: KernelsByPrecision;
}

/** The output of a PyTorch module (batch_first): [B][T][H·D]; h0/c0 are [L·D][B][H]. */
function torchForward(c: Case, sd: Record<string, Float64Array>, x: Float64Array, o: { I: number; H: number; L: number; D: number; T: number; B: number }, h0: Float64Array, c0: Float64Array): Float64Array {
  let input = x; // [B][T][n]
  let n = o.I;
  for (let l = 0; l < o.L; l++) {
    const out = new Float64Array(o.B * o.T * o.H * o.D);
    for (let d = 0; d < o.D; d++) {
      const sfx = `_l${l}${d ? '_reverse' : ''}`;
      const p = { weight_ih: sd[`weight_ih${sfx}`]!, weight_hh: sd[`weight_hh${sfx}`]!, bias_ih: sd[`bias_ih${sfx}`]!, bias_hh: sd[`bias_hh${sfx}`]! };
      for (let b = 0; b < o.B; b++) {
        const idx = (l * o.D + d) * o.B + b;
        let h: Float64Array = h0.slice(idx * o.H, (idx + 1) * o.H);
        let cc: Float64Array = c0.slice(idx * o.H, (idx + 1) * o.H);
        for (let s = 0; s < o.T; s++) {
          const t = d ? o.T - 1 - s : s;
          [h, cc] = torchStep(c.mode, !!c.relu, p, input.slice((b * o.T + t) * n, (b * o.T + t + 1) * n), h, cc, o.H);
          out.set(h, (b * o.T + t) * o.H * o.D + d * o.H);
        }
      }
    }
    input = out;
    n = o.H * o.D;
  }
  return input;
}

const CASES: Case[] = [
  { mode: 'RNN', kernels: rnnTanh },
  { mode: 'RNN', relu: true, kernels: rnnRelu },
  { mode: 'GRU', kernels: gruRa },
  { mode: 'LSTM', kernels: lstmMod },
];

describe('PyTorch state_dicts', () => {
  for (const c of CASES) {
    it(`nn.${c.mode}${c.relu ? '(relu)' : ''}: 2 layers, bidirectional, batch_first, initial states, as PyTorch computes`, () => {
      const o = { I: 3, H: 5, L: 2, D: 2, T: 4, B: 2 };
      const G = c.mode === 'RNN' ? 1 : c.mode === 'GRU' ? 3 : 4;
      const rng = new Random(11);
      const sd: Record<string, Float64Array> = {};
      for (let l = 0; l < o.L; l++)
        for (const r of ['', '_reverse']) {
          const I = l === 0 ? o.I : o.H * o.D;
          sd[`weight_ih_l${l}${r}`] = Float64Array.from(rng.array(G * o.H * I, 0.6));
          sd[`weight_hh_l${l}${r}`] = Float64Array.from(rng.array(G * o.H * o.H, 0.6));
          sd[`bias_ih_l${l}${r}`] = Float64Array.from(rng.array(G * o.H, 0.4));
          sd[`bias_hh_l${l}${r}`] = Float64Array.from(rng.array(G * o.H, 0.4));
        }
      const x = Float64Array.from(rng.array(o.B * o.T * o.I, 1));
      const h0 = Float64Array.from(rng.array(o.L * o.D * o.B * o.H, 0.5));
      const c0 = Float64Array.from(rng.array(o.L * o.D * o.B * o.H, 0.5));
      const want = torchForward(c, sd, x, o, h0, c0);

      const shape = { mode: c.mode, inputSize: o.I, hiddenSize: o.H, numLayers: o.L, bidirectional: true, precision: 'f64' as const };
      const layers = layersFromTorch(c.kernels, sd, shape);
      const part = (a: Float64Array, l: number, d: number) => a.slice((l * o.D + d) * o.B * o.H, (l * o.D + d + 1) * o.B * o.H);
      const states = (l: number, d: number) => (c.mode === 'LSTM' ? { h: part(h0, l, d), c: part(c0, l, d) } : { h: part(h0, l, d) });
      const init: LayerInit<Float64Array>[] = [0, 1].map((l) => ({ forward: states(l, 0), backward: states(l, 1) }));
      const got = runStack(layers, x, { steps: o.T, batch: o.B, batchFirst: true }, init).at(-1)!.out;
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 12);

      // Saved and loaded again: the same model (the two biases are folded into bias_ih).
      const saved = layersToTorch(layers, c.mode);
      expect(Object.keys(saved).sort()).toEqual(Object.keys(sd).sort());
      for (const [k, t] of Object.entries(saved)) expect(t.data.length, k).toBe(sd[k]!.length);
      const again = runStack(layersFromTorch(c.kernels, saved, shape), x, { steps: o.T, batch: o.B, batchFirst: true }, init).at(-1)!.out;
      expect(Array.from(again)).toEqual(Array.from(got));
      // f32 from the same state_dict.
      const f32 = runStack(layersFromTorch(c.kernels, sd, { ...shape, precision: 'f32' }), Float32Array.from(x), { steps: o.T, batch: o.B, batchFirst: true }, init.map((i) => ({ forward: f32Rec(i.forward!), backward: f32Rec(i.backward!) }))).at(-1)!.out;
      for (let i = 0; i < want.length; i++) expect(Math.abs(f32[i]! - want[i]!)).toBeLessThan(1e-5);
    });
  }

  it('lossAndGradients: batchFirst gives the time-major loss and gradients, dx batch-first; initial states count', () => {
    const o = { I: 3, H: 4, T: 5, B: 2 };
    const rng = new Random(5);
    const sd: Record<string, Float64Array> = { weight_ih_l0: Float64Array.from(rng.array(16 * 3, 0.5)), weight_hh_l0: Float64Array.from(rng.array(16 * 4, 0.5)), bias_ih_l0: Float64Array.from(rng.array(16, 0.3)), bias_hh_l0: Float64Array.from(rng.array(16, 0.3)) };
    const layers = layersFromTorch(lstmMod, sd, { mode: 'LSTM', inputSize: o.I, hiddenSize: o.H, precision: 'f64' });
    const model = { layers, readout: { W: Float64Array.from(rng.array(3 * o.H, 0.5)), b: new Float64Array(3) } };
    const xt = Float64Array.from(rng.array(o.T * o.B * o.I, 1));
    const yt = Int32Array.from({ length: o.T * o.B }, (_, i) => i % 3);
    const swap = <A extends Float64Array | Int32Array>(a: A, d0: number, d1: number, n: number): A => {
      const out = a.slice() as A;
      for (let i = 0; i < d0; i++) for (let j = 0; j < d1; j++) for (let k = 0; k < n; k++) out[(j * d0 + i) * n + k] = a[(i * d1 + j) * n + k]!;
      return out;
    };
    const init = [{ forward: { h: Float64Array.from(rng.array(o.B * o.H, 0.5)), c: Float64Array.from(rng.array(o.B * o.H, 0.5)) } }];
    const tm = lossAndGradients(model, { x: xt, targets: yt, steps: o.T, batch: o.B, init });
    const bf = lossAndGradients(model, { x: swap(xt, o.T, o.B, o.I), targets: swap(yt, o.T, o.B, 1), steps: o.T, batch: o.B, batchFirst: true, init });
    expect(bf.loss).toBeCloseTo(tm.loss, 12);
    expect(Array.from(bf.grads.layers[0]!.forward.W_f!)).toEqual(Array.from(tm.grads.layers[0]!.forward.W_f!));
    expect(Array.from(bf.grads.layers[0]!.dx)).toEqual(Array.from(swap(tm.grads.layers[0]!.dx, o.T, o.B, o.I)));
    expect(tm.grads.layers[0]!.dInit.forward.c!.some((v) => v !== 0)).toBe(true);
    const zero = lossAndGradients(model, { x: xt, targets: yt, steps: o.T, batch: o.B });
    expect(zero.loss).not.toBeCloseTo(tm.loss, 6);
    const tr = truncatedLossAndGradients(model, { x: xt, targets: yt, steps: o.T, batch: o.B, init }, o.T, o.T);
    expect(tr.loss).toBeCloseTo(tm.loss, 12);
  });

  it('refuses kernels whose parameters do not match the module, and missing tensors', () => {
    expect(() => layersFromTorch(gruMod, {}, { mode: 'GRU', inputSize: 2, hiddenSize: 2 })).toThrow(/gru-reset-after/);
    expect(() => layersFromTorch(gruRa, {}, { mode: 'GRU', inputSize: 2, hiddenSize: 2 })).toThrow(/no 'weight_ih_l0'/);
    expect(() => layersFromTorch(lstmMod, { weight_ih_l0: new Float64Array(3) }, { mode: 'LSTM', inputSize: 2, hiddenSize: 2 })).toThrow(/3 values, expected 16/);
  });
});

function f32Rec(r: Partial<Record<string, Float64Array>>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float32Array.from(v!)]));
}
