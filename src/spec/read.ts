// Reads cells/<name>.cell.yaml into a validated CellSpec; every mistake is a Diagnostic with a span.

import { basename } from 'node:path';
import { type Alias, isMap, isScalar, isSeq, LineCounter, type Node as YNode, parseDocument, type Scalar, visit, type YAMLMap } from 'yaml';
import { Diagnostic, didYouMean, registerSource, type Span } from './diagnostic.js';
import { checkIdent, checkLatex, readSizes, readTensors } from './decls.js';
import { parseSourceExpr } from './source-expr.js';
import type { ActivationDecl, CellSpec, EquationDecl } from './types.js';
import { yamlError } from './yaml-error.js';
import { asMap, asScalarText, asString, type Ctx, entries, exprSource, fail, spanOfNode } from './yaml-nodes.js';

export { IDENT, MAX_SIZE_EXAMPLE, RESERVED } from './decls.js';

const TOP_KEYS = ['name', 'title', 'description', 'references', 'sizes', 'inputs', 'state', 'parameters', 'equations', 'output', 'latex', 'activations', 'readout'] as const;
const REQUIRED = ['name', 'title', 'sizes', 'inputs', 'state', 'parameters', 'equations'] as const;

const CELL_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
/** Longest cell name: it names files (`<name>.backward.wgsl`), and a file name has at most 255 bytes. */
export const MAX_CELL_NAME = 200;

/** Why `name` cannot name a cell (with a hint), or undefined when it can. */
export function cellNameProblem(name: string): { message: string; hint: string } | undefined {
  if (!CELL_NAME.test(name)) return { message: `'${name}' is not a valid cell name`, hint: 'use lower-case letters, digits and single hyphens, e.g. gru-reset-after' };
  if (name.length > MAX_CELL_NAME) return { message: `the cell name is ${name.length} characters long; at most ${MAX_CELL_NAME} are supported`, hint: 'it names the generated files: shorten it' };
  return undefined;
}

