// TF.js peers: median ms of a whole-sequence forward, and forward + all weight gradients, on the cpu and wasm backends.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { reportPathsFromArgs, writeReport, type Column } from '../report.js';
import { heapGrowthPerCall, timeIt, type TimingOptions, warmUntilStable } from '../stats.js';

export type TfjsCell = 'rnn-tanh' | 'gru' | 'gru-reset-after' | 'lstm';
export type TfjsBackend = 'cpu' | 'wasm';

export interface SeqShape { T: number; batch: number; input: number; hidden: number }

export const TFJS_CELLS: readonly TfjsCell[] = ['rnn-tanh', 'gru', 'gru-reset-after', 'lstm'];
export const TFJS_SHAPES: readonly SeqShape[] = [
  { T: 32, batch: 1, input: 64, hidden: 64 },
  { T: 32, batch: 16, input: 256, hidden: 256 },
  { T: 128, batch: 8, input: 128, hidden: 128 },
];

export interface TfjsOptions {
  timing?: TimingOptions;
  /** also measure JS-heap growth per call (needs node --expose-gc; NaN otherwise) */
  heap?: boolean;
  /** time the forward only (gradMs is NaN) */
  forwardOnly?: boolean;
  /** cap on the warm-up of each path, ms */
  warmMaxMs?: number;
  /** time the forward + gradients only (forwardMs is NaN: the caller times the forward with tfjsForward) */
  gradOnly?: boolean;
}

export interface TfjsResult {
  peer: string;
  cell: TfjsCell;
  backend: TfjsBackend;
  T: number;
  batch: number;
  input: number;
  hidden: number;
  /** median ms: forward over the sequence, outputs of every step read back */
  forwardMs: number;
  /** median ms: forward + gradients of sum(outputs) w.r.t. every weight, gradients read back */
  gradMs: number;
  forwardSamples: number;
  gradSamples: number;
  /** live tensors left behind per call (should be 0: tidy/dispose keep memory steady) */
  tensorsPerCall: number;
  /** JS-heap growth per forward+grad call in bytes (NaN without --expose-gc or heap: false) */
  heapBytesPerCall: number;
}

let wasmPathsSet = false;

/** Switch TF.js to `backend`; the wasm binaries are read from the package's dist/ folder (Node has no fetch of file paths). */
export async function useTfjsBackend(backend: TfjsBackend): Promise<void> {
  if (backend === 'wasm' && !wasmPathsSet) {
    const require = createRequire(import.meta.url);
    setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
    wasmPathsSet = true;
  }
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`TF.js backend '${backend}' failed to initialise`);
  await tf.ready();
}

interface Model {
  forward(x: tf.Tensor3D): tf.Tensor;
  vars: tf.Variable[];
  dispose(): void;
}

function layerModel(layer: tf.layers.Layer, x: tf.Tensor3D): Model {
  layer.apply(x); // builds the weights for this input width
  return {
    forward: (xs) => layer.apply(xs) as tf.Tensor,
    vars: layer.trainableWeights.map((w) => w.read() as tf.Variable),
    dispose: () => layer.dispose(),
  };
}

/**
 * tf.layers.gru rejects resetAfter: true, so this is the Keras reset-after GRU written with tf ops, one step at a time
 * like tf.layers' own RNN loop (gates z, r, h̃ in Keras order, separate input and recurrent biases):
 *   m_x = x_t W + b_x,  m_h = h U + b_h,  z = σ(m_x,z + m_h,z),  r = σ(m_x,r + m_h,r),
 *   h̃ = tanh(m_x,h + r ⊙ m_h,h),  h = z ⊙ h_prev + (1 − z) ⊙ h̃
 */
function gruResetAfterModel(input: number, H: number): Model {
  const W = tf.variable(tf.randomNormal([input, 3 * H], 0, Math.sqrt(2 / (input + 3 * H))));
  const U = tf.variable(tf.randomNormal([H, 3 * H], 0, Math.sqrt(1 / H)));
  const bx = tf.variable(tf.zeros([3 * H]));
  const bh = tf.variable(tf.zeros([3 * H]));
  return {
    forward(xs) {
      const [batch] = xs.shape;
      let h: tf.Tensor2D = tf.zeros([batch, H]);
      const out: tf.Tensor2D[] = [];
      for (const x of tf.unstack(xs, 1) as tf.Tensor2D[]) {
        const [xz, xr, xh] = tf.split(tf.add(tf.matMul(x, W), bx), 3, 1);
        const [hz, hr, hh] = tf.split(tf.add(tf.matMul(h, U), bh), 3, 1);
        const z = tf.sigmoid(tf.add(xz, hz));
        const r = tf.sigmoid(tf.add(xr, hr));
        const cand = tf.tanh(tf.add(xh, tf.mul(r, hh)));
        h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), cand));
        out.push(h);
      }
      return tf.stack(out, 1);
    },
    vars: [W, U, bx, bh],
    dispose: () => { for (const v of [W, U, bx, bh]) v.dispose(); },
  };
}

