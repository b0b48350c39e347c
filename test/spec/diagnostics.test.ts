// Every malformed spec under test/fixtures/bad fails with a Diagnostic at the place its first line names.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCell } from '../../src/derive/compile.js';
import { Diagnostic, formatDiagnostic } from '../../src/spec/diagnostic.js';

const DIR = 'test/fixtures/bad';
const FIXTURES = readdirSync(DIR)
  .filter((f) => f.endsWith('.cell.yaml'))
  .sort();

interface Expectation {
  line: number;
  col: number;
  message: string;
  hint?: string;
}

/** `# expect: <line>:<col> <part of the message>` on line 1, optionally `# hint: <part of the hint>` after it. */
function expectationOf(text: string): Expectation {
  const m = /^# expect: (\d+):(\d+) (.+)$/m.exec(text.split('\n')[0]!);
  if (!m) throw new Error("a bad fixture starts with '# expect: <line>:<col> <message>'");
  const hint = /^# hint: (.+)$/m.exec(text)?.[1];
  return { line: Number(m[1]), col: Number(m[2]), message: m[3]!, hint };
}

/** The caret row: gutter, then blanks (tabs where the source has them) up to the column, then carets. */
function caretAt(line: number, src: string, col: number): RegExp {
  const pad = src.slice(0, col - 1).replace(/[^\t]/g, ' ');
  return new RegExp(`^${' '.repeat(String(line).length)} \\| ${pad}\\^+( |$)`);
}

function diagnosticOf(text: string, file: string): Diagnostic {
  try {
    compileCell(text, file);
  } catch (e) {
    if (e instanceof Diagnostic) return e;
    throw new Error(`expected a Diagnostic, got ${e instanceof Error ? e.stack : String(e)}`);
  }
  throw new Error('the spec compiled');
}

describe('malformed specs', () => {
  it('there are at least 25 fixtures', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(25);
  });

  it.each(FIXTURES)('%s fails with a Diagnostic at the expected place', (name) => {
    const file = `${DIR}/${name}`;
    const text = readFileSync(file, 'utf8');
    const want = expectationOf(text);
    const d = diagnosticOf(text, file);
    expect(d.message).toContain(want.message);
    expect(d.span?.file).toBe(file);

    const out = formatDiagnostic(d);
    const lines = out.split('\n');
    expect(lines[0]).toBe(`error: ${d.message}`);
    expect(lines[1]).toBe(` --> ${file}:${want.line}:${want.col}`);
    // The source line, then the caret under the column the location names.
    const src = text.split('\n')[want.line - 1]!.replace(/\r$/, '');
    expect(lines[3]).toBe(`${want.line} | ${src}`);
    expect(lines[4]).toMatch(caretAt(want.line, src, want.col));
    if (want.hint !== undefined) {
      expect(d.hint).toContain(want.hint);
      expect(lines[4]).toContain(want.hint);
    }
  });
});

describe('locations', () => {
  const file = `${DIR}/unknown-symbol.cell.yaml`;
  const text = readFileSync(file, 'utf8');
  const want = expectationOf(text);

  it('do not change with CRLF line endings', () => {
    const d = diagnosticOf(text.replace(/\n/g, '\r\n'), file);
    const lines = formatDiagnostic(d).split('\n');
    expect(lines[1]).toBe(` --> ${file}:${want.line}:${want.col}`);
    expect(lines[3]).not.toContain('\r');
  });

  it('keep tabs before the caret so it lines up', () => {
    const tabbed = text.replace('tanh(W * x + U', 'tanh(W *\tx + U');
    const lines = formatDiagnostic(diagnosticOf(tabbed, file)).split('\n');
    const src = tabbed.split('\n')[want.line - 1]!;
    expect(lines[4]).toMatch(caretAt(want.line, src, want.col));
    expect(lines[4]).toContain('\t');
  });
});

describe('empty specs', () => {
  it.each([
    ['an empty file', ''],
    ['a file of blank lines', '\n  \n'],
    ['a file of comments', '# nothing yet\n'],
  ])('%s is reported as empty', (_, text) => {
    const d = diagnosticOf(text, 'cells/blank.cell.yaml');
    expect(d.message).toBe('the spec file is empty');
    expect(formatDiagnostic(d)).toContain('cells/blank.cell.yaml:1:1');
  });
});
