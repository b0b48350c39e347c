// The documentation site's input assembled from per-cell parts (light: no compiler modules, so a
// cached build can reuse every cell's documentation without loading mathjs or the emitters).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgreementDoc, CellDoc, SiteInput, VanishingSeries } from './model.js';

/** The package root (where README.md and bench/ live), found from this module's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** A section of README.md, from its heading to the next heading of the same level. */
export function readmeSection(title: string): string | undefined {
  const p = join(packageRoot(), 'README.md');
  if (!existsSync(p)) return undefined;
  const text = readFileSync(p, 'utf8');
  const start = text.indexOf(`\n## ${title}\n`);
  if (start < 0) return undefined;
  const end = text.indexOf('\n## ', start + 4);
  return text.slice(start + 1, end < 0 ? undefined : end).trim();
}

/** Walks up from this module so the same code finds templates/ from src/ (tsx, vitest) and from dist/src/. */
export function findTemplatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'templates', 'docs');
    if (existsSync(join(candidate, 'layout.hbs'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('docs: cannot find templates/docs/layout.hbs above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const VANISHING_CELLS = ['rnn-tanh', 'gru', 'lstm'] as const;
export const VANISHING_LAGS = [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64] as const;

export const VANISHING_HIDDEN = 32;

/** The curves the vanishing figure shows, in VANISHING_CELLS order. */
export function vanishingOf(curves: readonly VanishingSeries[]): VanishingSeries[] {
  return VANISHING_CELLS.flatMap((n) => curves.filter((v) => v.cell === n));
}

/** The site's input from the cells' documentation and curves (in VANISHING_CELLS order). */
export function assembleSiteInput(docs: CellDoc[], curves: readonly VanishingSeries[]): SiteInput {
  const hidden = VANISHING_HIDDEN;
  const vanishing = vanishingOf(curves);
  const bench = join(packageRoot(), 'bench', 'results.md');
  return {
    cells: docs,
    vanishing,
    vanishingSetup: `Measured with the generated WebAssembly SIMD kernels (float32): hidden size ${hidden}, input size 8, weights uniform in ±1/√${hidden} (seed 7), one random input sequence and initial state. The plot shows the Frobenius norm of ∂h_k/∂s_0 against the lag k (for the LSTM over both h and c): between consecutive lags j < k the kernel runs the k − j steps from the trajectory's state s_j with one batch row per state component, and the backward, seeded with dL/ds_k = e_i in batch row i, returns the rows of ∂s_k/∂s_j; their product over the segments, accumulated in float64, is ∂s_k/∂s_0. The same product on the float64 kernels gives norms within a relative 10⁻⁶ of these at every lag (measured: at most 3·10⁻⁷).`,
    specFormatMarkdown: readmeSection('Spec format'),
    benchmarkMarkdown: existsSync(bench) ? readFileSync(bench, 'utf8') : undefined,
    agreement: agreementResults(),
  };
}

/** The committed results of `cellgen experiment agreement` (experiments/agreement.json), when present. */
export function agreementResults(): AgreementDoc | undefined {
  const p = join(packageRoot(), 'experiments', 'agreement.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as AgreementDoc) : undefined;
}

