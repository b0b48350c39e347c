// `cellgen experiment agreement`: loads the generated kernels, runs the experiment, writes its JSON.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { importTs } from '../check/kernels.js';
import { Diagnostic } from '../spec/diagnostic.js';
import { DEFAULT_EXPERIMENT, type ExperimentConfig, QUICK_EXPERIMENT, runExperiment } from '../experiment/run.js';
import type { Kernels } from '../runtime/index.js';

export interface ExperimentCliOptions {
  readonly out: string;
  readonly kernels: string;
  readonly quick?: boolean;
  readonly cells?: string;
  readonly lags?: string;
  readonly steps?: string;
  readonly seeds?: string;
}

const ints = (what: string, s: string): number[] =>
  s.split(',').map((v) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < 0) throw new Diagnostic(`--${what} takes comma-separated non-negative integers, got '${v.trim()}'`);
    return n;
  });

export async function runAgreement(o: ExperimentCliOptions, log: (s: string) => void): Promise<string> {
  let cfg: ExperimentConfig = o.quick ? QUICK_EXPERIMENT : DEFAULT_EXPERIMENT;
  if (o.cells) cfg = { ...cfg, cells: o.cells.split(',').map((s) => s.trim()).filter(Boolean) };
  if (o.lags) {
    const lags = ints('lags', o.lags);
    cfg = { ...cfg, lags, gradientLag: lags.includes(cfg.gradientLag) ? cfg.gradientLag : lags[Math.floor(lags.length / 2)]! };
  }
  if (o.steps) cfg = { ...cfg, steps: ints('steps', o.steps)[0]! };
  if (o.seeds) cfg = { ...cfg, seeds: ints('seeds', o.seeds) };
  const kernels = new Map<string, Kernels<Float32Array>>();
  for (const name of new Set([...cfg.cells, cfg.clipping.cell])) {
    const file = resolve(o.kernels, `${name}.ts`);
    if (!existsSync(file)) throw new Diagnostic(`no kernels for cell '${name}': ${file} does not exist`, undefined, `build it with 'cellgen build' or drop it from --cells`);
    // The CLI runs compiled JavaScript: the kernel module is transpiled in memory, as the build's checks do.
    const mod = (await importTs(readFileSync(file, 'utf8'))) as unknown as { f32: Kernels<Float32Array> };
    kernels.set(name, mod.f32);
  }
  const results = runExperiment(kernels, cfg, log);
  const withMachine = { ...results, setup: { ...results.setup, machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}` } };
  mkdirSync(dirname(resolve(o.out)), { recursive: true });
  const tmp = `${o.out}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(withMachine, null, 1)}\n`);
  renameSync(tmp, o.out);
  return `wrote ${o.out} (${results.accuracy.length} training runs in ${results.setup.seconds.toFixed(0)} s)`;
}
