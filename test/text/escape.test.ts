import { describe, expect, it } from 'vitest';
import * as ts from 'typescript';
import { htmlAttr, htmlText, latexComment, latexText, scriptJson, terminal, tsBlockComment, tsKey, tsLineComment, tsString, tsTemplate, wgslComment } from '../../src/text/escape.js';

const PAYLOADS = [
  'plain', 'a\nb', 'a\rb', 'a\u2028b', 'a\u2029b', 'a\u0085b', '*/ evil() /*', '</script><script>alert(1)</script>', '${process.exit(1)}',
  '`backtick`', "it's", '"q"', '\\', '\\\\n', '^^5cinput{/etc/passwd}', '\x1b]0;pwned\x07', '\x1b[2J', '\u202eevil', '\ud800', 'x\udc00y',
  '\u0000\u0001\u001f\u007f\u009b', '\t', '\v\f', 'e\u0301', '😀', '\ufeff',
];
const LINE_BREAKS = /[\n\r\u2028\u2029\u0085\v\f]/;

/** Evaluates one TS/JS expression by transpiling a module that exports it. */
function evalTs(expr: string): unknown {
  const js = ts.transpileModule(`export default (${expr});`, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const m = { exports: {} as { default?: unknown } };
  new Function('module', 'exports', js)(m, m.exports);
  return m.exports.default;
}

describe('escape', () => {
  it.each(PAYLOADS)('keeps %j on one line in every comment context', (p) => {
    for (const f of [tsLineComment, tsBlockComment, wgslComment, latexComment, terminal]) {
      const out = f(p);
      expect(out).not.toMatch(LINE_BREAKS);
      expect(out).not.toMatch(/[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/);
      expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  });

  it.each(PAYLOADS)('comments holding %j leave the code around them intact', (p) => {
    const src = `// ${tsLineComment(p)}\n/** ${tsBlockComment(p)} */\nexport const v = 1;`;
    const out = ts.transpileModule(src, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.CommonJS } });
    expect(out.diagnostics ?? []).toEqual([]);
    expect(out.outputText).toContain('exports.v = 1');
  });

  it.each(PAYLOADS)('a TS string literal and template of %j denote it exactly', (p) => {
    expect(evalTs(tsString(p))).toBe(p);
    expect(evalTs(`\`${tsTemplate(p)}\``)).toBe(p);
  });

  it('keeps a template literal free of substitutions', () => {
    expect(tsTemplate('${x}`')).toBe('\\${x}\\`');
  });

  it('quotes keys that are not identifier names, and computes __proto__', () => {
    expect(tsKey('W_z')).toBe('W_z');
    expect(tsKey('a b')).toBe("'a b'");
    expect(Object.getOwnPropertyDescriptor(evalTs(`{ ${tsKey('__proto__')}: 1 }`), '__proto__')?.value).toBe(1);
  });

  it('shows ESC sequences visibly on a terminal', () => {
    expect(terminal('a\x1b[2Jb')).toBe('a\\x1b[2Jb');
    expect(terminal('\x1b]0;t\x07')).toBe('\\x1b]0;t\\x07');
    expect(terminal('a\tb', '\t')).toBe('a\tb');
    expect(terminal('\u202e')).toBe('\\u202e');
  });

  it('shows every bidirectional mark visibly: LRM, RLM and the Arabic letter mark', () => {
    for (const ch of ['\u200e', '\u200f', '\u061c']) {
      const code = `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
      for (const f of [terminal, tsLineComment, wgslComment, latexComment, htmlAttr]) expect(f(`a${ch}b`)).toBe(`a${code}b`);
    }
  });

  it('turns every TeX special character into text', () => {
    expect(latexText('^^5cinput')).not.toContain('^^');
    expect(latexText('\\input{x} % $ & # _ ~')).toBe('\\textbackslash{}input\\{x\\} \\% \\$ \\& \\# \\_ \\textasciitilde{}');
    expect(latexComment('^^5c')).not.toContain('^^');
  });

  it('escapes HTML text, attributes and script JSON', () => {
    expect(htmlText('</script><b>')).toBe('&lt;/script&gt;&lt;b&gt;');
    expect(htmlAttr('" onload="x')).not.toContain('"');
    expect(htmlAttr('a\nb')).toBe('a\\nb');
    const j = scriptJson({ t: '</script>\u2028<!--' });
    expect(j).not.toMatch(/<|\u2028/);
    expect(JSON.parse(j)).toEqual({ t: '</script>\u2028<!--' });
  });
});
