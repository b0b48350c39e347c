// The build: every cell through derivation, every emitter and the numeric checks, into one file tree.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Project, ts } from 'ts-morph';
import { gradCheck, randomProblem } from '../check/gradcheck.js';
import { checkKernels, importTs, type KernelModule } from '../check/kernels.js';
import { siteInput } from '../docs/data.js';
import { writeSite } from '../docs/site.js';
import { type CompiledCell, compileCell, exampleSizes } from '../derive/compile.js';
import { polyEval, polyLatex } from '../ir/poly.js';
import { evalDim } from '../ir/shape.js';
import { cellLatex, latexDocument } from '../emit/latex.js';
import { emitTsModule } from '../emit/ts/module.js';
import { emitWgsl } from '../emit/wgsl/index.js';
import { Diagnostic } from '../spec/diagnostic.js';
import { type FileTree, listFiles } from './files.js';

export const COMMAND = 'cellgen build';

export interface BuildOptions {
  readonly cellsDir: string;
  readonly only?: readonly string[];
  /** Run the numeric checks (gradient check, kernels against the reference). */
  readonly verify: boolean;
  /** Build the documentation site (generated/docs). */
  readonly docs: boolean;
  readonly log: (line: string) => void;
}

export interface CellReport {
  readonly name: string;
  readonly params: number;
  readonly paramsFormula: string;
  readonly forwardFlops: number;
  readonly backwardFlops: number;
  readonly savedBytes: number;
  readonly gradCheck?: number;
  readonly kernelF64?: number;
  readonly kernelF32?: number;
  readonly ms: number;
}

export interface BuildResult {
  readonly tree: FileTree;
  readonly reports: CellReport[];
  readonly cells: CompiledCell[];
  /** Paths owned by the selected cells (all paths when no --only). */
  readonly owns: (path: string) => boolean;
}

/** Limits the numeric checks must meet for a build to succeed. */
export const LIMITS = { gradCheck: 1e-6, kernelF64: 1e-9, kernelF32: 1e-3 } as const;

