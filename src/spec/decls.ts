// The declarations of a spec: names, sizes, dimensions, tensors and LaTeX names, each checked at its own node.

import { isMap, isScalar, isSeq, type Node as YNode, Scalar, type YAMLMap } from 'yaml';
import { addDims, constDim, type Dim, dimOf, scaleDim, type Shape } from './shape.js';
import { Diagnostic, didYouMean } from './diagnostic.js';
import { parseSourceExpr, spanOf } from './source-expr.js';
import { texProblem } from './tex.js';
import type { SizeDecl, TensorDecl } from './types.js';
import { asMap, asScalarText, asString, type Ctx, entries, exprSource, fail, spanOfNode } from './yaml-nodes.js';

/** Identifiers that are safe as TypeScript, WGSL and LaTeX names: letters, digits, single underscores. */
export const IDENT = /^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*$/;
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

export function checkIdent(c: Ctx, key: string, keyNode: Scalar, what: string): void {
  if (!IDENT.test(key)) fail(c, keyNode, `'${key}' is not a valid ${what} name`, 'use ASCII letters and digits, separated by single underscores (e.g. W_z, h_cand)');
  if (RESERVED.has(key)) fail(c, keyNode, `'${key}' is a word of the equation syntax and cannot name ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`, `equations read '${key}' as ${MATH_CONSTANTS.has(key) ? 'a constant' : 'an operator'}; choose another name (e.g. ${key}_1 or my_${key})`);
}

/** A dimension: a size name, an integer, or sums and integer multiples of those. */
export function readDim(c: Ctx, n: YNode | null, sizes: ReadonlyMap<string, SizeDecl>): Dim {
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

export function readShape(c: Ctx, n: YNode | null, sizes: ReadonlyMap<string, SizeDecl>, what: string, scalarOk = false): Shape {
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

export function readSizes(c: Ctx, n: YNode | null): SizeDecl[] {
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

export function readTensors(c: Ctx, n: YNode | null, what: string, sizes: ReadonlyMap<string, SizeDecl>, taken: Map<string, string>): TensorDecl[] {
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

export function checkLatex(c: Ctx, value: Scalar, key: string): void {
  const { text, offset } = exprSource(c, value, String(value.value));
  const bad = (i: number, len: number, message: string, hint: string): never => {
    throw new Diagnostic(message, { file: c.file, start: offset + i, end: offset + i + len }, hint);
  };
  const symbolHint = "write the symbol alone, e.g. '\\tilde{h}' or 'W_{z}'; it is set in math mode for you";
  const ch = LATEX_CHARS.exec(text);
  if (ch) bad(ch.index, 1, `the LaTeX for '${key}' may not contain '${ch[0]}'`, symbolHint);
  const cmd = LATEX_UNSAFE.exec(text);
  if (cmd) bad(cmd.index, cmd[0].length, `the LaTeX for '${key}' may not use ${cmd[0]}`, 'links, files, raw HTML and macro definitions are not allowed in a name');
  // A symbol is printed inside align* rows and KaTeX displays: a line break or a tag would add rows or numbers there.
  const brk = /\\(?:newline|cr|tag|notag|nonumber|label)(?![A-Za-z])/.exec(text);
  if (brk) bad(brk.index, brk[0].length, `the LaTeX for '${key}' may not use ${brk[0]}`, 'a name is one symbol: line breaks, tags and labels belong to the equations');
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '\\') bad(i, 2, `the LaTeX for '${key}' may not contain a line break (\\\\)`, 'a name is one symbol: write it on one line, e.g. \'\\tilde{h}\'');
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
