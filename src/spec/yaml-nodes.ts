// Reading YAML nodes of a spec: spans, typed access and key lists; every mistake is a Diagnostic at the node.

import { isMap, isScalar, type Node as YNode, Scalar, type YAMLMap } from 'yaml';
import { Diagnostic, type Span } from './diagnostic.js';

/** The file being read, for spans. */
export interface Ctx {
  file: string;
  text: string;
}

/** A node's span, at least one character wide where the text allows (an empty node still gets a caret). */
export const spanOfNode = (c: Ctx, n: YNode | null | undefined): Span => {
  const [start, end] = n?.range ?? [0, 1];
  const s = Math.min(start, c.text.length);
  return { file: c.file, start: s, end: Math.min(Math.max(s + 1, end), c.text.length) };
};

export function fail(c: Ctx, n: YNode | null | undefined, message: string, hint?: string): never {
  throw new Diagnostic(message, spanOfNode(c, n), hint);
}

/** Offset in the file of the first character of a scalar's value. */
export function valueOffset(c: Ctx, s: Scalar): number {
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
export function exprSource(c: Ctx, s: Scalar, value: string): { text: string; offset: number } {
  const end = s.range?.[1] ?? 0;
  const quoted = s.type === Scalar.QUOTE_DOUBLE || s.type === Scalar.QUOTE_SINGLE;
  const from = valueOffset(c, s);
  const raw = c.text.slice(from, Math.max(from, quoted ? end - 1 : end)).replace(/[\r\n\t]/g, ' ');
  const squash = (t: string) => t.replace(/\s+/g, ' ').trim();
  // A value longer than its spelling (.inf -> Infinity) would reach past the scalar: keep the spelling then.
  if (squash(raw) === squash(value) || value.length > raw.length) return { text: raw.trimEnd(), offset: from };
  return { text: value.replace(/[\r\n\t]/g, ' ').trimEnd(), offset: from };
}

export function asMap(c: Ctx, n: YNode | null | undefined, what: string): YAMLMap<Scalar, YNode> {
  if (!isMap(n)) fail(c, n, `${what} must be a mapping`, `write ${what} as 'key: value' lines`);
  return n as YAMLMap<Scalar, YNode>;
}

export function asString(c: Ctx, n: YNode | null | undefined, what: string): string {
  if (!isScalar(n) || typeof n.value !== 'string' || n.value.trim() === '') fail(c, n, `${what} must be a non-empty string`);
  return (n.value as string).trim();
}

export function asScalarText(c: Ctx, n: YNode | null | undefined, what: string): { text: string; node: Scalar } {
  if (!isScalar(n) || n.value === null || typeof n.value === 'boolean' || typeof n.value === 'object') fail(c, n, `${what} must be a string or number`);
  if (String(n.value).trim() === '') fail(c, n, `${what} is empty`);
  return { text: String(n.value), node: n };
}

/** Entries of a mapping with their key spans; a repeated key is an error at its second use. */
export function entries(c: Ctx, m: YAMLMap<Scalar, YNode>, what: string): { key: string; keyNode: Scalar; value: YNode | null }[] {
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
