// Reads cells/<name>.cell.yaml into a validated CellSpec; every mistake is a Diagnostic with a span.

import { basename } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node as YNode, parseDocument, Scalar, type YAMLError, type YAMLMap } from 'yaml';
import { addDims, constDim, type Dim, dimOf, scaleDim, type Shape } from './shape.js';
import { Diagnostic, didYouMean, registerSource, type Span } from './diagnostic.js';
import { parseSourceExpr, spanOf } from './source-expr.js';
import { texProblem } from './tex.js';
import type { ActivationDecl, CellSpec, EquationDecl, SizeDecl, TensorDecl } from './types.js';

const TOP_KEYS = ['name', 'title', 'description', 'references', 'sizes', 'inputs', 'state', 'parameters', 'equations', 'output', 'latex', 'activations', 'readout'] as const;
const REQUIRED = ['name', 'title', 'sizes', 'inputs', 'state', 'parameters', 'equations'] as const;

/** Identifiers that are safe as TypeScript, WGSL and LaTeX names: letters, digits, single underscores. */
export const IDENT = /^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$/;
const CELL_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const SYMBOL = /^[A-Za-z](?:_[A-Za-z0-9]+)?$/;
export const MAX_SIZE_EXAMPLE = 4096;

/** Words the equation syntax reads as constants. */
const MATH_CONSTANTS: ReadonlySet<string> = new Set(['true', 'false', 'null', 'undefined', 'NaN', 'Infinity']);

/**
 * Words no spec name may take: the words the equation syntax (mathjs) reads as constants or operators, so a name
 * spelled like them could never be referred to in an equation (`W * x + not` does not parse, `true` is a constant).
 * Every other name is allowed, keywords and built-ins of the targets included (`for`, `function`, `fn`, `Math`,
 * `f32`, `constructor`): printers map spec names into their own namespace (src/emit/names.ts).
 */
export const RESERVED: ReadonlySet<string> = new Set([
  ...MATH_CONSTANTS,
  // operators of the equation syntax: 'a and b', 'not a', 'a mod b', unit conversion 'a to b' / 'a in b', 'v[end]'
  'and', 'or', 'xor', 'not', 'mod', 'to', 'in', 'end',
]);

interface Ctx {
  file: string;
  text: string;
}

/** A node's span, at least one character wide where the text allows (an empty node still gets a caret). */
const spanOfNode = (c: Ctx, n: YNode | null | undefined): Span => {
  const [start, end] = n?.range ?? [0, 1];
  const s = Math.min(start, c.text.length);
  return { file: c.file, start: s, end: Math.min(Math.max(s + 1, end), c.text.length) };
};

function fail(c: Ctx, n: YNode | null | undefined, message: string, hint?: string): never {
  throw new Diagnostic(message, spanOfNode(c, n), hint);
}

/** Offset in the file of the first character of a scalar's value. */
function valueOffset(c: Ctx, s: Scalar): number {
  const start = s.range?.[0] ?? 0;
  switch (s.type) {
    case Scalar.QUOTE_DOUBLE:
    case Scalar.QUOTE_SINGLE:
      return start + 1;
    case Scalar.BLOCK_FOLDED:
    case Scalar.BLOCK_LITERAL: {
      let i = c.text.indexOf('\n', start) + 1;
      while (i < c.text.length && (c.text[i] === ' ' || c.text[i] === '\t')) i++;
      return i;
    }
    default:
      return start;
  }
}

/**
 * The text of a scalar as an expression, with the file offset of its first character. Where the source spells the
 * value up to line breaks and indentation (no escapes), the source itself is returned with line breaks as spaces,
 * so every node keeps its exact column on every line; otherwise the value, whose later columns may drift.
 */
function exprSource(c: Ctx, s: Scalar, value: string): { text: string; offset: number } {
  const end = s.range?.[1] ?? 0;
  const quoted = s.type === Scalar.QUOTE_DOUBLE || s.type === Scalar.QUOTE_SINGLE;
  const from = valueOffset(c, s);
  const raw = c.text.slice(from, Math.max(from, quoted ? end - 1 : end)).replace(/[\r\n\t]/g, ' ');
  const squash = (t: string) => t.replace(/\s+/g, ' ').trim();
  // A value longer than its spelling (.inf -> Infinity) would reach past the scalar: keep the spelling then.
  if (squash(raw) === squash(value) || value.length > raw.length) return { text: raw.trimEnd(), offset: from };
  return { text: value.replace(/[\r\n\t]/g, ' ').trimEnd(), offset: from };
}

