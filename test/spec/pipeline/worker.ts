// Worker of the pipeline property test: runs each spec through reading, lowering, derivation, the TS, WGSL and LaTeX
// printers and KaTeX, and reports whether it ended in success, in a positioned Diagnostic, or in anything else (a bug).

import { parentPort } from 'node:worker_threads';
import katex from 'katex';
import { transformSync } from 'esbuild';
import { compileCell } from '../../../src/derive/compile.js';
import { cellLatex, latexDocument } from '../../../src/emit/latex.js';
import { emitTsModule } from '../../../src/emit/ts/module.js';
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
}

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
/** Outputs already checked, by the parts of the spec they depend on (identical inputs give identical outputs). */
const emitted = new Set<string>();
const rendered = new Set<string>();
/**
 * The printers and KaTeX cost 50-500 ms per spec, reading a few: each worker runs them on its first EMIT_BUDGET distinct
 * cells and first TEX_BUDGET distinct LaTeX tables (CELLGEN_PIPELINE_FUZZ_BUDGET scales both); every spec is read,
 * lowered and derived.
 */
const SCALE = Number(process.env.CELLGEN_PIPELINE_FUZZ_BUDGET ?? 1);
const EMIT_BUDGET = 40 * SCALE;
const TEX_BUDGET = 120 * SCALE;

/** undefined when `text` parses as TypeScript (esbuild: fast, and a syntax check is what injection would break). */
function parses(text: string): string | undefined {
  try {
    transformSync(text, { loader: 'ts', format: 'esm' });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message.slice(0, 500) : String(e);
  }
}

export function check(job: Job): Outcome {
  let c;
  try {
    c = compileCell(job.text, job.file);
  } catch (e) {
    if (!(e instanceof Diagnostic)) return { index: job.index, result: 'bug', detail: `not a Diagnostic: ${e instanceof Error ? e.stack : String(e)}` };
    const s = e.span;
    if (!s || s.file !== job.file || s.start < 0 || s.end < s.start || s.end > job.text.length) return { index: job.index, result: 'bug', detail: `diagnostic without a span in the spec: ${e.message}` };
    const shown = formatDiagnostic(e);
    if (RAW_CONTROL.test(shown)) return { index: job.index, result: 'bug', detail: `raw control character in: ${JSON.stringify(shown)}` };
    if (!shown.includes(`${job.file}:`)) return { index: job.index, result: 'bug', detail: `no file:line:col in: ${shown}` };
    return { index: job.index, result: 'diagnostic' };
  }
  try {
    const { spec } = c;
    const structure = JSON.stringify([spec.sizes.map((s) => [s.name, s.symbol]), spec.inputs.map((x) => x.name), spec.state.map((x) => x.name),
      spec.params.map((x) => x.name), spec.equations.map((e) => [e.name, e.expr.text.replace(/\s+/g, ' ')]), spec.activations.map((a) => [a.name, a.expr.text]), spec.output]);
    if (!emitted.has(structure) && emitted.size < EMIT_BUDGET) {
      emitted.add(structure);
      const mod = emitTsModule(c, 'cellgen build');
      const syntax = parses(mod.text);
      if (syntax) return { index: job.index, result: 'bug', detail: `generated TS does not parse: ${syntax}` };
      const w = emitWgsl(c);
      const wsyntax = parses(w.module);
      if (wsyntax) return { index: job.index, result: 'bug', detail: `generated WGSL module does not parse: ${wsyntax}` };
      for (const [k, s] of Object.entries(w.shaders)) if (RAW_CONTROL.test(s)) return { index: job.index, result: 'bug', detail: `raw control character in the ${k} shader` };
    }
    const tex = JSON.stringify([structure, [...spec.latex].map(([k, v]) => [k, v.tex])]);
    if (!rendered.has(tex) && rendered.size < TEX_BUDGET) {
      rendered.add(tex);
      const L = cellLatex(c);
      const doc = latexDocument(c, L);
      if (/\^\^/.test(doc) || RAW_CONTROL.test(doc.replace(/\n/g, ' '))) return { index: job.index, result: 'bug', detail: 'raw ^^ or control character in the .tex file' };
      for (const e of [...L.forward, ...L.backward, ...L.gradients]) katex.renderToString(`${e.lhs} = ${e.rhs}`, { throwOnError: true, displayMode: true });
    }
    return { index: job.index, result: 'built' };
  } catch (e) {
    return { index: job.index, result: 'bug', detail: `after a successful read: ${e instanceof Error ? e.stack : String(e)}` };
  }
}

parentPort?.postMessage('ready');
parentPort?.on('message', (jobs: Job[]) => {
  for (const job of jobs) parentPort!.postMessage(check(job));
  parentPort!.postMessage('done');
});