export function specFiles(cellsDir: string): string[] {
  return readdirSync(cellsDir).filter((f) => f.endsWith('.cell.yaml')).sort().map((f) => join(cellsDir, f));
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const files = specFiles(opts.cellsDir);
  if (files.length === 0) throw new Diagnostic(`no *.cell.yaml files in ${opts.cellsDir}`, undefined, "create one with 'cellgen new <name>'");
  const names = files.map((f) => basename(f).replace(/\.cell\.yaml$/, ''));
  for (const o of opts.only ?? []) if (!names.includes(o)) throw new Diagnostic(`--only names '${o}', which is not a cell in ${opts.cellsDir}`, undefined, `cells: ${names.join(', ')}`);
  const selected = (n: string) => !opts.only || opts.only.includes(n);
  const tree: FileTree = new Map();
  const reports: CellReport[] = [];
  const cells: CompiledCell[] = [];
  const tsFiles: { path: string; text: string }[] = [];
  const modules = new Map<string, KernelModule>();
  const tapeBytes = new Map<string, number>();
  let i = 0;
  for (const file of files) {
    const rel = file.split('\\').join('/');
    const c = compileCell(readFileSync(file, 'utf8'), rel);
    cells.push(c);
    if (!selected(c.spec.name)) continue;
    i++;
    const t0 = performance.now();
    opts.log(`[${i}/${opts.only?.length ?? files.length}] ${c.spec.name}: derived; emitting`);
    const L = cellLatex(c);
    tree.set(`latex/${c.spec.name}.tex`, latexDocument(c, L));
    const mod = emitTsModule(c, COMMAND);
    tree.set(`ts/${c.spec.name}.ts`, mod.text);
    tsFiles.push({ path: `ts/${c.spec.name}.ts`, text: mod.text });
    const wgsl = emitWgsl(c, { command: COMMAND });
    tree.set(`wgsl/${c.spec.name}.forward.wgsl`, wgsl.shaders.forward);
    tree.set(`wgsl/${c.spec.name}.backward.wgsl`, wgsl.shaders.backward);
    tree.set(`wgsl/${c.spec.name}.ts`, wgsl.module);
    const sizes = exampleSizes(c.spec);
    tapeBytes.set(c.spec.name, 4 * mod.tapeFloats.reduce((s, d) => s + evalDim(d, sizes), 0));
    if (opts.verify || opts.docs) modules.set(c.spec.name, await importTs(mod.text));
    let gc: number | undefined;
    let k: { f64: number; f32: number } | undefined;
    if (opts.verify) {
      opts.log(`[${i}/${opts.only?.length ?? files.length}] ${c.spec.name}: checking gradients and kernels`);
      const p = randomProblem(c, { steps: 6, batch: 2, seed: 1 });
      gc = Math.max(...gradCheck(c, p).map((e) => e.maxRelErr));
      k = checkKernels(c, modules.get(c.spec.name)!, { steps: 5, batch: 3, seed: 2, sizes: Object.fromEntries(c.spec.sizes.map((s, j) => [s.name, 3 + 2 * j])) });
      if (!(gc <= LIMITS.gradCheck)) throw new Error(`${c.spec.name}: gradient check failed, relative error ${gc.toExponential(2)} > ${LIMITS.gradCheck}`);
      if (!(k.f64 <= LIMITS.kernelF64 && k.f32 <= LIMITS.kernelF32)) throw new Error(`${c.spec.name}: generated kernels disagree with the reference (f64 ${k.f64.toExponential(2)}, f32 ${k.f32.toExponential(2)} in ${'worst'})`);
    }
    const sym = Object.fromEntries(c.spec.sizes.map((s) => [s.name, s.symbol]));
    reports.push({
      name: c.spec.name,
      params: polyEval(c.cost.params, sizes),
      paramsFormula: polyLatex(c.cost.params, sym),
      forwardFlops: polyEval(c.cost.forward.total, sizes),
      backwardFlops: polyEval(c.cost.backward.total, sizes),
      savedBytes: tapeBytes.get(c.spec.name)!,
      gradCheck: gc,
      kernelF64: k?.f64,
      kernelF32: k?.f32,
      ms: performance.now() - t0,
    });
  }
  const index = cells.map((c) => `export * as ${camel(c.spec.name)} from './${c.spec.name}.js';`).join('\n');
  tree.set('ts/index.ts', `// Every generated cell module; generated by \`${COMMAND}\`, do not edit.\n${index}\n`);
  typeCheck([...tsFiles, { path: 'ts/index.ts', text: tree.get('ts/index.ts') as string }], cells.filter((c) => !selected(c.spec.name)).map((c) => c.spec.name));
  if (opts.docs) {
    opts.log('docs: measuring gradients and rendering the site');
    // The site is built from every cell; with --only, unselected cells' kernels are loaded too.
    const sources = new Map<string, { ts: string; tex: string }>();
    for (const c of cells) {
      const tex = tree.get(`latex/${c.spec.name}.tex`);
      const ts = tree.get(`ts/${c.spec.name}.ts`);
      if (typeof tex === 'string' && typeof ts === 'string') sources.set(c.spec.name, { ts, tex });
      if (modules.has(c.spec.name)) continue;
      const m = emitTsModule(c, COMMAND);
      sources.set(c.spec.name, { ts: m.text, tex: latexDocument(c, cellLatex(c)) });
      modules.set(c.spec.name, await importTs(m.text));
      tapeBytes.set(c.spec.name, 4 * m.tapeFloats.reduce((s, d) => s + evalDim(d, exampleSizes(c.spec)), 0));
    }
    const dir = mkdtempSync(join(tmpdir(), 'cellgen-docs-'));
    try {
      await writeSite(siteInput(cells, modules, tapeBytes, sources), dir);
      for (const p of listFiles(dir)) tree.set(`docs/${p}`, new Uint8Array(readFileSync(join(dir, p))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const owned = new Set(cells.filter((c) => selected(c.spec.name)).map((c) => c.spec.name));
  const owns = (path: string): boolean => {
    if (!opts.only) return true;
    const m = /^(?:latex|ts|wgsl)\/([a-z0-9-]+)[./]/.exec(path);
    return m ? owned.has(m[1]!) : true;
  };
  return { tree, reports, cells, owns };
}

export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Type-checks emitted TypeScript under strict mode with ts-morph; any error is a bug in an emitter. */
export function typeCheck(files: { path: string; text: string }[], stubs: string[] = []): void {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, lib: ['lib.es2023.d.ts'], noEmit: true },
  });
  for (const f of files) project.createSourceFile(`/g/${f.path}`, f.text);
  for (const s of stubs) project.createSourceFile(`/g/ts/${s}.ts`, 'export {};');
  const diags = project.getPreEmitDiagnostics();
  if (diags.length) throw new Error(`generated TypeScript does not type-check:\n${project.formatDiagnosticsWithColorAndContext(diags.slice(0, 5))}`);
}
