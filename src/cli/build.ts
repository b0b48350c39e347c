// `cellgen build`: runs the build, shows progress, prints the table, writes or checks the output folder.

import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { build, type CellReport, LIMITS, specFiles } from '../build/build.js';
import { defaultCacheDir } from '../build/cache.js';
import { diffTree, writeTreeAtomically } from '../build/files.js';
import { manifestFile, OutputManifest } from '../build/manifest.js';
import type { BuildFlags } from './main.js';
import { checkOutDir } from './paths.js';
import { Diagnostic } from '../spec/diagnostic.js';
import { progressReporter } from './progress.js';
import { trace } from '../text/trace.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

function table(reports: readonly CellReport[]): string {
  const head = ['cell', 'params', 'formula', 'flops fwd/step', 'flops bwd/step', 'saved B/step', 'grad-check err', 'kernel err f64', 'kernel err f32', 'time'];
  const rows = reports.map((r) => [
    r.name, String(r.params), r.paramsFormula.replace(/[{}]/g, '').replace(/\^2/g, '²'), String(r.forwardFlops), String(r.backwardFlops), String(r.savedBytes),
    r.gradCheck === undefined ? '-' : r.gradCheck.toExponential(1), r.kernelF64 === undefined ? '-' : r.kernelF64.toExponential(1),
    r.kernelF32 === undefined ? '-' : r.kernelF32.toExponential(1), r.cached ? 'cached' : `${(r.ms / 1000).toFixed(2)} s`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** The number of specs in the cells folder (0 when there is none: the build reports that). */
function specCount(dir: string): number {
  try {
    return specFiles(dir).length;
  } catch {
    return 0;
  }
}

export async function runBuild(o: BuildFlags): Promise<number> {
  // A build calls binaryen (the WebAssembly builder: 10 MB of wasm) briefly per cell, and the kernels it checks run
  // once on tiny sizes: V8's baseline wasm compiler only. Tiering up binaryen's hot functions cost more CPU than it
  // saved (measured: -0.2 s CPU for a one-cell rebuild, -0.3 s cold). Set before binaryen loads; only this command.
  setFlagsFromString('--liftoff-only');
  // Likewise for JavaScript: a build runs most of its code (the compiler, each cell's new kernels, KaTeX) briefly, and
  // V8's optimizing compiler (TurboFan, on background threads) cost more than it saved: a cold build of the 14 shipped
  // cells took ~30 % less CPU with the baseline tiers only (Ignition, Sparkplug), a one-cell rebuild the same. Worker
  // threads inherit the flag. Not for --typecheck (TypeScript's checker runs long and hot) nor for projects of many
  // cells (the compiler's code gets hot; measured only up to 14); CELLGEN_BUILD_OPT=1 leaves TurboFan on.
  if (!process.env.CELLGEN_BUILD_OPT && !o.typecheck && specCount(o.cells) <= 32) setFlagsFromString('--max-opt=1');
  const only = o.only?.split(',').map((s) => s.trim()).filter(Boolean);
  if (only?.length === 0) throw new Diagnostic('--only names no cell', undefined, 'pass cell names separated by commas, e.g. --only gru,lstm');
  if (!o.check) checkOutDir(o.out, o.cells);
  const progress = progressReporter(process.stderr);
  let result;
  try {
    result = await build({
      cellsDir: o.cells,
      only,
      verify: o.verify && !o.check,
      docs: o.docs,
      cacheDir: o.cache ? defaultCacheDir() : undefined,
      typecheck: o.typecheck,
      log: progress.log,
      progress: progress.update,
    });
  } finally {
    progress.stop();
  }
  if (o.check) {
    const d = diffTree(result.tree, o.out, result.owns);
    const bad = [...d.changed.map((p) => `changed: ${p}`), ...d.missing.map((p) => `missing: ${p}`), ...d.extra.map((p) => `stale:   ${p}`)];
    if (bad.length) {
      err(`error: ${o.out} differs from a fresh build:`);
      for (const b of bad) err(`  ${join(o.out, b.slice(9))} (${b.slice(0, 7).trim()})`);
      err(`  = hint: run 'cellgen build' and commit ${o.out}`);
      return 1;
    }
    out(`${o.out} is up to date (${result.tree.size} files)`);
    return 0;
  }
  // What the last build wrote here (kept with the build cache): unchanged files are known by their stats, not read.
  const manifest = o.cache ? new OutputManifest(manifestFile(defaultCacheDir(), o.out), o.out) : undefined;
  writeTreeAtomically(result.tree, o.out, (p) => !result.owns(p), manifest);
  trace('output written');
  out(table(result.reports));
  out(`\nwrote ${result.tree.size} files to ${o.out}${o.verify ? ` (checks: gradient ≤ ${LIMITS.gradCheck}, kernels f64 ≤ ${LIMITS.kernelF64}, f32 ≤ ${LIMITS.kernelF32})` : ''}`);
  return 0;
}
