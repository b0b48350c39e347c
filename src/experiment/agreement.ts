// Trains cells on the agreement task and measures accuracy, ‖∂L/∂s_t‖ against T − t, and clipping.

import { adam, constant, createModel, evaluate, fit, type Initializer, type Kernels, type Model, orthogonal, runLayer, sgd, softmaxCrossEntropy, type StepInfo } from '../runtime/index.js';
import { Random } from '../runtime/random.js';
import { agreementBatch, VOCAB } from './task.js';

export interface RunConfig {
  readonly hidden: number;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly clipNorm: number;
  readonly evalSize: number;
  /** Bias of keep gates (forget-bias, and its negative for forget-bias-inverted); 1 by default. */
  readonly forgetBias?: number;
}

export interface GradPoint { readonly distance: number; readonly norm: number }

/**
 * ‖∂L/∂s_t‖ for t = T − 1 − k and each distance k, where L is the loss at the verb slot (step
 * T − 1) and s_t all states of the (single) layer: the layer re-runs k steps from its stored s_t
 * and the kernel's backward returns dL/ds_t. The norm is per sentence, averaged over the batch.
 */
export function gradNormByDistance(model: Model<Float32Array>, lag: number, distances: readonly number[], seed: number, batchSize = 64): GradPoint[] {
  const layer = model.layers[0]!;
  const k = layer.forward.kernels;
  const batch = agreementBatch(new Random(seed), lag, batchSize, Float32Array);
  const { steps: T, batch: B } = batch;
  const full = runLayer(layer, batch.x, batch);
  const V = VOCAB.length;
  const states = Object.keys(k.cell.states);
  const out: GradPoint[] = [];
  for (const d of distances) {
    if (d < 1 || d > T - 1) continue;
    const t = T - 1 - d;
    const init = Object.fromEntries(states.map((s) => {
      const n = layer.forward.sizes[k.cell.states[s]!]!;
      return [s, full.fw.states[s]!.slice(t * B * n, (t + 1) * B * n)];
    }));
    const shape = { steps: d, batch: B };
    const run = runLayer(layer, batch.x.subarray((t + 1) * B * V, T * B * V), shape, { forward: init });
    const ro = softmaxCrossEntropy(run.out, model.readout, shape, batch.targets.subarray((t + 1) * B, T * B));
    const g = k.backward(run.fw.tape, { [k.cell.output]: ro.dH });
    let sum = 0;
    for (let b = 0; b < B; b++) {
      let ss = 0;
      for (const s of states) {
        const n = layer.forward.sizes[k.cell.states[s]!]!;
        for (let j = 0; j < n; j++) ss += g.init[s]![b * n + j]! ** 2;
      }
      sum += Math.sqrt(ss);
    }
    out.push({ distance: d, norm: sum / B });
  }
  return out;
}

const keepRoles = (b: number) => ({ 'forget-bias': constant(b), 'forget-bias-inverted': constant(-b) });

export interface TrainResult {
  readonly accuracy: number;
  readonly loss: number;
  readonly history: StepInfo[];
  readonly model: Model<Float32Array>;
}

/** Trains one cell at one lag with Adam and global-norm clipping; accuracy on fresh sentences. */
export function trainAgreement(kernels: Kernels<Float32Array>, lag: number, cfg: RunConfig, seed: number, onCheckpoint?: (step: number, model: Model<Float32Array>) => void, checkpoints: readonly number[] = []): TrainResult {
  const model = createModel({ layers: [{ kernels, sizes: { ...Object.fromEntries(kernels.cell.sizes.map((s) => [s, cfg.hidden])), [kernels.cell.inputs[Object.keys(kernels.cell.inputs)[0]!]!]: VOCAB.length } }], classes: 2, array: Float32Array, seed, roles: keepRoles(cfg.forgetBias ?? 1) });
  const data = new Random(seed * 7919 + lag);
  if (checkpoints.includes(0)) onCheckpoint?.(0, model);
  const recent: number[] = [];
  const history = fit({
    model,
    optimizer: adam({ lr: cfg.lr }),
    data: () => agreementBatch(data, lag, cfg.batch, Float32Array),
    steps: cfg.steps,
    clip: { norm: cfg.clipNorm },
    onStep: (info) => {
      if (checkpoints.includes(info.step + 1)) onCheckpoint?.(info.step + 1, model);
      // Solved: the last 10 batches averaged a loss under 0.01 (the rest of the budget would idle).
      recent.push(info.loss);
      if (recent.length > 10) recent.shift();
      return recent.length === 10 && recent.reduce((a, b) => a + b, 0) / 10 < 0.01 ? 'stop' : undefined;
    },
  });
  if (checkpoints.length && !checkpoints.includes(history.length)) onCheckpoint?.(history.length, model);
  const test = agreementBatch(new Random(1_000_003 + seed * 31 + lag), lag, cfg.evalSize, Float32Array);
  const e = evaluate(model, test);
  return { accuracy: e.accuracy, loss: e.loss, history, model };
}

export interface ClipRun {
  readonly clipped: boolean;
  readonly points: { step: number; loss: number; gradNorm: number }[];
  readonly finalAccuracy: number;
  readonly diverged: boolean;
}

/**
 * An RNN whose recurrent matrix starts at `gain` × orthogonal trained with plain SGD, once as is and
 * once with the gradient clipped to global norm `clipNorm`: the notes' exploding gradient and its fix.
 */
export function clippingRuns(kernels: Kernels<Float32Array>, o: { lag: number; hidden: number; steps: number; batch: number; lr: number; gain: number; clipNorm: number; seed: number; evalSize: number }): ClipRun[] {
  return [false, true].map((clipped) => {
    const recurrent: Initializer = orthogonal(o.gain);
    const model = createModel({ layers: [{ kernels, sizes: { ...Object.fromEntries(kernels.cell.sizes.map((s) => [s, o.hidden])), [kernels.cell.inputs[Object.keys(kernels.cell.inputs)[0]!]!]: VOCAB.length } }], classes: 2, array: Float32Array, seed: o.seed, roles: { recurrent } });
    const data = new Random(o.seed * 7919 + o.lag);
    const points: ClipRun['points'] = [];
    let diverged = false;
    fit({
      model,
      optimizer: sgd({ lr: o.lr }),
      data: () => agreementBatch(data, o.lag, o.batch, Float32Array),
      steps: o.steps,
      clip: clipped ? { norm: o.clipNorm } : undefined,
      onStep: (info) => {
        const finite = Number.isFinite(info.loss) && Number.isFinite(info.gradNorm);
        points.push({ step: info.step + 1, loss: finite ? info.loss : NaN, gradNorm: finite ? info.gradNorm : NaN });
        if (!finite) {
          diverged = true;
          return 'stop';
        }
        return undefined;
      },
    });
    const e = evaluate(model, agreementBatch(new Random(1_000_003 + o.seed), o.lag, o.evalSize, Float32Array));
    return { clipped, points, finalAccuracy: Number.isFinite(e.loss) ? e.accuracy : 0.5, diverged };
  });
}
