// Property: any mutation of a valid spec compiles, or fails with a Diagnostic located inside that spec.

import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileCell } from '../../src/derive/compile.js';
import { terminal } from '../../src/text/escape.js';
import { Diagnostic, formatDiagnostic } from '../../src/spec/diagnostic.js';

/** The shipped cells, and the unusual valid specs (custom activations, multi-line and quoted equations). */
const CELLS = ['cells', 'test/fixtures/good'].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.cell.yaml'))
    .sort()
    .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(`${dir}/${f}`, 'utf8') })),
);

/**
 * A fixed seed keeps CI deterministic; hunt further with other seeds and more runs:
 * CELLGEN_FUZZ_SEED=$RANDOM CELLGEN_FUZZ_RUNS=5000 npx vitest run test/spec/property.test.ts
 */
const RUNS = Number(process.env.CELLGEN_FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.CELLGEN_FUZZ_SEED ?? 20261201);

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;
const NAMES = ['x', 'h', 'h_prev', 'c_prev', 'W_z', 'hidden', 'input', 'sigmoid', 'tanh', 'relu', 'concat', 'exp', 'floor', 'max',
  'sign', 'step', 'neg', 'function', 'constructor', '__proto__', 'toString', 'prototype', 'pi', 'e', 'i', 'Infinity', 'NaN', 'true',
  'null', 'end', 'to', 'in', 'mod', 'not', 'and', 'or', 'xor', 'cm', 'h__x', 'W-z', '2h', '<script>', '*/', 'h_prev_prev', 'x_grad'];
const SNIPPETS = [' ', ':', ': ', '-', '- ', '[', ']', '{', '}', '#', "'", '"', '\t', '\n', '\n  ', '*', '.*', './', '/', '^', '(', ')',
  ',', '_', '0', '1', '2', '1e400', '-1', '0.5', '|', '>', '&a', '*a', '!', '?', '=', ';', '\\', '\\href{javascript:x}', '$',
  '%', '~', '`', "'", 'x', 'h_prev', 'sigmoid(', 'concat(x, x)', ' 2 x', ' [1, 2]', '1:3', "h'", '@', '\u00a0', '\u00e9', '\r\n'];
const OPERATORS = [' + ', ' - ', ' * ', ' .* ', ' ./ ', ' / ', ' ^ ', ' .^ ', ', ', ' == ', ' = ', ' ', ' ? ', ' : ', "'", '!', ' to ', ' mod '];
const SIZES = ['-1', '0', '1', '2', '3', '0.5', '4096', '4097', '100000000', '1e400', '.inf', '.nan', '0x10', '~', 'null', 'hidden'];

type Mutation =
  | { kind: 'deleteLine'; at: number }
  | { kind: 'duplicateLine'; at: number }
  | { kind: 'swapLines'; at: number; with: number }
  | { kind: 'deleteChars'; at: number; len: number }
  | { kind: 'insert'; at: number; what: string }
  | { kind: 'renameIdent'; at: number; to: string }
  | { kind: 'nearMiss'; at: number; edit: number; ch: string }
  | { kind: 'resize'; at: number; to: string }
  | { kind: 'operator'; at: number; to: string }
  | { kind: 'truncate'; at: number };

/** A position as a fraction of the text, uniform (fast-check's bias to small values would hit line 1 only). */
const frac = fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1_000_000);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteLine' as const), at: frac }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicateLine' as const), at: frac }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swapLines' as const), at: frac, with: frac }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteChars' as const), at: frac, len: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: frac, what: fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 4 })) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('renameIdent' as const), at: frac, to: fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,6}$/)) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('nearMiss' as const), at: frac, edit: fc.integer({ min: 0, max: 3 }), ch: fc.constantFrom('a', 'z', '_', '1', 'v') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resize' as const), at: frac, to: fc.constantFrom(...SIZES) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('operator' as const), at: frac, to: fc.constantFrom(...OPERATORS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: frac }) },
);

const pick = <T>(xs: readonly T[], f: number): T | undefined => xs[Math.floor(f * xs.length)];

/**
 * Applies a mutation. Except for truncation, it lands from 'sizes:' on: the prose above it (title, description,
 * references) is free text where most edits change nothing.
 */