function asMap(c: Ctx, n: YNode | null | undefined, what: string): YAMLMap<Scalar, YNode> {
  if (!isMap(n)) fail(c, n, `${what} must be a mapping`, `write ${what} as 'key: value' lines`);
  return n as YAMLMap<Scalar, YNode>;
}

function asString(c: Ctx, n: YNode | null | undefined, what: string): string {
  if (!isScalar(n) || typeof n.value !== 'string' || n.value.trim() === '') fail(c, n, `${what} must be a non-empty string`);
  return (n.value as string).trim();
}

function asScalarText(c: Ctx, n: YNode | null | undefined, what: string): { text: string; node: Scalar } {
  if (!isScalar(n) || n.value === null || typeof n.value === 'boolean' || typeof n.value === 'object') fail(c, n, `${what} must be a string or number`);
  if (String(n.value).trim() === '') fail(c, n, `${what} is empty`);
  return { text: String(n.value), node: n };
}

/** Entries of a mapping with their key spans; a repeated key is an error at its second use. */
function entries(c: Ctx, m: YAMLMap<Scalar, YNode>, what: string): { key: string; keyNode: Scalar; value: YNode | null }[] {
  const seen = new Map<string, Scalar>();
  const out: { key: string; keyNode: Scalar; value: YNode | null }[] = [];
  for (const item of m.items) {
    const k = item.key;
    if (!isScalar(k) || (typeof k.value !== 'string' && typeof k.value !== 'number')) fail(c, k as YNode, `a key in ${what} must be a plain name`);
    // A number key is named as written (1e400, not Infinity).
    const key = typeof k.value === 'string' || !k.range ? String(k.value) : c.text.slice(k.range[0], k.range[1]);
    if (seen.has(key)) fail(c, k, `'${key}' is defined twice in ${what}`, 'each name may be defined only once; rename or remove one');
    seen.set(key, k);
    out.push({ key, keyNode: k, value: (item.value ?? null) as YNode | null });
  }
  return out;
}

function checkIdent(c: Ctx, key: string, keyNode: Scalar, what: string): void {
  if (!IDENT.test(key)) fail(c, keyNode, `'${key}' is not a valid ${what} name`, 'use letters and digits, separated by single underscores (e.g. W_z, h_cand)');
  if (RESERVED.has(key)) fail(c, keyNode, `'${key}' is a word of the equation syntax and cannot name ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`, `equations read '${key}' as ${MATH_CONSTANTS.has(key) ? 'a constant' : 'an operator'}; choose another name (e.g. ${key}_1 or my_${key})`);
}

/** A dimension: a size name, an integer, or sums and integer multiples of those. */
function readDim(c: Ctx, n: YNode | null, sizes: ReadonlyMap<string, SizeDecl>): Dim {
  const { text, node } = asScalarText(c, n, 'a dimension');
  const src = exprSource(c, node, text);
  const e = parseSourceExpr(src.text, src.offset, c.file, 'dimension');
  const walk = (m: import('mathjs').MathNode): Dim => {
    const a = m as unknown as { name?: string; value?: unknown; op?: string; args?: import('mathjs').MathNode[]; content?: import('mathjs').MathNode };
    switch (m.type) {
      case 'SymbolNode':
        if (!sizes.has(a.name!)) throw new Diagnostic(`unknown size '${a.name}'`, spanOf(e, m), didYouMean(a.name!, sizes.keys()) ?? `declare it under sizes: (known: ${[...sizes.keys()].join(', ')})`);
        return dimOf({ [a.name!]: 1 });
      case 'ConstantNode': {
        const v = Number(a.value);
        if (!Number.isInteger(v) || v < 1 || v > MAX_SIZE_EXAMPLE)
          throw new Diagnostic(`a dimension must be an integer from 1 to ${MAX_SIZE_EXAMPLE}, not ${String(a.value)}`, spanOf(e, m), v > MAX_SIZE_EXAMPLE ? 'declare a size under sizes: and use its name' : undefined);
        return constDim(v);
      }
      case 'ParenthesisNode':
        return walk(a.content!);
      case 'OperatorNode':
        if (a.op === '+' && a.args!.length === 2) return addDims(walk(a.args![0]!), walk(a.args![1]!));
        if (a.op === '*' && a.args!.length === 2) {
          const [l, r] = a.args!;
          // walk() checks that the factor is a positive integer
          if (l!.type === 'ConstantNode') return scaleDim(walk(r!), walk(l!).constant);
          if (r!.type === 'ConstantNode') return scaleDim(walk(l!), walk(r!).constant);
        }
        throw new Diagnostic('a dimension may only add sizes and multiply them by integers', spanOf(e, m), "e.g. 'hidden + input' or '2*hidden'");
      default:
        throw new Diagnostic('a dimension may only add sizes and multiply them by integers', spanOf(e, m), "e.g. 'hidden + input' or '2*hidden'");
    }
  };
  return walk(e.node);
}

