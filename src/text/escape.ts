// One escaping function per output context: every string from a spec reaches generated text through one of these.
//
// Use (any stage may import this file; it imports nothing):
//
//   TypeScript   tsLineComment(s)  body of a `// ...` comment        tsBlockComment(s)  body of `/* ... */` or `/** ... */`
//                tsString(s)       a complete '...' literal          tsTemplate(s)      the body of a `...` literal
//                tsKey(s)          an object-literal / type key      (identifiers: see src/emit/names.ts)
//   WGSL         wgslComment(s)    body of a `// ...` comment
//   LaTeX        latexText(s)      text-mode text (\text{...}, prose) latexComment(s)   body of a `% ...` comment
//   HTML         htmlText(s)       element content                    htmlAttr(s)        a quoted attribute value
//                scriptJson(v)     JSON inside a <script> element
//   Terminal     terminal(s)       a line for the user's terminal (diagnostics, logs)
//
// The rule shared by all of them: line terminators (\n \r U+2028 U+2029 U+0085), every C0 and C1 control character,
// DEL, lone surrogates and bidirectional overrides never reach the output raw. They are written as a visible escape
// (`\n`, `\x1b`, `\u2028`), so a title with an ESC sequence shows as text and cannot end a comment or a string.

/** Characters that are never written raw in one-line contexts: controls, line/paragraph separators, bidi controls. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The visible escape of one unsafe character: `\n`, `\x1b`, `\u2028`. */
export function visibleEscape(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Replaces every unsafe character (see UNSAFE) by its visible escape; `keep` lists characters left as they are. */
export function escapeControls(s: string, keep = ''): string {
  return s.replace(UNSAFE, (ch) => (keep.includes(ch) ? ch : visibleEscape(ch)));
}

/** True when `s` holds a character that escapeControls would rewrite. */
export function hasControls(s: string): boolean {
  UNSAFE.lastIndex = 0;
  const r = UNSAFE.test(s);
  UNSAFE.lastIndex = 0;
  return r;
}

// ---- TypeScript / JavaScript ------------------------------------------------------------------------------------

/** Text for a `//` comment: one line whatever `s` holds. */
export function tsLineComment(s: string): string {
  return escapeControls(s);
}

/** Text for a block or JSDoc comment: one line, and `*\/` cannot close the comment early. */
export function tsBlockComment(s: string): string {
  return escapeControls(s).replace(/\*\//g, '*\\/');
}

/** A complete single-quoted string literal denoting exactly `s`. */
export function tsString(s: string): string {
  let out = "'";
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (hasControls(ch)) out += visibleEscape(ch); // a lone surrogate comes alone from for..of, and is caught here
    else out += ch;
  }
  return `${out}'`;
}

/** The body of a template literal denoting exactly `s` (no substitution can start; newlines are kept). */
export function tsTemplate(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/`/g, '\\`')
    .replace(/\$\{/g, '\\${')
    .replace(UNSAFE, (ch) => (ch === '\n' ? ch : visibleEscape(ch)));
}

const TS_IDENTIFIER_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property key for an object literal or a type literal: bare when it is an identifier name, else quoted. */
export function tsKey(s: string): string {
  // `__proto__: v` in an object literal sets the prototype instead of defining a key: always quote and compute it.
  if (s === '__proto__') return `[${tsString(s)}]`;
  return TS_IDENTIFIER_NAME.test(s) ? s : tsString(s);
}

// ---- WGSL -------------------------------------------------------------------------------------------------------

/** Text for a WGSL `//` comment (WGSL also breaks lines at \v \f U+0085 U+2028 U+2029: all escaped). */
export function wgslComment(s: string): string {
  // `/*` inside a line comment is inert in WGSL, but block comments nest: keep both markers visibly broken anyway.
  return escapeControls(s).replace(/\/\*/g, '/ *').replace(/\*\//g, '* /');
}

// ---- LaTeX ------------------------------------------------------------------------------------------------------

const LATEX_SPECIAL: Readonly<Record<string, string>> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  $: '\\$',
  '&': '\\&',
  '#': '\\#',
  '^': '\\textasciicircum{}',
  _: '\\_',
  '%': '\\%',
  '~': '\\textasciitilde{}',
};

/** Text-mode LaTeX denoting `s` literally: no command, group, comment, catcode trick (`^^5c`) or line break survives. */
export function latexText(s: string): string {
  return escapeControls(s).replace(/[\\{}$&#^_%~]/g, (c) => LATEX_SPECIAL[c]!);
}

/** Text for a `%` comment in a .tex file: one line, and no `^^` notation (TeX decodes it before it sees the %). */
export function latexComment(s: string): string {
  return escapeControls(s).replace(/\^\^/g, '^ ^');
}

// ---- HTML -------------------------------------------------------------------------------------------------------

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

/** Element content denoting `s`; newlines are kept (they are whitespace in HTML), other controls shown escaped. */
export function htmlText(s: string): string {
  return s.replace(UNSAFE, (ch) => (ch === '\n' ? ch : visibleEscape(ch))).replace(/[&<>"'`=]/g, (c) => HTML_ESCAPES[c]!);
}

/** A double-quoted attribute value denoting `s`. */
export function htmlAttr(s: string): string {
  return escapeControls(s).replace(/[&<>"'`=]/g, (c) => HTML_ESCAPES[c]!);
}

/** JSON for a `<script>` element: `</script>`, `<!--` and U+2028/9 cannot end or confuse it. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

// ---- terminal ---------------------------------------------------------------------------------------------------

/**
 * A line for the user's terminal: ESC sequences (`\x1b]`, `\x1b[2J`), other controls and bidi overrides are printed
 * as visible escapes. `keep` may list characters to pass (a source line keeps its tabs so a caret lines up).
 */
export function terminal(s: string, keep = ''): string {
  return escapeControls(s, keep);
}
