// BPTT of the generated f64 kernels against TF.js autodiff: Keras GRU/LSTM layers (weights set by hand) and a tf-op GRU.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gruResetAfter from '../../generated/ts/gru-reset-after.js';
import * as gru from '../../generated/ts/gru.js';
import * as lstm from '../../generated/ts/lstm.js';
import { rng, uniform } from '../check/onnx/helpers.js';

const T = 6;
const B = 3;
const I = 4;
const H = 5;
const sizes = { input: I, hidden: H };

beforeAll(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('TF.js cpu backend failed to initialise');
});

/** Random float32-exact values, as Float64Array for the f64 kernels. */
const rand = (next: () => number, n: number, scale = 0.8) => uniform(next, n, scale);

/** Keras packs gate matrices as columns: kernel[k][g*H + j] = M_g[j][k] for M_g of shape [H][n]. */
function toKeras(mats: readonly Float64Array[], n: number): tf.Tensor2D {
  const G = mats.length;
  const out = new Float32Array(n * G * H);
  mats.forEach((m, g) => {
    for (let j = 0; j < H; j++) for (let k = 0; k < n; k++) out[k * G * H + g * H + j] = m[j * n + k]!;
  });
  return tf.tensor2d(out, [n, G * H]);
}

/** The inverse of toKeras, for a gradient laid out like a kernel: one [H][n] matrix per gate. */
function fromKeras(k: ArrayLike<number>, n: number, G: number): Float64Array[] {
  return Array.from({ length: G }, (_, g) => {
    const m = new Float64Array(H * n);
    for (let j = 0; j < H; j++) for (let c = 0; c < n; c++) m[j * n + c] = k[c * G * H + g * H + j]!;
    return m;
  });
}

/** [a][b][n] to [b][a][n]: cellgen sequences are time-major, Keras's batch-major. */
function swap01(d: ArrayLike<number>, a: number, b: number, n: number): Float32Array {
  const out = new Float32Array(a * b * n);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < n; k++) out[(j * a + i) * n + k] = d[(i * b + j) * n + k]!;
  return out;
}

/** TF.js works in float32: agreement to 1e-4 of the tensor's largest magnitude. */
function expectGradClose(ours: ArrayLike<number>, theirs: ArrayLike<number>, label: string): void {
  expect(ours.length, `${label}: length`).toBe(theirs.length);
  let scale = 0;
  let worst = 0;
  let at = -1;
  for (let k = 0; k < theirs.length; k++) {
    scale = Math.max(scale, Math.abs(theirs[k]!));
    const e = Math.abs(ours[k]! - theirs[k]!);
    if (!(e <= worst)) [worst, at] = [e, k];
  }
  expect(scale, `${label}: an all-zero gradient checks nothing`).toBeGreaterThan(1e-3);
  if (!(worst <= 1e-4 * scale)) expect.fail(`${label}: element ${at} is ${ours[at]}, TF.js says ${theirs[at]} (|diff| ${worst} > 1e-4 · max ${scale})`);
}

interface Problem {
  x: Float64Array;
  G: Float64Array;
  h0: Float64Array;
  c0: Float64Array;
}
function problem(next: () => number): Problem {
  return { x: rand(next, T * B * I, 1.5), G: rand(next, T * B * H, 1), h0: rand(next, B * H, 1), c0: rand(next, B * H, 1.5) };
}

/**
 * Run a Keras recurrent layer on (x, initial states) and differentiate sum_t <G_t, h_t> with respect to its
 * weights [kernel, recurrent_kernel, bias], the input and the initial states.
 */