function readShape(c: Ctx, n: YNode | null, sizes: ReadonlyMap<string, SizeDecl>, what: string, scalarOk = false): Shape {
  if (isSeq(n)) {
    const items = n.items as (YNode | null)[];
    // [] is a scalar (rank 0): one number, learned like any parameter, that broadcasts over a vector.
    if (items.length === 0 && scalarOk) return [];
    if (items.length === 0) fail(c, n, `${what} is a scalar ([]), but only a parameter may be one`, 'inputs and states are vectors: write <name>: <size>');
    if (items.length > 2) fail(c, n, `${what} must be a vector [n] or a matrix [rows, cols]`, 'tensors of rank 3 or more are not supported');
    return items.map((i) => readDim(c, i, sizes));
  }
  return [readDim(c, n, sizes)];
}

function readSizes(c: Ctx, n: YNode | null): SizeDecl[] {
  const m = asMap(c, n, 'sizes');
  const out: SizeDecl[] = [];
  for (const { key, keyNode, value } of entries(c, m, 'sizes')) {
    checkIdent(c, key, keyNode, 'size');
    let symbol = key.length === 1 ? key : key[0]!.toUpperCase();
    let example = 4;
    const readExample = (n: YNode | null): number => {
      if (!isScalar(n) || typeof n.value !== 'number') fail(c, n, 'example must be a number');
      const v = n.value as number;
      if (!Number.isInteger(v) || v < 1 || v > MAX_SIZE_EXAMPLE) fail(c, n, `example size ${v} is out of range`, `use an integer from 1 to ${MAX_SIZE_EXAMPLE}`);
      return v;
    };
    if (isScalar(value) && typeof value.value === 'string') symbol = value.value;
    else if (isScalar(value) && typeof value.value === 'number') example = readExample(value);
    else if (isMap(value)) {
      for (const e of entries(c, value as YAMLMap<Scalar, YNode>, `size '${key}'`)) {
        if (e.key === 'symbol') symbol = asString(c, e.value, 'symbol');
        else if (e.key === 'example') example = readExample(e.value);
        else fail(c, e.keyNode, `unknown key '${e.key}' in size '${key}'`, didYouMean(e.key, ['symbol', 'example']) ?? 'a size has symbol and example');
      }
    } else if (value !== null) fail(c, value, `size '${key}' must be a symbol, a number or {symbol, example}`);
    if (!SYMBOL.test(symbol)) fail(c, value ?? keyNode, `size symbol '${symbol}' must be one letter, optionally with a subscript`, "e.g. symbol: H or symbol: n_x");
    out.push({ name: key, span: spanOfNode(c, keyNode), symbol, example });
  }
  if (out.length === 0) fail(c, n, 'sizes must declare at least one size');
  return out;
}

function readTensors(c: Ctx, n: YNode | null, what: string, sizes: ReadonlyMap<string, SizeDecl>, taken: Map<string, string>): TensorDecl[] {
  const m = asMap(c, n, what);
  const out: TensorDecl[] = [];
  for (const { key, keyNode, value } of entries(c, m, what)) {
    checkIdent(c, key, keyNode, what === 'parameters' ? 'parameter' : what === 'inputs' ? 'input' : 'state');
    const prior = taken.get(key);
    if (prior) fail(c, keyNode, `'${key}' is already declared as ${prior}`, 'every name in a spec must be unique');
    if (sizes.has(key)) fail(c, keyNode, `'${key}' is already the name of a size`, 'every name in a spec must be unique');
    let shapeNode: YNode | null = value;
    if (isMap(value)) {
      shapeNode = null;
      for (const e of entries(c, value as YAMLMap<Scalar, YNode>, `'${key}'`)) {
        if (e.key === 'shape') shapeNode = e.value;
        else fail(c, e.keyNode, `unknown key '${e.key}' in '${key}'`, "only 'shape' may be given here");
      }
      if (!shapeNode) fail(c, value, `'${key}' needs a shape`);
    }
    if (shapeNode === null) fail(c, keyNode, `'${key}' needs a shape`, `e.g. ${key}: hidden or ${key}: [hidden, input]`);
    const shape = readShape(c, shapeNode, sizes, `the shape of '${key}'`, what === 'parameters');
    if (what !== 'parameters' && shape.length !== 1) fail(c, shapeNode, `${what === 'inputs' ? 'an input' : 'a state'} must be a vector`, `write ${key}: <size>`);
    taken.set(key, what === 'parameters' ? 'a parameter' : what === 'inputs' ? 'an input' : 'a state');
    out.push({ name: key, span: spanOfNode(c, keyNode), shape, shapeSpan: spanOfNode(c, shapeNode) });
  }
  if (out.length === 0 && what !== 'parameters') fail(c, n, `${what} must declare at least one ${what === 'inputs' ? 'input' : 'state'}`);
  return out;
}

