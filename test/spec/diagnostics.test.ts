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
    const gutter = ' '.repeat(String(want.line).length);
    expect(lines[3]).toBe(`${want.line} | ${text.split('\n')[want.line - 1]!.replace(/\r$/, '')}`);
    expect(lines[4]).toMatch(new RegExp(`^${gutter} \\| {${want.col}}\\^+( |$)`));
    if (want.hint !== undefined) {
      expect(d.hint).toContain(want.hint);
      expect(lines[4]).toContain(want.hint);
    }
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
