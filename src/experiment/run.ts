// The whole agreement experiment: accuracy against lag per cell, gradient norms on trained nets, clipping.

import type { Kernels } from '../runtime/index.js';
import { clippingRuns, type GradPoint, gradNormByDistance, type RunConfig, trainAgreement } from './agreement.js';
import { CLAUSE, PLURAL, SINGULAR, VERB_SLOT } from './task.js';

export interface ExperimentConfig extends RunConfig {
  readonly cells: readonly string[];
  readonly lags: readonly number[];
  readonly seeds: readonly number[];
  /** The lag at which ‖∂L/∂s_t‖ is measured during and after training. */
  readonly gradientLag: number;
  readonly clipping: { readonly cell: string; readonly lag: number; readonly steps: number; readonly lr: number; readonly gain: number; readonly clipNorm: number; readonly seed: number };
}

/** Sized to finish in a few minutes on two shared cores (see `cellgen experiment agreement --help`). */
export const DEFAULT_EXPERIMENT: ExperimentConfig = {
  cells: ['rnn-tanh', 'gru-minimal', 'gru', 'lstm'],
  lags: [2, 5, 10, 20, 35, 50, 75, 100],
  seeds: [1, 2],
  hidden: 16,
  steps: 300,
  batch: 32,
  lr: 0.01,
  clipNorm: 1,
  evalSize: 500,
  forgetBias: 3,
  gradientLag: 50,
  clipping: { cell: 'rnn-tanh', lag: 20, steps: 150, lr: 0.2, gain: 2, clipNorm: 1, seed: 1 },
};

/** A smaller run for a quick look (`--quick`): three lags, fewer steps. */
export const QUICK_EXPERIMENT: ExperimentConfig = { ...DEFAULT_EXPERIMENT, lags: [2, 10, 35], steps: 150, gradientLag: 10, clipping: { ...DEFAULT_EXPERIMENT.clipping, steps: 60 } };

export interface AgreementResults {
  readonly setup: ExperimentConfig & { readonly language: Record<string, readonly string[]>; readonly seconds: number; readonly machine: string };
  readonly accuracy: { cell: string; lag: number; seed: number; accuracy: number; loss: number; steps: number; seconds: number }[];
  readonly gradients: { cell: string; lag: number; step: number; points: GradPoint[] }[];
  readonly clipping: { cell: string; lag: number; runs: ReturnType<typeof clippingRuns> };
  /** The gated cells at the longest lag with the default keep-gate bias 1 instead of cfg.forgetBias. */
  readonly ablation?: { forgetBias: number; lag: number; runs: { cell: string; seed: number; accuracy: number; steps: number }[] };
}

const round = (v: number, d = 4) => (Number.isFinite(v) ? Number(v.toPrecision(d)) : v);

export function runExperiment(kernels: ReadonlyMap<string, Kernels<Float32Array>>, cfg: ExperimentConfig, log: (line: string) => void = () => {}): AgreementResults {
  const t0 = performance.now();
  const accuracy: AgreementResults['accuracy'] = [];
  const gradients: AgreementResults['gradients'] = [];
  const checkpoints = [0, Math.round(cfg.steps / 10), Math.round(cfg.steps / 2), cfg.steps];
  const distances = (T: number) => [...new Set([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, T - 1].filter((d) => d <= T - 1))];
  for (const name of cfg.cells) {
    const k = kernels.get(name);
    if (!k) throw new Error(`experiment: no kernels for cell '${name}'`);
    for (const lag of cfg.lags)
      for (const seed of cfg.seeds) {
        const t = performance.now();
        const measure = lag === cfg.gradientLag && seed === cfg.seeds[0];
        const r = trainAgreement(k, lag, cfg, seed, (step, model) => {
          gradients.push({ cell: name, lag, step, points: gradNormByDistance(model, lag, distances(lag + 2), 4242).map((p) => ({ distance: p.distance, norm: round(p.norm) })) });
        }, measure ? checkpoints : []);
        const seconds = (performance.now() - t) / 1000;
        accuracy.push({ cell: name, lag, seed, accuracy: round(r.accuracy), loss: round(r.loss), steps: r.history.length, seconds: round(seconds, 3) });
        log(`${name.padEnd(12)} lag ${String(lag).padStart(3)} seed ${seed}: accuracy ${r.accuracy.toFixed(3)}  loss ${r.loss.toFixed(4)}  ${r.history.length} steps  ${seconds.toFixed(1)} s`);
      }
  }
  let ablation: AgreementResults['ablation'];
  if (cfg.forgetBias !== undefined && cfg.forgetBias !== 1) {
    const lag = Math.max(...cfg.lags);
    const runs: NonNullable<AgreementResults['ablation']>['runs'] = [];
    for (const name of cfg.cells) {
      const k = kernels.get(name)!;
      if (!Object.values(k.cell.roles ?? {}).some((r) => r.startsWith('forget-bias'))) continue;
      const r = trainAgreement(k, lag, { ...cfg, forgetBias: 1 }, cfg.seeds[0]!);
      runs.push({ cell: name, seed: cfg.seeds[0]!, accuracy: round(r.accuracy), steps: r.history.length });
      log(`${name.padEnd(12)} lag ${String(lag).padStart(3)} keep-gate bias 1: accuracy ${r.accuracy.toFixed(3)}  ${r.history.length} steps`);
    }
    ablation = { forgetBias: 1, lag, runs };
  }
  const c = cfg.clipping;
  const ck = kernels.get(c.cell);
  if (!ck) throw new Error(`experiment: no kernels for cell '${c.cell}'`);
  const runs = clippingRuns(ck, { ...c, hidden: cfg.hidden, batch: cfg.batch, evalSize: cfg.evalSize }).map((r) => ({ ...r, points: r.points.map((p) => ({ step: p.step, loss: round(p.loss), gradNorm: round(p.gradNorm) })) }));
  for (const r of runs) log(`clipping ${r.clipped ? 'on ' : 'off'}: ${r.diverged ? 'diverged' : 'finished'} after ${r.points.length} steps, accuracy ${r.finalAccuracy.toFixed(3)}`);
  const seconds = (performance.now() - t0) / 1000;
  return {
    setup: { ...cfg, language: { singular: SINGULAR, plural: PLURAL, clause: CLAUSE, verbSlot: [VERB_SLOT] }, seconds: round(seconds, 3), machine: '' },
    accuracy,
    gradients,
    clipping: { cell: c.cell, lag: c.lag, runs },
    ablation,
  };
}
