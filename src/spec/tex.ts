// TeX from a spec (a `latex:` symbol) is checked here, while reading, by rendering it with KaTeX in every context the
// LaTeX printer puts a symbol in: what the docs build renders later can then never be rejected.

import katex from 'katex';

/** KaTeX as the docs use it, but strict: any non-standard input is an error, no \href/\url/\html*, bounded expansion. */
const OPTIONS = { throwOnError: true, strict: 'error', trust: false, maxExpand: 100, maxSize: 50, displayMode: false } as const;

/**
 * A user symbol as printers embed it: braced when it has a top-level superscript or prime, so that appending `_{t}`
 * or `^{\top}` can never make a double script. Subscripted symbols stay bare, so `W_{hz}` merges into `W_{hz,t}`.
 */
export function symbolTex(tex: string): string {
  let depth = 0;
  for (let i = 0; i < tex.length; i++) {
    const ch = tex[i];
    if (ch === '\\') i++;
    else if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (depth === 0 && (ch === '^' || ch === "'")) return `{${tex}}`;
  }
  return tex;
}

/** The contexts a symbol is printed in (see src/emit/latex.ts): alone, indexed by time, transposed, differentiated. */
function contexts(sym: string): string[] {
  const timed = /_\{[^{}]*\}$/.test(sym) ? sym.replace(/\}$/, ',t}') : /_[A-Za-z0-9]$/.test(sym) ? sym.replace(/_([A-Za-z0-9])$/, '_{$1,t}') : `${sym}_{t}`;
  return [sym, timed, `\\delta ${timed}^{\\mathrm{in}}`, `\\bar{${sym}}_{t}`, `${sym}^{\\top}`, `\\left(${sym}\\right)_{:,1:2}`, `\\frac{\\partial L}{\\partial ${sym}}`];
}

export interface TexProblem {
  readonly message: string;
  /** Offset in the user's text where the problem is, when KaTeX or the check knows it. */
  readonly at: number;
  readonly length: number;
}

/** Answers so far: the check depends on the text alone, and a build checks the same symbols (h, x, W) in many cells. */
const checked = new Map<string, TexProblem | undefined>();

/** The first reason why `tex` (a symbol from a spec) cannot be printed, or undefined when it renders everywhere. */
export function texProblem(tex: string): TexProblem | undefined {
  if (checked.has(tex)) return checked.get(tex);
  const problem = findTexProblem(tex);
  checked.set(tex, problem);
  return problem;
}

function findTexProblem(tex: string): TexProblem | undefined {
  const caret = tex.indexOf('^^');
  if (caret >= 0) return { message: "'^^' (TeX's character-code notation) is not allowed", at: caret, length: 2 };
  // TeX ends a line at a carriage return (it drops the rest of that line) and reads other control characters by their
  // own catcodes: KaTeX treats them as spaces, so they would validate here and mean something else in the .tex file.
  const control = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/u.exec(tex);
  if (control) return { message: `a line break or control character (U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) is not allowed in TeX`, at: control.index, length: 1 };
  // Alone first: KaTeX's position then points into the user's text.
  try {
    katex.renderToString(tex, OPTIONS);
  } catch (e) {
    const pos = (e as { position?: number }).position;
    const raw = e instanceof Error ? e.message : String(e);
    const message = raw.replace(/^KaTeX parse error: /, '').replace(/ at position \d+: .*$/s, '');
    return { message, at: typeof pos === 'number' && pos >= 0 && pos < tex.length ? pos : 0, length: 1 };
  }
  const sym = symbolTex(tex);
  for (const ctx of contexts(sym)) {
    try {
      // Display mode too: the docs set equations as displays (where strict mode also refuses a stray \\).
      katex.renderToString(ctx, OPTIONS);
      katex.renderToString(ctx, { ...OPTIONS, displayMode: true });
    } catch (e) {
      const raw = e instanceof Error ? e.message : String(e);
      return { message: `it does not render as ${ctx}: ${raw.replace(/^KaTeX parse error: /, '').replace(/ at position \d+: .*$/s, '')}`, at: 0, length: tex.length || 1 };
    }
  }
  return undefined;
}
