// The training loop: batches in, optimizer steps out, with clipping, truncation and a progress line.

import { runStack } from './layers.js';
import { gradList, namedParams, type Optimizer } from './optim.js';
import { type Batch, clipByGlobalNorm, clipByValue, type LossAndGradients, lossAndGradients, type Model, softmaxCrossEntropy, truncatedLossAndGradients } from './train.js';
import type { Arr } from './types.js';

export interface StepInfo {
  readonly step: number;
  /** Mean cross-entropy per counted target of this step's batch. */
  readonly loss: number;
  /** Fraction of counted targets whose argmax class was right. */
  readonly accuracy: number;
  /** Global L2 norm of the (mean) gradient before clipping. */
  readonly gradNorm: number;
  readonly stepsPerSecond: number;
}

export interface FitOptions<A extends Arr> {
  readonly model: Model<A>;
  readonly optimizer: Optimizer;
  /** The batch of step s (0-based); draw it from a seeded generator for a reproducible run. */
  readonly data: (step: number) => Batch<A>;
  readonly steps: number;
  /** Clip the mean gradient by global norm, or each element by value, before the update. */
  readonly clip?: { readonly norm?: number; readonly value?: number };
  /** Truncated BPTT(k1, k2) instead of full BPTT. */
  readonly truncation?: { readonly k1: number; readonly k2: number };
  /** Called after every step; return 'stop' to end early. */
  readonly onStep?: (info: StepInfo) => void | 'stop';
  /** Where the progress line goes: a function, or true for stderr; off when absent. */
  readonly progress?: boolean | ((line: string) => void);
  /** Steps between progress lines (default 10). */
  readonly every?: number;
  /** Label in front of the progress line. */
  readonly label?: string;
}

export const formatProgress = (label: string, info: StepInfo, steps: number): string =>
  `${label ? `${label} ` : ''}step ${String(info.step + 1).padStart(String(steps).length)}/${steps}  loss ${info.loss.toFixed(4)}  acc ${info.accuracy.toFixed(3)}  |g| ${info.gradNorm.toPrecision(3)}  ${info.stepsPerSecond.toFixed(1)} steps/s`;

function progressSink(p: FitOptions<Arr>['progress']): ((line: string, last: boolean) => void) | undefined {
  if (!p) return undefined;
  if (typeof p === 'function') return (line) => p(line);
  const tty = !!(globalThis as { process?: { stderr?: { isTTY?: boolean } } }).process?.stderr?.isTTY;
  const err = (globalThis as unknown as { process: { stderr: { write(s: string): void } } }).process.stderr;
  return (line, last) => err.write(tty ? `\r${line}${last ? '\n' : ''}` : `${line}\n`);
}

/** One optimizer step on one batch; the summed loss's gradient is divided by the number of targets. */
export function trainStep<A extends Arr>(o: Pick<FitOptions<A>, 'model' | 'optimizer' | 'clip' | 'truncation'>, batch: Batch<A>): LossAndGradients<A> & { gradNorm: number } {
  const r = o.truncation ? truncatedLossAndGradients(o.model, batch, o.truncation.k1, o.truncation.k2) : lossAndGradients(o.model, batch);
  const grads = gradList(o.model, r.grads);
  const n = Math.max(1, r.count);
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) (g[i] /= n), (ss += g[i]! * g[i]!);
  const gradNorm = Math.sqrt(ss);
  if (o.clip?.value !== undefined) clipByValue(grads, o.clip.value);
  if (o.clip?.norm !== undefined) clipByGlobalNorm(grads, o.clip.norm);
  o.optimizer.step(namedParams(o.model).map(([, a]) => a), grads);
  return { ...r, gradNorm };
}

/** Runs `steps` optimizer steps; returns every step's figures. */
export function fit<A extends Arr>(o: FitOptions<A>): StepInfo[] {
  if (!(Number.isInteger(o.steps) && o.steps >= 0)) throw new Error(`steps must be a non-negative integer, got ${o.steps}`);
  const sink = progressSink(o.progress as FitOptions<Arr>['progress']);
  const every = o.every ?? 10;
  const history: StepInfo[] = [];
  const t0 = performance.now();
  for (let s = 0; s < o.steps; s++) {
    const r = trainStep(o, o.data(s));
    const elapsed = (performance.now() - t0) / 1000;
    const info: StepInfo = { step: s, loss: r.loss / Math.max(1, r.count), accuracy: r.count ? r.correct / r.count : 0, gradNorm: r.gradNorm, stepsPerSecond: (s + 1) / Math.max(elapsed, 1e-9) };
    history.push(info);
    const stop = o.onStep?.(info) === 'stop';
    if (sink && ((s + 1) % every === 0 || s === o.steps - 1 || stop)) sink(formatProgress(o.label ?? '', info, o.steps), s === o.steps - 1 || stop);
    if (stop) break;
  }
  return history;
}

/** Loss and accuracy of a model on a batch, without updating it. */
export function evaluate<A extends Arr>(model: Model<A>, batch: Batch<A>): { loss: number; accuracy: number; count: number } {
  const runs = runStack(model.layers, batch.x, batch);
  const r = softmaxCrossEntropy(runs[runs.length - 1]!.out, model.readout, batch, batch.targets);
  return { loss: r.loss / Math.max(1, r.count), accuracy: r.count ? r.correct / r.count : 0, count: r.count };
}
