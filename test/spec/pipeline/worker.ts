// Worker of the pipeline property test: runs each spec through reading, lowering, derivation, the TS (f32/f64 and
// WebAssembly glue), WGSL and LaTeX printers and KaTeX, and reports whether it ended in success, in a positioned
// Diagnostic, or in anything else (a bug).
//
// Every spec that the reader accepts is printed and checked; work is shared only where the inputs are identical:
// an identical spec text is checked once, KaTeX renders each distinct formula once, and the WebAssembly module and
// its glue (which read the cell's names and equations, not its prose) are printed once per distinct structure.

import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import katex from 'katex';
import { transformSync } from 'esbuild';
import { type CompiledCell, compileCell } from '../../../src/derive/compile.js';
import { cellLatex, latexDocument } from '../../../src/emit/latex.js';
import { emitTsModule } from '../../../src/emit/ts/module.js';
import { wasmGlue } from '../../../src/emit/wasm/glue.js';
import { emitWasm } from '../../../src/emit/wasm/module.js';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { Diagnostic, formatDiagnostic } from '../../../src/spec/diagnostic.js';

export interface Job {
  readonly index: number;
  readonly file: string;
  readonly text: string;
}
export interface Outcome {
  readonly index: number;
  readonly result: 'built' | 'diagnostic' | 'bug';
  readonly detail?: string;
  /** For a built spec: what was checked (shared work counts where it was done first). */
  readonly checked?: { readonly ts: boolean; readonly wgsl: boolean; readonly latex: boolean; readonly formulas: number };
}

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
const outcomes = new Map<string, Omit<Outcome, 'index'>>();
const renderedFormulas = new Set<string>();
const printedWasm = new Set<string>();

/**
 * undefined when `text` parses as TypeScript. esbuild parses the whole module (types included, strict-mode rules of
 * an ES module included); measured at about half the time of typescript's createSourceFile on these modules.
 */
function parses(text: string): string | undefined {
  try {
    transformSync(text, { loader: 'ts', format: 'esm' });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message.slice(0, 500) : String(e);
  }
}

/** Everything of a spec the WebAssembly printer reads (names, shapes, equations), none of its prose. */
function structureKey(c: CompiledCell): string {
  const { spec } = c;
  return JSON.stringify([spec.name, spec.sizes.map((s) => [s.name, s.example]), [spec.inputs, spec.state, spec.params].map((ts) => ts.map((x) => [x.name, x.shape])),
    spec.equations.map((e) => [e.name, e.expr.text]), spec.activations.map((a) => [a.name, a.param, a.expr.text]), spec.output, spec.readout?.classes]);
}

function printAll(c: CompiledCell): Omit<Outcome, 'index'> {
  const bug = (detail: string) => ({ result: 'bug' as const, detail });
  const mod = emitTsModule(c, 'cellgen build');
  const syntax = parses(mod.text);
  if (syntax) return bug(`generated TS does not parse: ${syntax}`);
  const key = structureKey(c);
  if (!printedWasm.has(key)) {
    printedWasm.add(key);
    const glue = wasmGlue(c, mod.program, emitWasm(c, mod.program));
    const gsyntax = parses(mod.text + glue);
    if (gsyntax) return bug(`generated TS with the WebAssembly glue does not parse: ${gsyntax}`);
  }
  const w = emitWgsl(c);
  const wsyntax = parses(w.module);
  if (wsyntax) return bug(`generated WGSL module does not parse: ${wsyntax}`);
  for (const [k, s] of Object.entries(w.shaders)) if (RAW_CONTROL.test(s)) return bug(`raw control character in the ${k} shader`);
  const L = cellLatex(c);
  const doc = latexDocument(c, L);
  if (/\^\^/.test(doc) || RAW_CONTROL.test(doc.replace(/\n/g, ' '))) return bug('raw ^^ or control character in the .tex file');
  let formulas = 0;
  for (const e of [...L.forward, ...L.backward, ...L.gradients]) {
    const tex = `${e.lhs} = ${e.rhs}`;
    formulas++;
    if (renderedFormulas.has(tex)) continue;
    katex.renderToString(tex, { throwOnError: true, displayMode: true });
    renderedFormulas.add(tex);
  }
  return { result: 'built', checked: { ts: true, wgsl: true, latex: true, formulas } };
}

function checkOnce(job: Job): Omit<Outcome, 'index'> {
  let c;
  try {
    c = compileCell(job.text, job.file);
  } catch (e) {
    if (!(e instanceof Diagnostic)) return { result: 'bug', detail: `not a Diagnostic: ${e instanceof Error ? e.stack : String(e)}` };
    const s = e.span;
    if (!s || s.file !== job.file || s.start < 0 || s.end < s.start || s.end > job.text.length) return { result: 'bug', detail: `diagnostic without a span in the spec: ${e.message}` };
    const shown = formatDiagnostic(e);
    if (RAW_CONTROL.test(shown)) return { result: 'bug', detail: `raw control character in: ${JSON.stringify(shown)}` };
    if (!shown.includes(`${job.file}:`)) return { result: 'bug', detail: `no file:line:col in: ${shown}` };
    return { result: 'diagnostic' };
  }
  try {
    return printAll(c);
  } catch (e) {
    return { result: 'bug', detail: `after a successful read: ${e instanceof Error ? e.stack : String(e)}` };
  }
}

export function check(job: Job): Outcome {
  const key = createHash('sha256').update(job.file).update('\0').update(job.text).digest('hex');
  let o = outcomes.get(key);
  if (!o) outcomes.set(key, (o = checkOnce(job)));
  return { index: job.index, ...o };
}

parentPort?.postMessage('ready');
parentPort?.on('message', (jobs: Job[]) => {
  for (const job of jobs) parentPort!.postMessage(check(job));
  parentPort!.postMessage('done');
});