function kerasGrads(layer: tf.layers.Layer, weights: tf.Tensor[], p: Problem, states: Float64Array[]) {
  const x = tf.variable(tf.tensor3d(swap01(p.x, T, B, I), [B, T, I]));
  const init = states.map((s) => tf.variable(tf.tensor2d(Float32Array.from(s), [B, H])));
  layer.apply(x, { initialState: init }); // builds the weights, which setWeights then overwrites
  layer.setWeights(weights);
  const wVars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  expect(wVars.map((v) => v.shape)).toEqual(weights.map((w) => w.shape));
  const G = tf.tensor3d(swap01(p.G, T, B, H), [B, T, H]);
  let hSeq: Float32Array | undefined;
  const { grads } = tf.variableGrads(() => {
    const h = layer.apply(x, { initialState: init }) as tf.Tensor;
    hSeq = swap01(h.dataSync(), B, T, H);
    return tf.sum(tf.mul(h, G)) as tf.Scalar;
  }, [...wVars, x, ...init]);
  const read = (v: tf.Variable) => grads[v.name]!.dataSync();
  return {
    h: hSeq!,
    weights: wVars.map(read),
    x: swap01(read(x), B, T, I),
    init: init.map(read),
  };
}

describe('gradients against TF.js autodiff', () => {
  it('gru = Keras GRU (reset_after=false, gates z, r, h; h = z h_prev + (1 - z) h~)', () => {
    const next = rng(11);
    const p = problem(next);
    const W = [rand(next, H * I), rand(next, H * I), rand(next, H * I)];
    const U = [rand(next, H * H), rand(next, H * H), rand(next, H * H)];
    const b = [rand(next, H, 0.5), rand(next, H, 0.5), rand(next, H, 0.5)];
    const params = { W_z: W[0]!, W_r: W[1]!, W_h: W[2]!, U_z: U[0]!, U_r: U[1]!, U_h: U[2]!, b_z: b[0]!, b_r: b[1]!, b_h: b[2]! };
    const fw = gru.f64.forward(sizes, params, { x: p.x }, { steps: T, batch: B, init: { h: p.h0 } });
    const ours = gru.f64.backward(fw.tape, { h: p.G });

    const layer = tf.layers.gru({ units: H, returnSequences: true, activation: 'tanh', recurrentActivation: 'sigmoid' });
    const keras = kerasGrads(layer, [toKeras(W, I), toKeras(U, H), tf.tensor1d(Float32Array.from([...b[0]!, ...b[1]!, ...b[2]!]))], p, [p.h0]);

    expectGradClose(fw.states.h, keras.h, 'h (forward)');
    const [dW, dU, db] = [fromKeras(keras.weights[0]!, I, 3), fromKeras(keras.weights[1]!, H, 3), keras.weights[2]!];
    (['z', 'r', 'h'] as const).forEach((g, k) => {
      expectGradClose(ours.params[`W_${g}`], dW[k]!, `dW_${g}`);
      expectGradClose(ours.params[`U_${g}`], dU[k]!, `dU_${g}`);
      expectGradClose(ours.params[`b_${g}`], db.subarray(k * H, (k + 1) * H), `db_${g}`);
    });
    expectGradClose(ours.inputs.x, keras.x, 'dx');
    expectGradClose(ours.init.h, keras.init[0]!, 'dh0');
  });

  it('lstm = Keras LSTM (gates i, f, c, o; initial state [h, c])', () => {
    const next = rng(12);
    const p = problem(next);
    const gates = ['i', 'f', 'c', 'o'] as const;
    const W = gates.map(() => rand(next, H * I));
    const U = gates.map(() => rand(next, H * H));
    const b = gates.map(() => rand(next, H, 0.5));
    const params = Object.fromEntries(gates.flatMap((g, k) => [[`W_${g}`, W[k]!], [`U_${g}`, U[k]!], [`b_${g}`, b[k]!]])) as lstm.Params<Float64Array>;
    const fw = lstm.f64.forward(sizes, params, { x: p.x }, { steps: T, batch: B, init: { h: p.h0, c: p.c0 } });
    const ours = lstm.f64.backward(fw.tape, { h: p.G });

    const layer = tf.layers.lstm({ units: H, returnSequences: true, activation: 'tanh', recurrentActivation: 'sigmoid', unitForgetBias: false });
    const keras = kerasGrads(layer, [toKeras(W, I), toKeras(U, H), tf.tensor1d(Float32Array.from(b.flatMap((v) => [...v])))], p, [p.h0, p.c0]);

    expectGradClose(fw.states.h, keras.h, 'h (forward)');
    const [dW, dU, db] = [fromKeras(keras.weights[0]!, I, 4), fromKeras(keras.weights[1]!, H, 4), keras.weights[2]!];
    gates.forEach((g, k) => {
      expectGradClose(ours.params[`W_${g}`], dW[k]!, `dW_${g}`);
      expectGradClose(ours.params[`U_${g}`], dU[k]!, `dU_${g}`);
      expectGradClose(ours.params[`b_${g}`], db.subarray(k * H, (k + 1) * H), `db_${g}`);
    });
    expectGradClose(ours.inputs.x, keras.x, 'dx');
    expectGradClose(ours.init.h, keras.init[0]!, 'dh0');
    expectGradClose(ours.init.c, keras.init[1]!, 'dc0');
  });

  it('gru-reset-after = a tf-op GRU with h~ = tanh(W_h x + b_h + r (U_h h + b_uh)) (TF.js layers lack reset_after)', () => {
    const next = rng(13);
    const p = problem(next);
    const names = ['W_z', 'W_r', 'W_h', 'U_z', 'U_r', 'U_h', 'b_z', 'b_r', 'b_h', 'b_uh'] as const;
    const shapes = gruResetAfter.paramShapes(sizes);
    const params = Object.fromEntries(names.map((n) => [n, rand(next, shapes[n].reduce((a, c) => a * c, 1), n.startsWith('b') ? 0.5 : 0.8)])) as gruResetAfter.Params<Float64Array>;
    const fw = gruResetAfter.f64.forward(sizes, params, { x: p.x }, { steps: T, batch: B, init: { h: p.h0 } });
    const ours = gruResetAfter.f64.backward(fw.tape, { h: p.G });

    // Tensors in cellgen's own layouts: x [T,B,I], matrices [H, n], y = v Mᵀ.
    const lin = (v: tf.Tensor, m: tf.Tensor) => tf.matMul(v as tf.Tensor2D, m as tf.Tensor2D, false, true);
    const G = tf.unstack(tf.tensor3d(Float32Array.from(p.G), [T, B, H]));
    const hs: number[] = [];
    const loss = (x: tf.Tensor, h0: tf.Tensor, ...w: tf.Tensor[]): tf.Scalar => {
      const P = Object.fromEntries(names.map((n, k) => [n, w[k]!])) as Record<(typeof names)[number], tf.Tensor>;
      let h = h0;
      let sum = tf.scalar(0);
      hs.length = 0;
      tf.unstack(x).forEach((xt, t) => {
        const z = tf.sigmoid(lin(xt, P.W_z).add(lin(h, P.U_z)).add(P.b_z));
        const r = tf.sigmoid(lin(xt, P.W_r).add(lin(h, P.U_r)).add(P.b_r));
        const hc = tf.tanh(lin(xt, P.W_h).add(P.b_h).add(r.mul(lin(h, P.U_h).add(P.b_uh))));
        h = tf.scalar(1).sub(z).mul(hc).add(z.mul(h));
        hs.push(...h.dataSync());
        sum = sum.add(tf.sum(h.mul(G[t]!)));
      });
      return sum as tf.Scalar;
    };
    const shaped = (n: (typeof names)[number]) => tf.tensor(Float32Array.from(params[n]), [...shapes[n]]);
    const args = [tf.tensor3d(Float32Array.from(p.x), [T, B, I]), tf.tensor2d(Float32Array.from(p.h0), [B, H]), ...names.map(shaped)];
    const grads = tf.grads(loss)(args).map((g) => g.dataSync());

    expectGradClose(fw.states.h, hs, 'h (forward)');
    expectGradClose(ours.inputs.x, grads[0]!, 'dx');
    expectGradClose(ours.init.h, grads[1]!, 'dh0');
    names.forEach((n, k) => expectGradClose(ours.params[n], grads[k + 2]!, `d${n}`));
  });
});