/** Parse and structurally validate a spec. Shapes and symbols in equations are checked by lowering. */
export function readSpec(text: string, file: string): CellSpec {
  registerSource(file, text);
  const c: Ctx = { file, text };
  const empty = () => new Diagnostic('the spec file is empty', { file, start: 0, end: 0 }, `start from 'cellgen new ${basename(file).replace(/\.cell\.ya?ml$/, '')}'`);
  if (text.trim() === '') throw empty();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length) throw yamlError(file, text, doc.errors[0]!);
  const root = doc.contents;
  if (root === null) throw empty();
  // Every check below reads the YAML nodes themselves; an alias would read as a wrong type there, and nested aliases
  // expand exponentially (a "billion laughs" document). A spec is short enough to write each value out.
  let alias: Alias | undefined;
  visit(doc, { Alias: (_, n) => ((alias = n), visit.BREAK) });
  if (alias) fail(c, alias, `YAML aliases ('*${alias.source}') are not supported in a spec`, `write the value out here instead of referring to '&${alias.source}'`);
  if (!isMap(root)) fail(c, root, 'a cell spec must be a YAML mapping', "start with 'name: <cell-name>'");
  const top = new Map<string, { keyNode: Scalar; value: YNode | null }>();
  for (const e of entries(c, root as YAMLMap<Scalar, YNode>, 'the spec')) {
    if (!(TOP_KEYS as readonly string[]).includes(e.key)) fail(c, e.keyNode, `unknown key '${e.key}'`, didYouMean(e.key, TOP_KEYS) ?? `known keys: ${TOP_KEYS.join(', ')}`);
    top.set(e.key, e);
  }
  for (const k of REQUIRED) if (!top.has(k)) fail(c, root, `missing required key '${k}'`, `add '${k}:' to the spec`);
  const get = (k: string): YNode | null => top.get(k)?.value ?? null;

  const name = asString(c, get('name'), 'name');
  const bad = cellNameProblem(name);
  if (bad) fail(c, get('name'), bad.message, bad.hint);
  const stem = basename(file).replace(/\.cell\.ya?ml$/, '');
  if (stem !== basename(file) && stem !== name) fail(c, get('name'), `the cell name '${name}' does not match the file name '${basename(file)}'`, `rename the file to ${name}.cell.yaml or the cell to '${stem}'`);
  const title = asString(c, get('title'), 'title');
  const description = top.has('description') ? asString(c, get('description'), 'description') : '';
  const references: string[] = [];
  if (top.has('references')) {
    const r = get('references');
    if (!isSeq(r)) fail(c, r, 'references must be a list of strings');
    for (const it of r.items as (YNode | null)[]) references.push(asString(c, it, 'a reference'));
  }

  const sizeList = readSizes(c, get('sizes'));
  const sizes = new Map(sizeList.map((s) => [s.name, s]));
  const taken = new Map<string, string>();
  const inputs = readTensors(c, get('inputs'), 'inputs', sizes, taken);
  const state = readTensors(c, get('state'), 'state', sizes, taken);
  for (const s of state) {
    if (taken.has(`${s.name}_prev`)) fail(c, { range: [s.span.start, s.span.end, s.span.end] } as YNode, `'${s.name}_prev' would clash with a declared name`, 'rename the state or that declaration');
  }
  const params = readTensors(c, get('parameters'), 'parameters', sizes, taken);
  for (const p of params) if (/_prev$/.test(p.name)) fail(c, { range: [p.span.start, p.span.end, p.span.end] } as YNode, `'${p.name}' ends in _prev, which is kept for previous state values`, 'rename the parameter');

  // Activations: scalar functions of one variable.
  const activations: ActivationDecl[] = [];
  if (top.has('activations')) {
    for (const { key, keyNode, value } of entries(c, asMap(c, get('activations'), 'activations'), 'activations')) {
      checkIdent(c, key, keyNode, 'activation');
      if (taken.has(key)) fail(c, keyNode, `'${key}' is already declared as ${taken.get(key)}`);
      // A name of a built-in function is refused at lowering (src/ir/lower.ts), where the functions are known.
      const base = key.replace(/_grad$/, '');
      if (base !== key && activations.some((a) => a.name === base)) fail(c, keyNode, `'${key}' is the name of the derivative of '${base}'`, 'give the activation another name');
      const { text: body, node } = asScalarText(c, value, `activation '${key}'`);
      const src = exprSource(c, node, body);
      const expr = parseSourceExpr(src.text, src.offset, file, `activation '${key}'`);
      activations.push({ name: key, span: spanOfNode(c, keyNode), param: 'x', expr });
      if (activations.some((a) => a.name === `${key}_grad`)) fail(c, keyNode, `'${key}' would name its derivative '${key}_grad', which is already an activation`, 'give one of them another name');
      taken.set(key, 'an activation');
    }
  }

  const equations: EquationDecl[] = [];
  for (const { key, keyNode, value } of entries(c, asMap(c, get('equations'), 'equations'), 'equations')) {
    checkIdent(c, key, keyNode, 'equation');
    const kind = taken.get(key);
    if (kind && kind !== 'a state') fail(c, keyNode, `'${key}' is ${kind} and cannot be assigned`, 'equations define intermediates and state updates only');
    if (/_prev$/.test(key)) fail(c, keyNode, `'${key}' is a previous state value and cannot be assigned`, `assign '${key.replace(/_prev$/, '')}' instead`);
    const { text: body, node } = asScalarText(c, value, `the equation for '${key}'`);
    const src = exprSource(c, node, body);
    const expr = parseSourceExpr(src.text, src.offset, file, `the equation for '${key}'`);
    equations.push({ name: key, span: spanOfNode(c, keyNode), expr });
  }
  const eqNode = get('equations');
  for (const s of state) {
    if (!equations.some((e) => e.name === s.name))
      fail(c, eqNode, `state '${s.name}' has no update equation`, `add '${s.name}: <expression>' under equations (its previous value is '${s.name}_prev')`);
  }

  let output = state.some((s) => s.name === 'h') ? 'h' : state[0]!.name;
  if (top.has('output')) {
    output = asString(c, get('output'), 'output');
    if (!state.some((s) => s.name === output)) fail(c, get('output'), `output '${output}' is not a state`, didYouMean(output, state.map((s) => s.name)) ?? 'output names the state that layers above and the readout see');
  }

  const latex = new Map<string, { tex: string; span: Span }>();
  if (top.has('latex')) {
    const known = new Set([...taken.keys(), ...equations.map((e) => e.name), ...sizes.keys()]);
    for (const { key, keyNode, value } of entries(c, asMap(c, get('latex'), 'latex'), 'latex')) {
      if (!known.has(key)) fail(c, keyNode, `latex names '${key}', which the spec does not declare`, didYouMean(key, known));
      const tex = asString(c, value, `the LaTeX for '${key}'`);
      checkLatex(c, value as Scalar, key);
      latex.set(key, { tex, span: spanOfNode(c, value) });
    }
  }

  let readout: CellSpec['readout'];
  if (top.has('readout')) {
    const r = asMap(c, get('readout'), 'readout');
    let classes: string | undefined;
    for (const e of entries(c, r, 'readout')) {
      if (e.key !== 'classes') fail(c, e.keyNode, `unknown key '${e.key}' in readout`, "readout takes 'classes: <size>'");
      if (isScalar(e.value) && typeof e.value.value === 'number')
        fail(c, e.value, 'classes names a size, not a number', `declare the size under sizes (e.g. classes: { symbol: K, example: ${e.value.value} }) and write 'classes: classes'`);
      classes = asString(c, e.value, 'classes');
      if (!sizes.has(classes)) fail(c, e.value, `unknown size '${classes}'`, didYouMean(classes, sizes.keys()) ?? 'declare the number of classes under sizes:');
      readout = { classes, span: spanOfNode(c, e.value) };
    }
    if (!classes) fail(c, r, "readout needs 'classes: <size>'");
  }

  return { file, source: text, name, title, description, references, sizes: sizeList, inputs, state, params, equations, output, latex, activations, readout };
}
