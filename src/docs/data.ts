// Gathers the documentation site's content from compiled cells and their generated kernels.

import type { KernelModule } from '../check/kernels.js';
import { Random } from '../runtime/random.js';
import { measureVanishing } from '../check/vanishing.js';
import { type CompiledCell, exampleSizes } from '../derive/compile.js';
import { recurrentJacobian } from '../derive/jacobian.js';
import { polyEval, polyLatex } from '../ir/poly.js';
import { numel } from '../ir/shape.js';
import { cellLatex, jacobianLatex, timed } from '../emit/latex.js';
import { assembleSiteInput, VANISHING_CELLS, VANISHING_HIDDEN, VANISHING_LAGS } from './input.js';
import type { CellDoc, SiteInput, VanishingSeries } from './model.js';
import { cellFamily } from '../derive/roles.js';

export { assembleSiteInput, packageRoot, readmeSection, VANISHING_CELLS, VANISHING_LAGS } from './input.js';

/** One step at the example sizes with seeded weights, computed by the generated float64 kernel. */
function example(c: CompiledCell, mod: KernelModule, L: ReturnType<typeof cellLatex>): CellDoc['example'] {
  const sizes = exampleSizes(c.spec);
  const rng = new Random(2024);
  const round = (v: ArrayLike<number>) => Array.from(v, (x) => Math.round(x * 1e4) / 1e4);
  const params = Object.fromEntries(c.cell.params.map((p) => [p.name, Float64Array.from(rng.array(numel(p.shape, sizes), 0.5), (v) => Math.round(v * 100) / 100)]));
  // Every input of the cell gets one step of values (a cell may read several inputs).
  const xs = Object.fromEntries(c.cell.inputs.map((x) => [x.name, Float64Array.from(rng.array(numel(x.shape, sizes), 1), (v) => Math.round(v * 100) / 100)]));
  const init = Object.fromEntries(c.cell.prev.map((s) => [s.name, Float64Array.from(rng.array(numel(s.shape, sizes), 0.5), (v) => Math.round(v * 100) / 100)]));
  const fw = mod.f64.forward(sizes, params, xs, { steps: 1, batch: 1, init });
  const tables = [
    ...c.cell.inputs.map((x) => ({ name: x.name, latexName: timed(L.symbol(x.name), 't'), values: round(xs[x.name]!) })),
    ...c.cell.prev.map((s) => ({ name: `${s.name}_prev`, latexName: timed(L.symbol(s.name), 't-1'), values: round(init[s.name]!) })),
    ...c.cell.prev.map((s) => ({ name: s.name, latexName: timed(L.symbol(s.name), 't'), values: round(fw.states[s.name]!) })),
  ];
  const shown = c.cell.params.slice(0, 2).map((p) => `${p.name} = [${Array.from(params[p.name]!.slice(0, 4)).join(', ')}${params[p.name]!.length > 4 ? ', …' : ''}]`).join('; ');
  return { title: `One step at the example sizes (${c.spec.sizes.map((s) => `${s.name} = ${s.example}`).join(', ')}), weights drawn from a seeded generator and rounded to 0.01 (${shown}); computed by generated/ts/${c.spec.name}.ts in float64.`, tables };
}

/** The documentation of one cell: equations, costs and a worked step computed by its kernel. */
export function cellDoc(c: CompiledCell, mod: KernelModule, tapeBytes: number, sources: { ts?: string; tex?: string } = {}): CellDoc {
  const L = cellLatex(c);
  const sizes = exampleSizes(c.spec);
  const sym = Object.fromEntries(c.spec.sizes.map((s) => [s.name, s.symbol]));
  return {
    name: c.spec.name,
    title: c.spec.title,
    description: c.spec.description,
    references: [...c.spec.references],
    specSource: c.spec.source,
    sizes: c.spec.sizes.map((s) => ({ name: s.name, symbol: s.symbol, example: s.example })),
    paramCount: { formula: polyLatex(c.cost.params, sym), example: polyEval(c.cost.params, sizes) },
    ops: { forward: polyEval(c.cost.forward.total, sizes), backward: polyEval(c.cost.backward.total, sizes) },
    savedBytesPerStep: tapeBytes,
    forward: L.forward.map((e) => ({ ...e })),
    backward: L.backward.map((e) => ({ ...e })),
    gradients: L.gradients.map((e) => ({ ...e })),
    jacobian: jacobianLatex(c, recurrentJacobian(c.cell, c.bw)),
    example: example(c, mod, L),
    // The generated files are shown inside the site (code/<file>.html), never linked outside it.
    kernels: [
      ...(sources.ts ? [{ label: `TypeScript: ts/${c.spec.name}.ts`, href: `code/${c.spec.name}.ts.html` }] : []),
      ...(sources.tex ? [{ label: `LaTeX: latex/${c.spec.name}.tex`, href: `code/${c.spec.name}.tex.html` }] : []),
    ],
    family: cellFamily(c.cell),
    legend: L.legend.map((l) => ({ ...l })),
    code: [
      ...(sources.ts ? [{ label: `generated/ts/${c.spec.name}.ts`, file: `${c.spec.name}.ts`, text: sources.ts }] : []),
      ...(sources.tex ? [{ label: `generated/latex/${c.spec.name}.tex`, file: `${c.spec.name}.tex`, text: sources.tex }] : []),
    ],
  };
}

/** The measured vanishing-gradient curve of a cell, for the cells the figure shows (else undefined). */
export function vanishingSeries(c: CompiledCell, mod: KernelModule): VanishingSeries | undefined {
  if (!(VANISHING_CELLS as readonly string[]).includes(c.spec.name)) return undefined;
  const points = measureVanishing(c, mod, { hidden: VANISHING_HIDDEN, input: 8, lags: VANISHING_LAGS, seed: 7 });
  return { cell: c.spec.name, points: points.map((p) => ({ lag: p.lag, norm: Number(p.norm.toPrecision(6)) })) };
}

export function siteInput(cells: readonly CompiledCell[], modules: ReadonlyMap<string, KernelModule>, tapeBytes: ReadonlyMap<string, number>, sources: ReadonlyMap<string, { ts?: string; tex?: string }> = new Map()): SiteInput {
  const docs = cells.map((c) => cellDoc(c, modules.get(c.spec.name)!, tapeBytes.get(c.spec.name)!, sources.get(c.spec.name)));
  const curves = cells.flatMap((c) => vanishingSeries(c, modules.get(c.spec.name)!) ?? []);
  return assembleSiteInput(docs, curves);
}