function buildModel(cell: TfjsCell, s: SeqShape, x: tf.Tensor3D): Model {
  // recurrentActivation: tf.layers defaults to hardSigmoid (Keras 1); the reference cells use σ.
  // recurrentInitializer: the default orthogonal init runs a JS QR that takes minutes at H = 256; values do not affect timing.
  const common = { units: s.hidden, returnSequences: true, recurrentInitializer: 'glorotNormal' } as const;
  switch (cell) {
    case 'rnn-tanh':
      return layerModel(tf.layers.simpleRNN({ ...common, activation: 'tanh' }), x);
    case 'gru': // tf.layers.gru is always reset-before (resetAfter: false; its args type has no such field)
      return layerModel(tf.layers.gru({ ...common, recurrentActivation: 'sigmoid' }), x);
    case 'gru-reset-after':
      return gruResetAfterModel(s.input, s.hidden);
    case 'lstm':
      return layerModel(tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid' }), x);
    default: {
      const never: never = cell;
      throw new Error(`unknown TF.js cell ${String(never)}`);
    }
  }
}

export function tfjsPeerName(cell: TfjsCell): string {
  return cell === 'gru-reset-after' ? 'tf ops (per step)' : 'tf.layers';
}

/**
 * The forward of a TF.js peer as a function to time (outputs of every step read back), on `backend`,
 * and a dispose; the caller warms it up (TF.js compiles and caches per shape: at batch 1, ~100 calls).
 */
export async function tfjsForward(cell: TfjsCell, shape: SeqShape, backend: TfjsBackend): Promise<{ run: () => void; dispose: () => void }> {
  await useTfjsBackend(backend);
  const x = tf.randomNormal([shape.batch, shape.T, shape.input]) as tf.Tensor3D;
  const model = buildModel(cell, shape, x);
  return {
    run: () => { tf.tidy(() => { model.forward(x).dataSync(); }); },
    dispose: () => { model.dispose(); x.dispose(); },
  };
}

export async function measureTfjs(cell: TfjsCell, shape: SeqShape, backend: TfjsBackend, opts: TfjsOptions = {}): Promise<TfjsResult> {
  await useTfjsBackend(backend);
  const timing: TimingOptions = { warmupMs: 300, budgetMs: 1500, minSamples: 3, minSampleMs: 0, ...opts.timing };
  const x = tf.randomNormal([shape.batch, shape.T, shape.input]) as tf.Tensor3D;
  const model = buildModel(cell, shape, x);
  try {
    const forward = (): void => {
      tf.tidy(() => { model.forward(x).dataSync(); });
    };
    const grad = (): void => {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(model.forward(x)) as tf.Scalar, model.vars);
        value.dataSync();
        for (const g of Object.values(grads)) g.dataSync();
      });
    };
    // TF.js compiles and caches per shape: warm each path until its time per call is stable
    const stable = { minCalls: shape.batch === 1 ? 100 : 20, maxMs: opts.warmMaxMs ?? 20000 };
    if (!opts.gradOnly) await warmUntilStable(forward, stable);
    const f = opts.gradOnly ? { medianMs: NaN, samples: 0 } : timeIt(forward, timing);
    if (opts.forwardOnly) return { peer: tfjsPeerName(cell), cell, backend, ...shape, forwardMs: f.medianMs, gradMs: NaN, forwardSamples: f.samples, gradSamples: 0, tensorsPerCall: NaN, heapBytesPerCall: NaN };
    await warmUntilStable(grad, stable);
    const g = timeIt(grad, timing);
    // leak checks cost whole calls: a few for fast configurations, one (and no heap check) past a second per call
    const before = tf.memory().numTensors;
    const n = g.medianMs > 1000 ? 0 : g.medianMs > 500 ? 1 : 3;
    for (let i = 0; i < n; i++) grad();
    const tensorsPerCall = n === 0 ? NaN : (tf.memory().numTensors - before) / n;
    const calls = Math.max(1, Math.min(20, Math.floor(1000 / g.medianMs)));
    const heap = opts.heap && g.medianMs <= 1000 ? heapGrowthPerCall(grad, { calls, rounds: 3, warmupCalls: 1 }).bytesPerCall : NaN;
    return {
      peer: tfjsPeerName(cell), cell, backend, ...shape,
      forwardMs: f.medianMs, gradMs: g.medianMs, forwardSamples: f.samples, gradSamples: g.samples,
      tensorsPerCall, heapBytesPerCall: heap,
    };
  } finally {
    model.dispose();
    x.dispose();
  }
}

export const tfjsColumns: Column[] = [
  { key: 'peer' }, { key: 'cell' }, { key: 'backend' }, { key: 'T' }, { key: 'batch' }, { key: 'input' }, { key: 'hidden' },
  { key: 'forwardMs', title: 'fwd ms', digits: 2 }, { key: 'gradMs', title: 'fwd+grad ms', digits: 2 },
  { key: 'forwardSamples', title: 'n fwd' }, { key: 'gradSamples', title: 'n grad' },
  { key: 'tensorsPerCall', title: 'tensors/call' }, { key: 'heapBytesPerCall', title: 'heap B/call', digits: 0 },
];

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows: TfjsResult[] = [];
  const backends: TfjsBackend[] = process.argv.includes('--cpu-only') ? ['cpu'] : ['cpu', 'wasm'];
  const heap = typeof (globalThis as { gc?: unknown }).gc === 'function';
  for (const backend of backends) {
    for (const shape of TFJS_SHAPES) {
      for (const cell of TFJS_CELLS) {
        const r = await measureTfjs(cell, shape, backend, { heap });
        rows.push(r);
        console.error(`${backend} ${cell} T=${shape.T} b=${shape.batch} H=${shape.hidden}: fwd ${r.forwardMs.toFixed(2)} ms, fwd+grad ${r.gradMs.toFixed(2)} ms`);
      }
    }
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  writeReport(rows as unknown as Record<string, string | number>[], {
    title: `TF.js ${tf.version.tfjs} peers (median ms; wasm simd=${String(simd)} threads=${String(threads)})`,
    columns: tfjsColumns, ...reportPathsFromArgs(process.argv),
  });
}
