// Gathers the documentation site's content from compiled cells and their generated kernels.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelModule } from '../check/kernels.js';
import { Rng } from '../check/random.js';
import { measureVanishing } from '../check/vanishing.js';
import { type CompiledCell, exampleSizes } from '../derive/compile.js';
import { recurrentJacobian } from '../derive/jacobian.js';
import { polyEval, polyLatex } from '../ir/poly.js';
import { numel } from '../ir/shape.js';
import { cellLatex, jacobianLatex, timed } from '../emit/latex.js';
import { cellFamily } from '../derive/roles.js';
import type { AgreementDoc, CellDoc, SiteInput } from './model.js';

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

/** One step at the example sizes with seeded weights, computed by the generated float64 kernel. */
function example(c: CompiledCell, mod: KernelModule, L: ReturnType<typeof cellLatex>): CellDoc['example'] {
  const sizes = exampleSizes(c.spec);
  const rng = new Rng(2024);
  const round = (v: ArrayLike<number>) => Array.from(v, (x) => Math.round(x * 1e4) / 1e4);
  const params = Object.fromEntries(c.cell.params.map((p) => [p.name, Float64Array.from(rng.array(numel(p.shape, sizes), 0.5), (v) => Math.round(v * 100) / 100)]));
  const x = Float64Array.from(rng.array(numel(c.cell.inputs[0]!.shape, sizes), 1), (v) => Math.round(v * 100) / 100);
  const init = Object.fromEntries(c.cell.prev.map((s) => [s.name, Float64Array.from(rng.array(numel(s.shape, sizes), 0.5), (v) => Math.round(v * 100) / 100)]));
  const fw = mod.f64.forward(sizes, params, { [c.cell.inputs[0]!.name]: x }, { steps: 1, batch: 1, init });
  const tables = [
    { name: c.cell.inputs[0]!.name, latexName: timed(L.symbol(c.cell.inputs[0]!.name), 't'), values: round(x) },
    ...c.cell.prev.map((s) => ({ name: `${s.name}_prev`, latexName: timed(L.symbol(s.name), 't-1'), values: round(init[s.name]!) })),
    ...c.cell.prev.map((s) => ({ name: s.name, latexName: timed(L.symbol(s.name), 't'), values: round(fw.states[s.name]!) })),
  ];
  const shown = c.cell.params.slice(0, 2).map((p) => `${p.name} = [${Array.from(params[p.name]!.slice(0, 4)).join(', ')}${params[p.name]!.length > 4 ? ', …' : ''}]`).join('; ');
  return { title: `One step at the example sizes (${c.spec.sizes.map((s) => `${s.name} = ${s.example}`).join(', ')}), weights drawn from a seeded generator and rounded to 0.01 (${shown}); computed by generated/ts/${c.spec.name}.ts in float64.`, tables };
}

export const VANISHING_CELLS = ['rnn-tanh', 'gru', 'lstm'] as const;
export const VANISHING_LAGS = [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64] as const;

/** The committed agreement results (experiments/agreement.json), when present. */
export function agreementResults(): AgreementDoc | undefined {
  const p = join(packageRoot(), 'experiments', 'agreement.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as AgreementDoc) : undefined;
}

export function siteInput(cells: readonly CompiledCell[], modules: ReadonlyMap<string, KernelModule>, tapeBytes: ReadonlyMap<string, number>, sources: ReadonlyMap<string, { ts: string; tex: string }> = new Map()): SiteInput {
  const docs: CellDoc[] = cells.map((c) => {
    const L = cellLatex(c);
    const sizes = exampleSizes(c.spec);
    const sym = Object.fromEntries(c.spec.sizes.map((s) => [s.name, s.symbol]));
    const mod = modules.get(c.spec.name)!;
    return {
      name: c.spec.name,
      title: c.spec.title,
      description: c.spec.description,
      references: [...c.spec.references],
      specSource: c.spec.source,
      sizes: c.spec.sizes.map((s) => ({ name: s.name, symbol: s.symbol, example: s.example })),
      paramCount: { formula: polyLatex(c.cost.params, sym), example: polyEval(c.cost.params, sizes) },
      ops: { forward: polyEval(c.cost.forward.total, sizes), backward: polyEval(c.cost.backward.total, sizes) },
      savedBytesPerStep: tapeBytes.get(c.spec.name)!,
      forward: L.forward.map((e) => ({ ...e })),
      backward: L.backward.map((e) => ({ ...e })),
      gradients: L.gradients.map((e) => ({ ...e })),
      jacobian: jacobianLatex(c, recurrentJacobian(c.cell, c.bw)),
      example: example(c, mod, L),
      kernels: [
        { label: `TypeScript: ts/${c.spec.name}.ts`, href: `code/${c.spec.name}.ts.html` },
        { label: `LaTeX: latex/${c.spec.name}.tex`, href: `code/${c.spec.name}.tex.html` },
      ],
      family: cellFamily(c.cell),
      legend: L.legend.map((l) => ({ ...l })),
      code: [
        { label: `generated/ts/${c.spec.name}.ts`, file: `${c.spec.name}.ts`, text: sources.get(c.spec.name)?.ts ?? '' },
        { label: `generated/latex/${c.spec.name}.tex`, file: `${c.spec.name}.tex`, text: sources.get(c.spec.name)?.tex ?? '' },
      ].filter((f) => f.text !== ''),
    };
  });
  const hidden = 32;
  const vanishing = VANISHING_CELLS.filter((n) => modules.has(n)).map((n) => ({
    cell: n,
    points: measureVanishing(cells.find((c) => c.spec.name === n)!, modules.get(n)!, { hidden, input: 8, lags: VANISHING_LAGS, seed: 7 }).map((p) => ({ lag: p.lag, norm: Number(p.norm.toPrecision(6)) })),
  }));
  const bench = join(packageRoot(), 'bench', 'results.md');
  return {
    cells: docs,
    vanishing,
    vanishingSetup: `Measured with the generated float64 kernels: hidden size ${hidden}, input size 8, weights uniform in ±1/√${hidden} (seed 7), one random input sequence and initial state. For each lag k the kernel runs k steps and the backward is seeded with dL/dh_k = e_i in batch row i, so the returned dL/ds_0 rows form ∂h_k/∂s_0; the plot shows its Frobenius norm (for the LSTM over both h and c).`,
    specFormatMarkdown: readmeSection('Spec format'),
    benchmarkMarkdown: existsSync(bench) ? readFileSync(bench, 'utf8') : undefined,
    agreement: agreementResults(),
  };
}
