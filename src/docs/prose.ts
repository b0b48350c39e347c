// Typesets the formulas written inline in a spec's plain-text description (c_t = f_t c_{t-1} + …).

import { escapeHtml } from './html.js';
import type { TexRenderer } from './tex.js';

/** A one-letter (or Greek) symbol with a subscript or superscript: x_t, c~_t, h_{t-1}, b_uh, h_t^2, Gamma_u; reset_after is code, not math. */
const GREEK = 'alpha|beta|gamma|Gamma|delta|Delta|epsilon|eta|theta|lambda|mu|sigma|tau|phi|Phi|psi|omega|Omega';
const ATOM = String.raw`(?:${GREEK}|[A-Za-z])~?(?:_(?:\{[-+A-Za-z0-9 ]*\}|[A-Za-z0-9]+)(?:\^(?:\{[-+A-Za-z0-9 ]*\}|[A-Za-z0-9]+))?|\^(?:\{[-+A-Za-z0-9 ]*\}|[0-9]+))`;
const FUNCS = ['diag', 'tanh', 'sigma', 'sigmoid', 'relu', 'exp', 'log', 'softmax'];
/** One token that may continue a formula. */
const PIECE = new RegExp(String.raw`^(?:${ATOM}|(?:${FUNCS.join('|')})'?(?=\()|[A-Za-z](?![A-Za-z])|[0-9]+(?:\.[0-9]+)?|[-+=*<>()[\],|']|\.(?=\))|\s+)`);
const START = new RegExp(String.raw`(?:${ATOM}|(?:${FUNCS.join('|')})'?\()`, 'g');

/** The LaTeX of a formula in the descriptions' plain notation, or undefined when it is not one. */
export function plainToLatex(text: string): string | undefined {
  if (/[\\$%&#{}]/.test(text.replace(/_\{[^{}]*\}|\^\{[^{}]*\}/g, ''))) return undefined;
  let s = text.trim();
  s = s.replace(/([A-Za-z])~(?=_|\b)/g, '\\tilde{$1}');
  s = s.replace(/_([A-Za-z0-9]{2,})/g, '_{$1}');
  s = s.replace(new RegExp(String.raw`\b(${GREEK})(?=[_^~\s]|$)`, 'g'), '\\$1');
  s = s.replace(/\b(diag|relu|softmax)\b/g, '\\operatorname{$1}').replace(/\b(tanh|exp|log)\b/g, '\\$1').replace(/\bsigma\b/g, '\\sigma');
  s = s.replace(/\(\.\)/g, '(\\cdot)').replace(/\*/g, '\\odot').replace(/\|/g, '\\lvert ');
  return s;
}

/** Splits a run of text into plain parts and formula parts (the formulas still in plain notation). */
export function findFormulas(text: string): { text: string; math: boolean }[] {
  const out: { text: string; math: boolean }[] = [];
  let i = 0;
  const explicit = /\$([^$]+)\$/g;
  // $…$ is taken as LaTeX as written; anything else is scanned for formula-like runs.
  for (const m of text.matchAll(explicit)) {
    out.push(...scan(text.slice(i, m.index)));
    out.push({ text: `$${m[1]}$`, math: true });
    i = m.index! + m[0].length;
  }
  out.push(...scan(text.slice(i)));
  return out.filter((p) => p.text !== '');
}

function scan(text: string): { text: string; math: boolean }[] {
  const out: { text: string; math: boolean }[] = [];
  let pos = 0;
  START.lastIndex = 0;
  for (let m = START.exec(text); m; m = START.exec(text)) {
    if (m.index < pos) continue;
    if (m.index > 0 && /[A-Za-z0-9_]/.test(text[m.index - 1]!)) continue;
    // Extend backwards over "X " / "1 - " prefixes that belong to the formula (e.g. "W_c [c_{t-1}").
    let start = m.index;
    const back = /(?:[A-Za-z](?![A-Za-z])|[0-9]+|[-+=*(|[])\s*$/;
    for (let k = 0; k < 4; k++) {
      const pre = back.exec(text.slice(pos, start));
      if (!pre || (pre.index > 0 && /[A-Za-z]/.test(text[pos + pre.index - 1]!))) break;
      start = pos + pre.index;
    }
    let end = start;
    let depth = 0;
    for (;;) {
      const p = PIECE.exec(text.slice(end));
      if (!p) break;
      const t = p[0];
      if (t === ',' && depth === 0) break;
      if (t === '(' || t === '[') depth++;
      if (t === ')' || t === ']') {
        if (depth === 0) break;
        depth--;
      }
      end += t.length;
    }
    // Trim what cannot end a formula, and unbalanced openings.
    let body = text.slice(start, end);
    while (/[\s=+\-*,<>'(\[]$/.test(body) || depth > 0) {
      const last = body[body.length - 1];
      if (last === '(' || last === '[') depth--;
      body = body.slice(0, -1);
      if (!body) break;
    }
    if (!body || !new RegExp(ATOM).test(body) && !/\(/.test(body)) continue;
    if (start > pos) out.push({ text: text.slice(pos, start), math: false });
    out.push({ text: body, math: true });
    pos = start + body.length;
    START.lastIndex = pos;
  }
  out.push({ text: text.slice(pos), math: false });
  return out;
}

/** HTML paragraphs of a plain-text description, with its formulas typeset by KaTeX (plain when they do not parse). */
export function proseHtml(text: string, tex: TexRenderer, where: string): string {
  return text
    .split(/\n\s*\n/)
    .map((para) => para.trim())
    .filter(Boolean)
    .map((para) => {
      const html = findFormulas(para)
        .map((p) => {
          if (!p.math) return escapeHtml(p.text);
          const latex = p.text.startsWith('$') ? p.text.slice(1, -1) : plainToLatex(p.text);
          if (latex === undefined) return escapeHtml(p.text);
          return tex.tryRender(latex, `${where}, formula '${p.text}'`) ?? escapeHtml(p.text);
        })
        .join('');
      return `<p>${html}</p>`;
    })
    .join('\n');
}