function apply(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const body = Math.max(0, text.indexOf('\nsizes:') + 1);
  const bodyLine = text.slice(0, body).split('\n').length - 1;
  const li = bodyLine + Math.floor(m.at * (lines.length - bodyLine));
  const pos = m.kind === 'truncate' ? Math.floor(m.at * (text.length + 1)) : body + Math.floor(m.at * (text.length + 1 - body));
  switch (m.kind) {
    case 'deleteLine':
      return lines.filter((_, i) => i !== li).join('\n');
    case 'duplicateLine':
      return [...lines.slice(0, li + 1), ...lines.slice(li)].join('\n');
    case 'swapLines': {
      const lj = bodyLine + Math.floor(m.with * (lines.length - bodyLine));
      [lines[li], lines[lj]] = [lines[lj]!, lines[li]!];
      return lines.join('\n');
    }
    case 'deleteChars':
      return text.slice(0, pos) + text.slice(pos + m.len);
    case 'insert':
      return text.slice(0, pos) + m.what + text.slice(pos);
    case 'truncate':
      return text.slice(0, pos);
    case 'renameIdent':
    case 'nearMiss': {
      const hit = pick([...text.matchAll(IDENT)].filter((h) => h.index! >= body), m.at);
      if (!hit) return text;
      const name = hit[0];
      let to: string;
      if (m.kind === 'renameIdent') to = m.to;
      else if (m.edit === 0) to = name.slice(0, -1) || m.ch; // drop the last character
      else if (m.edit === 1) to = name + m.ch; // add one
      else if (m.edit === 2) to = name.length > 1 ? name[1]! + name[0]! + name.slice(2) : m.ch + name; // swap two
      else to = `${name}_prev`;
      return text.slice(0, hit.index) + to + text.slice(hit.index! + name.length);
    }
    case 'operator': {
      const hit = pick([...text.matchAll(/ ?(?:\.?[*/^]|[+-]) ?/g)].filter((h) => h.index! >= body), m.at);
      if (!hit) return text;
      return text.slice(0, hit.index) + m.to + text.slice(hit.index! + hit[0].length);
    }
    case 'resize': {
      const hit = pick([...text.matchAll(/\b\d+\b/g)].filter((h) => h.index! >= body), m.at);
      if (!hit) return text;
      return text.slice(0, hit.index) + m.to + text.slice(hit.index! + hit[0].length);
    }
  }
}

/** Compiles, or fails with a Diagnostic whose span lies within the text of `file`; anything else is a bug. */
function compilesOrDiagnoses(text: string, file: string): void {
  try {
    compileCell(text, file);
  } catch (e) {
    if (!(e instanceof Diagnostic)) throw new Error(`not a Diagnostic: ${e instanceof Error ? e.stack : String(e)}\n--- spec ---\n${text}`);
    const span = e.span;
    expect(span, `no span: ${e.message}`).toBeDefined();
    expect(span!.file).toBe(file);
    expect(span!.start, e.message).toBeGreaterThanOrEqual(0);
    expect(span!.end, e.message).toBeGreaterThanOrEqual(span!.start);
    expect(span!.end, e.message).toBeLessThanOrEqual(text.length);
    expect(formatDiagnostic(e)).toContain(`error: ${terminal(e.message, '\t')}`);
    // Where the message starts with the name of what is wrong, the caret must be on that name (or its quote).
    const named = /^(?:(?:unknown (?:symbol|function|size|key)|state|parameter|input|output) )?'([A-Za-z0-9_$][^']*)' /.exec(e.message);
    if (named && !/has no update equation|is declared|would clash/.test(e.message)) {
      expect(text.slice(span!.start).replace(/^["']/, '').slice(0, named[1]!.length), e.message).toBe(named[1]);
    }
  }
}

describe('mutated valid specs', () => {
  it('end in success or in a Diagnostic inside the spec, never in another exception', () => {
    fc.assert(
      fc.property(fc.nat({ max: CELLS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (ci, ms) => {
        const { file, text } = CELLS[ci]!;
        compilesOrDiagnoses(ms.reduce(apply, text), file);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('every seed spec compiles unchanged', () => {
    for (const { file, text } of CELLS) expect(() => compileCell(text, file)).not.toThrow();
  });
});