/** What a LaTeX name may contain: a symbol with accents, fonts, sub- and superscripts. */
const LATEX_CHARS = /[^A-Za-z0-9\\{}_^'\s.,;:()[\]|+\-*/]/;
/** Commands that link, read or write files, emit raw HTML or define macros: never needed to name a symbol. */
const LATEX_UNSAFE = /\\(?:href|url|html[A-Za-z]*|includegraphics|input|include|write|immediate|openout|openin|read|special|def|gdef|edef|xdef|let|futurelet|newcommand|renewcommand|providecommand|DeclareMathOperator|catcode|csname|expandafter)(?![A-Za-z])/;

function checkLatex(c: Ctx, value: Scalar, key: string): void {
  const { text, offset } = exprSource(c, value, String(value.value));
  const bad = (i: number, len: number, message: string, hint: string): never => {
    throw new Diagnostic(message, { file: c.file, start: offset + i, end: offset + i + len }, hint);
  };
  const symbolHint = "write the symbol alone, e.g. '\\tilde{h}' or 'W_{z}'; it is set in math mode for you";
  const ch = LATEX_CHARS.exec(text);
  if (ch) bad(ch.index, 1, `the LaTeX for '${key}' may not contain '${ch[0]}'`, symbolHint);
  const cmd = LATEX_UNSAFE.exec(text);
  if (cmd) bad(cmd.index, cmd[0].length, `the LaTeX for '${key}' may not use ${cmd[0]}`, 'links, files, raw HTML and macro definitions are not allowed in a name');
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth < 0) bad(i, 1, `unbalanced '}' in the LaTeX for '${key}'`, 'every } closes an earlier {');
  }
  if (depth > 0) bad(text.lastIndexOf('{'), 1, `unbalanced '{' in the LaTeX for '${key}'`, 'close every { with a }');
  // Rendered now, by KaTeX, in every context the printers use: the docs build can never reject it later.
  const tex = String(value.value).trim();
  const problem = texProblem(tex);
  if (problem) {
    // The value's text and the source agree (no escapes) when exprSource returned the source itself.
    const lead = text.length - text.trimStart().length;
    const mapped = text.trim() === tex;
    bad(mapped ? lead + problem.at : 0, mapped ? problem.length : Math.max(1, text.trimEnd().length), `the LaTeX for '${key}' is not valid: ${problem.message}`, symbolHint);
  }
}

/**
 * The opening bracket of a YAML flow collection that is not closed before a line indented no deeper than the line it
 * opened on (or before the end of the file): where the user has to add the ] or }. Quoted text and comments are skipped.
 */
