// Benchmark tables: aligned text on stdout, the same rows as JSON and as a Markdown table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Value = string | number | boolean | null | undefined;
export type Row = Record<string, Value>;

export interface Column {
  key: string;
  /** header text; defaults to the key */
  title?: string;
  /** fraction digits for numbers; defaults to 3 significant-ish digits */
  digits?: number;
}

function fmt(v: Value, digits?: number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (digits !== undefined) return v.toFixed(digits);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return v.toFixed(a >= 100 ? 1 : a >= 10 ? 2 : 3);
  }
  return String(v);
}

/** Columns in first-seen key order when none are given. */
function columnsOf(rows: readonly Row[], columns?: readonly Column[]): Column[] {
  if (columns) return [...columns];
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  return keys.map((key) => ({ key }));
}

function cells(rows: readonly Row[], cols: readonly Column[]): { head: string[]; body: string[][]; numeric: boolean[] } {
  return {
    head: cols.map((c) => c.title ?? c.key),
    body: rows.map((r) => cols.map((c) => fmt(r[c.key], c.digits))),
    numeric: cols.map((c) => rows.some((r) => typeof r[c.key] === 'number') && rows.every((r) => r[c.key] == null || typeof r[c.key] === 'number')),
  };
}

/** Plain-text table: numbers right-aligned, text left-aligned. */
export function formatTable(rows: readonly Row[], columns?: readonly Column[]): string {
  const cols = columnsOf(rows, columns);
  const { head, body, numeric } = cells(rows, cols);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (xs: string[]): string => xs.map((x, i) => (numeric[i] ? x.padStart(width[i]) : x.padEnd(width[i]))).join('  ').trimEnd();
  return [line(head), width.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function formatMarkdown(rows: readonly Row[], columns?: readonly Column[]): string {
  const cols = columnsOf(rows, columns);
  const { head, body, numeric } = cells(rows, cols);
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${numeric.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`,
    ...body.map((b) => `| ${b.map(esc).join(' | ')} |`),
  ].join('\n') + '\n';
}

export interface ReportOptions {
  title?: string;
  columns?: readonly Column[];
  /** write the raw rows (unformatted numbers) here */
  json?: string;
  /** write a Markdown table (with the title as a heading) here */
  markdown?: string;
  /** print to stdout (default true) */
  print?: boolean;
}

export function writeReport(rows: readonly Row[], opts: ReportOptions = {}): void {
  if (opts.print ?? true) {
    if (opts.title) console.log(`\n${opts.title}`);
    console.log(formatTable(rows, opts.columns));
  }
  if (opts.json) {
    mkdirSync(dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ title: opts.title ?? null, rows }, null, 2) + '\n');
  }
  if (opts.markdown) {
    mkdirSync(dirname(opts.markdown), { recursive: true });
    writeFileSync(opts.markdown, (opts.title ? `### ${opts.title}\n\n` : '') + formatMarkdown(rows, opts.columns));
  }
}

/** `--json PATH --md PATH` from a CLI argument list (for the bench scripts' direct entry points). */
export function reportPathsFromArgs(argv: readonly string[]): { json?: string; markdown?: string } {
  const at = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return { json: at('--json'), markdown: at('--md') };
}
