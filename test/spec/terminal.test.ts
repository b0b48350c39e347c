// Diagnostics quote spec text; ESC sequences and other controls in it reach the terminal escaped, never raw.

import { describe, expect, it } from 'vitest';
import { compileCell } from '../../src/derive/compile.js';
import { Diagnostic, formatDiagnostic } from '../../src/spec/diagnostic.js';
import { cellText } from '../cell-text.js';

const spec = (key: string) =>
  cellText({
    name: 'esc',
    title: 'Test cell',
    sizes: { input: '3', hidden: '4' },
    parameters: { W: '[hidden, input]', U: '[hidden, hidden]', b: 'hidden' },
    equations: { [`"${key}"`]: 'tanh(W * x + U * h_prev + b)', h: 'a' },
  });

function diagnose(text: string): string {
  try {
    compileCell(text, 'esc.cell.yaml');
  } catch (e) {
    if (e instanceof Diagnostic) return formatDiagnostic(e);
    throw e;
  }
  throw new Error('expected a diagnostic');
}

describe('diagnostics on a terminal', () => {
  it.each([
    ['\\e]0;pwned\\a', '\\x1b]0;pwned\\x07'],
    ['\\e[2J', '\\x1b[2J'],
    ['a\\x9b31m', 'a\\x9b31m'],
    ['\\u202eevil', '\\u202eevil'],
    ['a\\u2028b', 'a\\u2028b'],
  ])('print %s from the spec escaped, as %s', (yamlEscape, shown) => {
    const out = diagnose(spec(yamlEscape));
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
    expect(out).toContain(shown);
    expect(out).toMatch(/^ --> esc\.cell\.yaml:15:3$/m);
  });

  it('shows raw controls in the source line escaped, with the caret under the escaped text', () => {
    const text = spec('a').replace('  h: a', '  h: a + \x1b[2J\x1b]0;x\x07b');
    const out = diagnose(text);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    const lines = out.split('\n');
    const src = lines.find((l) => l.startsWith('16 | '))!;
    expect(src).toContain('\\x1b[2J\\x1b]0;x\\x07b');
    const caret = lines[lines.indexOf(src) + 1]!;
    expect(caret.indexOf('^')).toBeGreaterThanOrEqual(src.indexOf('\\x1b'));
  });
});
