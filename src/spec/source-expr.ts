// Parses one mathjs expression from a spec and recovers the source range of every node.

import { parse, type MathNode } from './mathjs.js';
import { Diagnostic, type Span } from './diagnostic.js';
import type { SourceExpr } from './types.js';

/** Names and numbers as mathjs reads them: names may hold $, accented Latin, Greek and math letters; 0x/0b/0o numbers. */
const TOKEN = new RegExp(
  [
    String.raw`(?:[A-Za-z_$\u00C0-\u02AF\u0370-\u03FF\u2100-\u214F]|\uD835[\uDC00-\uDFFF])(?:[A-Za-z0-9_$\u00C0-\u02AF\u0370-\u03FF\u2100-\u214F]|\uD835[\uDC00-\uDFFF])*`,
    String.raw`0[xX][0-9A-Fa-f]+|0[bB][01]+|0[oO][0-7]+`,
    String.raw`(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?`,
  ].join('|'),
  'g',
);

interface Tok {
  text: string;
  start: number;
  end: number;
}

/** mathjs nodes carry no positions: match their leaves, in source order, to the tokens of the text. */
function rangesOf(text: string, root: MathNode): Map<MathNode, readonly [number, number]> {
  const toks: Tok[] = [];
  for (const m of text.matchAll(TOKEN)) toks.push({ text: m[0], start: m.index!, end: m.index! + m[0].length });
  const match = new Map<number, number>(); // '(' offset -> ')' offset
  const stack: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') stack.push(i);
    else if (text[i] === ')' && stack.length) match.set(stack.pop()!, i);
  }
  let k = 0;
  const out = new Map<MathNode, readonly [number, number]>();
  const take = (want: (t: Tok) => boolean): Tok | undefined => {
    for (let j = k; j < toks.length; j++) {
      if (want(toks[j]!)) {
        k = j + 1;
        return toks[j];
      }
    }
    return undefined;
  };
  const openBefore = (s: number): number | undefined => {
    let i = s - 1;
    while (i >= 0 && /\s/.test(text[i]!)) i--;
    return i >= 0 && text[i] === '(' ? i : undefined;
  };
  const visit = (n: MathNode): readonly [number, number] => {
    let r: readonly [number, number] = [0, text.length];
    const a = n as unknown as Record<string, unknown>;
    switch (n.type) {
      case 'SymbolNode': {
        const t = take((t) => t.text === a.name);
        if (t) r = [t.start, t.end];
        break;
      }
      case 'ConstantNode': {
        if (typeof a.value === 'string') {
          // A string literal: from the next quote to its match, skipping the tokens inside.
          const from = k > 0 ? toks[k - 1]!.end : 0;
          const open = text.slice(from).search(/["']/);
          if (open >= 0) {
            const q = text[from + open]!;
            let i = from + open + 1;
            while (i < text.length && text[i] !== q) i += text[i] === '\\' ? 2 : 1;
            r = [from + open, Math.min(text.length, i + 1)];
            while (k < toks.length && toks[k]!.start < r[1]) k++;
          }
          break;
        }
        const t = take((t) => /^[\d.]/.test(t.text));
        if (t) r = [t.start, t.end];
        break;
      }
      case 'FunctionNode': {
        const fnName = (a.fn as { name?: string }).name ?? '';
        const t = take((t) => t.text === fnName);
        const args = (a.args as MathNode[]).map(visit);
        const start = t ? t.start : args[0]?.[0] ?? 0;
        let end = args.length ? args[args.length - 1]![1] : start;
        const open = t ? text.indexOf('(', t.end) : -1;
        if (open >= 0 && match.has(open)) end = match.get(open)! + 1;
        r = [start, end];
        break;
      }
      case 'ParenthesisNode': {
        const inner = visit(a.content as MathNode);
        const open = openBefore(inner[0]);
        r = open !== undefined && match.has(open) ? [open, match.get(open)! + 1] : inner;
        break;
      }
      default: {
        const kids: MathNode[] = [];
        n.forEach((c: MathNode) => kids.push(c));
        const rs = kids.map(visit);
        if (rs.length) r = [Math.min(...rs.map((x) => x[0])), Math.max(...rs.map((x) => x[1]))];
        // A prefix operator starts at its symbol.
        if (n.type === 'OperatorNode' && rs.length === 1 && rs[0]) {
          let i = rs[0][0] - 1;
          while (i >= 0 && /\s/.test(text[i]!)) i--;
          if (i >= 0 && /[-+]/.test(text[i]!)) r = [i, r[1]];
        }
      }
    }
    out.set(n, r);
    return r;
  };
  visit(root);
  return out;
}

/** Parse `text`, found at `offset` in `file`, into a SourceExpr; syntax errors become diagnostics. */
/**
 * The deepest nesting an expression may have. Readers, lowering, derivation and printers walk expressions
 * recursively, so depth (not length) is what must be bounded: a sum of thousands of terms written as a chain
 * `a + b + c + ...` is a tree that deep. Deeper expressions are refused with a diagnostic, before any walk.
 */
export const MAX_EXPR_DEPTH = 500;

/** Offset of the first bracket nested deeper than `limit`, found without recursion (mathjs's parser recurses). */
function tooDeepBracket(text: string, limit: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(' || ch === '[' || ch === '{') {
      if (++depth > limit) return i;
    } else if (ch === ')' || ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** The depth of a parsed tree and its deepest node, by an explicit stack. */
function treeDepth(root: MathNode): number {
  let max = 0;
  const stack: [MathNode, number][] = [[root, 1]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    n.forEach((c) => stack.push([c, d + 1]));
  }
  return max;
}

export function parseSourceExpr(text: string, offset: number, file: string, what: string): SourceExpr {
  const deepHint = 'split it: give parts of it names as intermediate equations';
  const deep = tooDeepBracket(text, MAX_EXPR_DEPTH / 2);
  if (deep !== undefined) throw new Diagnostic(`${what} nests brackets more than ${MAX_EXPR_DEPTH / 2} deep`, { file, start: offset + deep, end: offset + deep + 1 }, deepHint);
  let node: MathNode;
  try {
    node = parse(text);
  } catch (e) {
    if (e instanceof RangeError) throw new Diagnostic(`${what} is nested too deeply to parse`, { file, start: offset, end: offset + Math.min(1, text.length) }, deepHint);
    const msg = e instanceof Error ? e.message : String(e);
    const m = /\(char (\d+)\)/.exec(msg);
    const at = m ? Math.max(0, Math.min(text.length, Number(m[1]) - 1)) : 0;
    // mathjs quotes the whole rest of the text ('Syntax error in part "`x + b)"'): name the character instead.
    const bad = /^Syntax error in part "(.)/u.exec(msg);
    const reason = bad ? `unexpected character '${bad[1]}'` : msg.replace(/\s*\(char \d+\)/, '');
    throw new Diagnostic(`cannot parse ${what}: ${reason}`, { file, start: offset + at, end: offset + Math.min(at + 1, text.length) }, 'check the expression syntax (mathjs: * matrix product, .* elementwise)');
  }
  const depth = treeDepth(node);
  if (depth > MAX_EXPR_DEPTH)
    throw new Diagnostic(`${what} is ${depth} operations deep; at most ${MAX_EXPR_DEPTH} are supported`, { file, start: offset, end: offset + Math.min(1, text.length) }, deepHint);
  return { text, node, offset, ranges: rangesOf(text, node), file };
}

/** The file span of a node of a parsed expression. */
export function spanOf(e: SourceExpr, n: MathNode): Span {
  const r = e.ranges.get(n) ?? [0, e.text.length];
  return { file: e.file, start: e.offset + r[0], end: e.offset + r[1] };
}
