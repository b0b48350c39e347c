// Mutations of valid specs aimed at the hardening classes: hostile strings in prose, TeX and names, names the
// generated code uses, long sums, and generic edits of YAML and equations.

import fc from 'fast-check';

/** Strings an attacker or a careless user puts into a spec. */
export const PAYLOADS = ['\n', '\r', '\u2028', '\u2029', '\u0085', '*/', '/*', '</script>', '<!--', '${', '`', "'", '"', '\\', '^^5c', '^^M',
  '\x1b[2J', '\x1b]0;pwned\x07', '\u202e', '\t', '\u0000', '\x7f', '\x9b', '\ud800', '%', '#', '&', '$', '{', '}', '[', ']', ':', '- ',
  '\\input{/etc/passwd}', '\\def\\x{y}', '\\catcode', '\\href{javascript:alert(1)}{x}', '\\tlide{h}', '\\tilde{h}', 'é', '😀'];
/**
 * Names generated code, the targets or Object.prototype use: keywords and built-ins of TS and WGSL must work (they are
 * mapped into the spec-name namespace); the words of the equation syntax (`undefined`, `in`) and `__proto__` are refused.
 */
export const HOSTILE_NAMES = ['sizes', 'batch', 'steps', 'lengths', 'check', 'checkLengths', 'checkSizes', 'packRows', 'unpackRows', 'gemmNT',
  'gemmNN', 'gemmTN', 'own', 'tape', 'params', 'inputs', 'opts', 'dStates', 'row', 'col', 'step', 'Math', 'Object', 'Float32Array',
  'undefined', 'exp', 'select', 'dot', 'max', 'min', 'f32', 'vec3', 'array', 'ptr', 'constructor', 'toString', 'valueOf', 'hasOwnProperty',
  'for', 'function', 'let', 'fn', 'var', 'class', 'return', 'new', 'this', 'typeof', 'delete', 'void', 'yield', 'await', 'eval',
  'arguments', 'prototype', '__proto__', 'in', 'struct', 'loop', 'override', 'workgroup', 'u32', 'i32', 'bool', 'mat2x2', 'size', 'P', 'X', 'S', 'size_hidden', 'delta_h', 'tmp1', 'cat1', 'act_f', 'sigmoid_', 'x_', '_x'];
/** TeX for `latex:` values, good and bad. */
export const TEX = ['\\tilde{h}', 'h^{(1)}', "W'", 'W_{z}', '\\mathbf{W}', '\\hat{\\mathbf{h}}', 'x_1_2', 'x^2^3', '\\tlide{h}', '\\frac{a}{b}',
  '\\left(', '\\right)', '{', '}', '\\\\', '^^5c', '\\input{x}', '\\href{x}{y}', '\\textcolor{red}{h}', '\\color{red}', '\\operatorname{sel}',
  '\\alpha_{t}', '\\sqrt{h}', '\\overline{h}', '\\text{\\x}', 'h_', 'h^', '\\begin{matrix}', '\\boldsymbol{\\Gamma}_u', 'h\\,'];

export type Mutation =
  | { kind: 'insert'; at: number; what: string }
  | { kind: 'deleteChars'; at: number; len: number }
  | { kind: 'deleteLine'; at: number }
  | { kind: 'duplicateLine'; at: number }
  | { kind: 'title'; to: string }
  | { kind: 'latex'; name: number; tex: string }
  | { kind: 'rename'; which: number; to: string }
  | { kind: 'longSum'; terms: number };

const frac = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);
const payload = fc.oneof(fc.constantFrom(...PAYLOADS), fc.string({ maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 3 }));

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: frac, what: payload }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteChars' as const), at: frac, len: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteLine' as const), at: frac }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicateLine' as const), at: frac }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('title' as const), to: fc.array(payload, { minLength: 1, maxLength: 4 }).map((p) => `T${p.join('x')}`) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('latex' as const), name: frac, tex: fc.array(fc.constantFrom(...TEX), { minLength: 1, maxLength: 2 }).map((t) => t.join('')) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('rename' as const), which: frac, to: fc.constantFrom(...HOSTILE_NAMES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('longSum' as const), terms: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(499, 520, 3000)) }) },
);

/** Names declared in a spec's sizes, inputs, state, parameters and equations (two-space keys under those sections). */
function declaredNames(text: string): string[] {
  const out: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const top = /^([a-z]+):/.exec(line);
    if (top) section = top[1]!;
    const key = /^ {2}([A-Za-z][A-Za-z0-9_]*):/.exec(line);
    if (key && ['sizes', 'inputs', 'state', 'parameters', 'equations'].includes(section)) out.push(key[1]!);
  }
  return [...new Set(out)];
}

/** A YAML double-quoted scalar denoting `s` exactly. */
const yamlQuoted = (s: string): string => JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export function apply(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const pos = Math.floor(('at' in m ? m.at : 0) * (text.length + 1));
  const li = Math.floor(('at' in m ? m.at : 0) * lines.length);
  switch (m.kind) {
    case 'insert':
      return text.slice(0, pos) + m.what + text.slice(pos);
    case 'deleteChars':
      return text.slice(0, pos) + text.slice(pos + m.len);
    case 'deleteLine':
      return lines.filter((_, i) => i !== li).join('\n');
    case 'duplicateLine':
      return [...lines.slice(0, li + 1), ...lines.slice(li)].join('\n');
    case 'title':
      return text.replace(/^title: .*$/m, `title: ${yamlQuoted(m.to)}`);
    case 'latex': {
      const names = declaredNames(text);
      const name = names[Math.floor(m.name * names.length)];
      if (!name) return text;
      const entry = `  ${name}: ${yamlQuoted(m.tex)}`;
      return /^latex:$/m.test(text) ? text.replace(/^latex:$/m, `latex:\n${entry}`) : `${text.replace(/\n*$/, '')}\nlatex:\n${entry}\n`;
    }
    case 'rename': {
      // Every use of one declared name, so the spec stays valid and the new name reaches the generated code.
      const names = declaredNames(text);
      const from = names[Math.floor(m.which * names.length)];
      if (!from || names.includes(m.to)) return text;
      return text.replace(new RegExp(`(?<![A-Za-z0-9_])${from}(?=_prev\\b|(?![A-Za-z0-9_]))`, 'g'), m.to);
    }
    case 'longSum': {
      // A sum of many terms in the first equation that adds a bias-like vector: thousands of terms must not overflow the stack.
      const eq = /^(equations:\n {2}[A-Za-z0-9_]+: )(.*)$/m.exec(text);
      if (!eq) return text;
      const v = /^ {2}(b[A-Za-z0-9_]*):/m.exec(text)?.[1];
      if (!v) return text;
      return text.replace(eq[0], `${eq[1]}${eq[2]}${` + 0.001 * ${v}`.repeat(m.terms)}`);
    }
  }
}
