// Diagnostics for mistakes in a spec: a message, a source span, a hint, and a rustc-style formatter.

import { terminal } from '../text/escape.js';

/** A half-open range of character offsets into one source file. */
export interface Span {
  readonly file: string;
  readonly start: number;
  readonly end: number;
}

/** A user mistake in a spec. Never carries a stack trace to the user. */
export class Diagnostic extends Error {
  constructor(
    message: string,
    readonly span?: Span,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'Diagnostic';
  }
}

/** A broken internal assumption: a bug in cellgen, not in the user's spec. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(`internal error: ${message}`);
    this.name = 'InvariantError';
  }
}

/** Source texts by file name, so a diagnostic can be printed with its line. */
const sources = new Map<string, string>();

export function registerSource(file: string, text: string): void {
  sources.set(file, text);
}

export function sourceOf(file: string): string | undefined {
  return sources.get(file);
}

export interface LineCol {
  line: number; // 1-based
  col: number; // 1-based
}

export function lineColOf(text: string, offset: number): LineCol {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

/** "file:line:col" for a span, or just the file when the source is unknown. */
export function locationOf(span: Span): string {
  const text = sources.get(span.file);
  if (text === undefined) return span.file;
  const { line, col } = lineColOf(text, span.start);
  return `${span.file}:${line}:${col}`;
}

/**
 * Formats a diagnostic like
 *
 *     error: unknown symbol 'h_pre' in equation for z
 *      --> cells/gru.cell.yaml:14:31
 *        |
 *     14 |   z: sigmoid(W_z * x + U_z * h_pre + b_z)
 *        |                              ^^^^^ did you mean 'h_prev'?
 */
export function formatDiagnostic(d: Diagnostic): string {
  // Everything printed may hold spec text: control characters and ESC sequences are shown escaped (terminal()).
  const out = [`error: ${terminal(d.message, '\t')}`];
  const span = d.span;
  const text = span ? sources.get(span.file) : undefined;
  if (span && text !== undefined) {
    const { line, col } = lineColOf(text, span.start);
    out.push(` --> ${terminal(span.file)}:${line}:${col}`);
    const lines = text.split('\n');
    const raw = (lines[line - 1] ?? '').replace(/\r$/, '');
    const gutter = String(line).length;
    const pad = ' '.repeat(gutter);
    const lineEnd = text.indexOf('\n', span.start);
    const stop = Math.min(span.end, lineEnd === -1 ? text.length : lineEnd);
    const width = Math.max(1, stop - span.start);
    out.push(`${pad} |`);
    // The line is shown with controls escaped; the caret is placed under the escaped text, tabs kept so it lines up.
    const shown = (s: string) => terminal(s, '\t');
    out.push(`${line} | ${shown(raw)}`);
    const before = shown(raw.slice(0, col - 1));
    const under = shown(raw.slice(col - 1, col - 1 + width));
    const caret = before.replace(/[^\t]/g, ' ') + '^'.repeat(Math.max(1, under.length));
    out.push(`${pad} | ${caret}${d.hint ? ' ' + terminal(d.hint, '\t') : ''}`);
  } else {
    if (span) out.push(` --> ${terminal(span.file)}`);
    if (d.hint) out.push(`  = hint: ${terminal(d.hint, '\t')}`);
  }
  return out.join('\n');
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest candidate within a small edit distance, or undefined. */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3) + 1);
  return bestD <= limit ? best : undefined;
}

export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const n = nearest(name, candidates);
  return n === undefined ? undefined : `did you mean '${n}'?`;
}
