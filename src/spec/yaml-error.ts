// YAML syntax errors of a spec, placed where the user has to act rather than where the parser gave up.

import type { YAMLError } from 'yaml';
import { Diagnostic } from './diagnostic.js';

/**
 * The opening bracket of a YAML flow collection that is not closed before a line indented no deeper than the line it
 * opened on (or before the end of the file): where the user has to add the ] or }. Quoted text and comments are skipped.
 */
export function unclosedBracket(text: string): number | undefined {
  const stack: { at: number; indent: number }[] = [];
  let lineIndent = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (lineStart) {
      let j = i;
      while (text[j] === ' ') j++;
      const blank = text[j] === '\n' || text[j] === '\r' || text[j] === '#' || j >= text.length;
      if (!blank) {
        lineIndent = j - i;
        if (stack.length && lineIndent <= stack[0]!.indent) return stack[stack.length - 1]!.at;
      }
      lineStart = false;
    }
    if (ch === '\n') lineStart = true;
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (ch === '"' || ch === "'") {
      // A quote starts a string only at the start of a scalar; inside one (it's) it is a plain character.
      let k = i - 1;
      while (k >= 0 && (text[k] === ' ' || text[k] === '\t')) k--;
      if (k < 0 || /[\s:,[{-]/.test(text[k]!)) {
        for (i++; i < text.length; i++) {
          if (ch === '"' && text[i] === '\\') i++;
          else if (text[i] === ch) {
            if (ch === "'" && text[i + 1] === "'") i++;
            else break;
          }
        }
      }
    } else if (ch === '[' || ch === '{') stack.push({ at: i, indent: lineIndent });
    else if ((ch === ']' || ch === '}') && stack.length) stack.pop();
  }
  return stack.length ? stack[stack.length - 1]!.at : undefined;
}

/** A YAML syntax error, placed where the user has to act rather than where the parser gave up. */
export function yamlError(file: string, text: string, e: YAMLError): Diagnostic {
  const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const hint = 'fix the YAML syntax (check indentation, colons and quotes; quote equations that start with * [ { or -)';
  const at = (start: number, message: string, h: string) => new Diagnostic(`YAML syntax error: ${message}`, { file, start, end: start + 1 }, h);
  if (e.code === 'MISSING_CHAR' && /quote/.test(msg)) {
    // An unclosed string runs to the end of the file: its opening quote is the last one that is not escaped.
    // Inside '...' a quote is written '', inside "..." as \"; so look for an odd run of ' or a " after an even run of \.
    const q = /'/.test(msg) ? "'" : '"';
    const esc = q === "'" ? "'" : '\\';
    for (let i = text.length - 1; i >= 0; i--) {
      if (text[i] !== q) continue;
      let j = i - 1;
      while (j >= 0 && text[j] === esc) j--;
      const unescaped = q === "'" ? (i - j) % 2 === 1 : (i - j - 1) % 2 === 0;
      if (unescaped) return at(q === "'" ? j + 1 : i, 'this quoted string is never closed', `add the closing ${q}`);
      if (q === "'") i = j + 1;
    }
  }
  if (/flow|[\]}]/i.test(msg)) {
    const open = unclosedBracket(text);
    if (open !== undefined) return at(open, `this '${text[open]}' is never closed`, `add the closing ${text[open] === '[' ? ']' : '}'} on the same line`);
  }
  if (e.code === 'MULTIPLE_DOCS') return at(e.pos[0], 'a spec holds one YAML document', "remove this '---' and what follows, or move it to its own file");
  if (e.code === 'BLOCK_AS_IMPLICIT_KEY') {
    // "a: 3\n   b: 4" reads as the value "3 b: 4": the mistake is the deeper indentation of the second line.
    const colon = text.slice(e.pos[0]).search(/:(?:\s|$)/);
    const lineStart = colon < 0 ? -1 : text.lastIndexOf('\n', e.pos[0] + colon) + 1;
    if (lineStart > e.pos[0]) {
      let k = lineStart;
      while (text[k] === ' ') k++;
      return at(k, 'this line is indented more than the key above it', 'indent all keys of a mapping by the same amount');
    }
  }
  // The parser may report the end of the file, one past the last character.
  const start = Math.min(e.pos[0], text.length);
  return new Diagnostic(`YAML syntax error: ${msg}`, { file, start, end: Math.min(Math.max(start + 1, e.pos[1]), text.length) }, hint);
}
