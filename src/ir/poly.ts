// Polynomials in the size names (for parameter and operation counts): 3·H² + 3·H·I + 3·H.

import type { Dim } from './shape.js';

/** Monomial key: size names joined by '*', sorted, with repetition ('' is the constant term). */
export type Poly = ReadonlyMap<string, number>;

export const polyConst = (c: number): Poly => new Map(c === 0 ? [] : [['', c]]);

export function polyOfDim(d: Dim): Poly {
  const m = new Map<string, number>();
  for (const [n, c] of d.terms) m.set(n, c);
  if (d.constant) m.set('', d.constant);
  return m;
}

export function polyAdd(a: Poly, b: Poly): Poly {
  const m = new Map(a);
  for (const [k, c] of b) {
    const v = (m.get(k) ?? 0) + c;
    if (v === 0) m.delete(k);
    else m.set(k, v);
  }
  return m;
}

export function polyScale(a: Poly, s: number): Poly {
  return new Map([...a].map(([k, c]) => [k, c * s] as [string, number]).filter(([, c]) => c !== 0));
}

export function polyMul(a: Poly, b: Poly): Poly {
  let out: Poly = new Map();
  for (const [ka, ca] of a) {
    for (const [kb, cb] of b) {
      const key = [...ka.split('*'), ...kb.split('*')].filter(Boolean).sort().join('*');
      out = polyAdd(out, new Map([[key, ca * cb]]));
    }
  }
  return out;
}

export function polyEval(p: Poly, sizes: Readonly<Record<string, number>>): number {
  let v = 0;
  for (const [k, c] of p) v += c * k.split('*').filter(Boolean).reduce((x, n) => x * (sizes[n] ?? NaN), 1);
  return v;
}

/** Terms sorted by degree, then name; stable so printed formulas are deterministic. */
function sortedTerms(p: Poly): [string, number][] {
  const deg = (k: string) => (k === '' ? 0 : k.split('*').length);
  return [...p].sort(([a], [b]) => deg(b) - deg(a) || (a < b ? -1 : a > b ? 1 : 0));
}

function gcd(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : gcd(b, a % b);
}

/**
 * LaTeX for a polynomial, with the common integer factor taken out: 3(H^{2} + HI + H).
 * `symbols` maps size names to their LaTeX symbols.
 */
export function polyLatex(p: Poly, symbols: Readonly<Record<string, string>>): string {
  const terms = sortedTerms(p);
  if (terms.length === 0) return '0';
  const g = terms.map(([, c]) => c).reduce((x, y) => gcd(x, y));
  const mono = (k: string): string => {
    const counts = new Map<string, number>();
    for (const n of k.split('*').filter(Boolean)) counts.set(n, (counts.get(n) ?? 0) + 1);
    return [...counts].map(([n, e]) => `${symbols[n] ?? n}${e > 1 ? `^{${e}}` : ''}`).join(' ');
  };
  const scale = terms.length > 1 ? g : 1;
  const join = (ts: [string, number][], div: number): string =>
    ts
      .map(([k, c], i) => {
        const cc = c / div;
        const m = mono(k);
        const abs = Math.abs(cc);
        const coef = m === '' ? `${abs}` : abs === 1 ? '' : `${abs}`;
        const sign = cc < 0 ? (i === 0 ? '-' : ' - ') : i === 0 ? '' : ' + ';
        return `${sign}${coef}${m}`;
      })
      .join('');
  // As the course notes count: quadratic terms sharing a size are grouped, 3(H(H + I) + H).
  const quad = terms.filter(([k]) => k.split('*').length === 2);
  const common = quad.length > 1 ? quad[0]![0].split('*').find((v) => quad.every(([k]) => k.split('*').includes(v))) : undefined;
  let body: string;
  if (common && quad.every(([, c]) => c > 0)) {
    const q = quad.map(([k, c]) => [k.split('*').filter((v, i, a) => i !== a.indexOf(common)).join('*'), c / scale] as [string, number]);
    const g2 = q.map(([, c]) => c).reduce((x, y) => gcd(x, y));
    const rest = terms.filter(([k]) => k.split('*').length !== 2);
    const grouped = `${g2 === 1 ? '' : g2}${symbols[common] ?? common}(${join(q, g2)})`;
    body = rest.length ? `${grouped}${join(rest, scale).replace(/^(?!-)/, ' + ').replace(/^-/, ' - ')}` : grouped;
  } else body = join(terms, scale);
  return terms.length > 1 && g !== 1 ? `${g}(${body})` : body;
}