function unclosedBracket(text: string): number | undefined {
  const stack: { at: number; indent: number }[] = [];
  let lineIndent = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (lineStart) {
      let j = i;
      while (text[j] === ' ') j++;
      const blank = text[j] === '\n' || text[j] === '\r' || text[j] === '#' || j >= text.length;
      if (!blank) {
        lineIndent = j - i;
        if (stack.length && lineIndent <= stack[0]!.indent) return stack[stack.length - 1]!.at;
      }
      lineStart = false;
    }
    if (ch === '\n') lineStart = true;
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (ch === '"' || ch === "'") {
      // A quote starts a string only at the start of a scalar; inside one (it's) it is a plain character.
      let k = i - 1;
      while (k >= 0 && (text[k] === ' ' || text[k] === '\t')) k--;
      if (k < 0 || /[\s:,[{-]/.test(text[k]!)) {
        for (i++; i < text.length; i++) {
          if (ch === '"' && text[i] === '\\') i++;
          else if (text[i] === ch) {
            if (ch === "'" && text[i + 1] === "'") i++;
            else break;
          }
        }
      }
    } else if (ch === '[' || ch === '{') stack.push({ at: i, indent: lineIndent });
    else if ((ch === ']' || ch === '}') && stack.length) stack.pop();
  }
  return stack.length ? stack[stack.length - 1]!.at : undefined;
}

/** A YAML syntax error, placed where the user has to act rather than where the parser gave up. */
function yamlError(file: string, text: string, e: YAMLError): Diagnostic {
  const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const hint = 'fix the YAML syntax (check indentation, colons and quotes; quote equations that start with * [ { or -)';
  const at = (start: number, message: string, h: string) => new Diagnostic(`YAML syntax error: ${message}`, { file, start, end: start + 1 }, h);
  if (e.code === 'MISSING_CHAR' && /quote/.test(msg)) {
    // An unclosed string runs to the end of the file: its opening quote is the last one that is not escaped.
    // Inside '...' a quote is written '', inside "..." as \"; so look for an odd run of ' or a " after an even run of \.
    const q = /'/.test(msg) ? "'" : '"';
    const esc = q === "'" ? "'" : '\\';
    for (let i = text.length - 1; i >= 0; i--) {
      if (text[i] !== q) continue;
      let j = i - 1;
      while (j >= 0 && text[j] === esc) j--;
      const unescaped = q === "'" ? (i - j) % 2 === 1 : (i - j - 1) % 2 === 0;
      if (unescaped) return at(q === "'" ? j + 1 : i, 'this quoted string is never closed', `add the closing ${q}`);
      if (q === "'") i = j + 1;
    }
  }
  if (/flow|[\]}]/i.test(msg)) {
    const open = unclosedBracket(text);
    if (open !== undefined) return at(open, `this '${text[open]}' is never closed`, `add the closing ${text[open] === '[' ? ']' : '}'} on the same line`);
  }
  if (e.code === 'MULTIPLE_DOCS') return at(e.pos[0], 'a spec holds one YAML document', "remove this '---' and what follows, or move it to its own file");
  if (e.code === 'BLOCK_AS_IMPLICIT_KEY') {
    // "a: 3\n   b: 4" reads as the value "3 b: 4": the mistake is the deeper indentation of the second line.
    const colon = text.slice(e.pos[0]).search(/:(?:\s|$)/);
    const lineStart = colon < 0 ? -1 : text.lastIndexOf('\n', e.pos[0] + colon) + 1;
    if (lineStart > e.pos[0]) {
      let k = lineStart;
      while (text[k] === ' ') k++;
      return at(k, 'this line is indented more than the key above it', 'indent all keys of a mapping by the same amount');
    }
  }
  // The parser may report the end of the file, one past the last character.
  const start = Math.min(e.pos[0], text.length);
  return new Diagnostic(`YAML syntax error: ${msg}`, { file, start, end: Math.min(Math.max(start + 1, e.pos[1]), text.length) }, hint);
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
  if (!isMap(root)) fail(c, root, 'a cell spec must be a YAML mapping', "start with 'name: <cell-name>'");
  const top = new Map<string, { keyNode: Scalar; value: YNode | null }>();
  for (const e of entries(c, root as YAMLMap<Scalar, YNode>, 'the spec')) {
    if (!(TOP_KEYS as readonly string[]).includes(e.key)) fail(c, e.keyNode, `unknown key '${e.key}'`, didYouMean(e.key, TOP_KEYS) ?? `known keys: ${TOP_KEYS.join(', ')}`);
    top.set(e.key, e);
  }
  for (const k of REQUIRED) if (!top.has(k)) fail(c, root, `missing required key '${k}'`, `add '${k}:' to the spec`);
  const get = (k: string): YNode | null => top.get(k)?.value ?? null;

  const name = asString(c, get('name'), 'name');
  if (!CELL_NAME.test(name)) fail(c, get('name'), `'${name}' is not a valid cell name`, 'use lower-case letters, digits and single hyphens, e.g. gru-reset-after');
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
      classes = asString(c, e.value, 'classes');
      if (!sizes.has(classes)) fail(c, e.value, `unknown size '${classes}'`, didYouMean(classes, sizes.keys()) ?? 'declare the number of classes under sizes:');
      readout = { classes, span: spanOfNode(c, e.value) };
    }
    if (!classes) fail(c, r, "readout needs 'classes: <size>'");
  }

  return { file, source: text, name, title, description, references, sizes: sizeList, inputs, state, params, equations, output, latex, activations, readout };
}
