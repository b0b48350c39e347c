// Symbolic shapes: a dimension is a linear combination of size names (e.g. hidden + input).

/** A dimension: sum of coefficient * size, plus a constant. Terms sorted by size name. */
export interface Dim {
  readonly terms: readonly (readonly [string, number])[];
  readonly constant: number;
}

/** [] is a scalar, [n] a vector, [m, n] a matrix (row-major, m rows). Batch is implicit. */
export type Shape = readonly Dim[];

export function dimOf(terms: Record<string, number>, constant = 0): Dim {
  const list = Object.entries(terms)
    .filter(([, c]) => c !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { terms: list, constant };
}

export const size = (name: string): Dim => dimOf({ [name]: 1 });
export const constDim = (n: number): Dim => dimOf({}, n);

/** A record with no prototype: size names such as `constructor` or `hasOwnProperty` are plain keys in it. */
const terms = (): Record<string, number> => Object.create(null) as Record<string, number>;

export function addDims(a: Dim, b: Dim): Dim {
  const t = terms();
  for (const [n, c] of a.terms) t[n] = (t[n] ?? 0) + c;
  for (const [n, c] of b.terms) t[n] = (t[n] ?? 0) + c;
  return dimOf(t, a.constant + b.constant);
}

export function scaleDim(a: Dim, k: number): Dim {
  const t = terms();
  for (const [n, c] of a.terms) t[n] = c * k;
  return dimOf(t, a.constant * k);
}

export const ZERO_DIM: Dim = dimOf({}, 0);

export function dimKey(d: Dim): string {
  const parts = d.terms.map(([n, c]) => (c === 1 ? n : `${c}*${n}`));
  if (d.constant !== 0 || parts.length === 0) parts.push(String(d.constant));
  return parts.join('+');
}

export const dimEq = (a: Dim, b: Dim): boolean => dimKey(a) === dimKey(b);

export function shapeKey(s: Shape): string {
  return `[${s.map(dimKey).join(',')}]`;
}

export const shapeEq = (a: Shape, b: Shape): boolean => shapeKey(a) === shapeKey(b);

export function evalDim(d: Dim, sizes: Readonly<Record<string, number>>): number {
  let v = d.constant;
  for (const [n, c] of d.terms) {
    const s = Object.prototype.hasOwnProperty.call(sizes, n) ? sizes[n] : undefined;
    if (s === undefined) throw new Error(`no value for size '${n}'`);
    v += c * s;
  }
  return v;
}

/** Number of elements per batch row. */
export function numel(s: Shape, sizes: Readonly<Record<string, number>>): number {
  return s.reduce((p, d) => p * evalDim(d, sizes), 1);
}

/** Human form: "hidden + input", "2 hidden". */
export function showDim(d: Dim, symbols?: Readonly<Record<string, string>>): string {
  const parts = d.terms.map(([n, c]) => {
    const s = symbols?.[n] ?? n;
    return c === 1 ? s : `${c}${symbols ? '' : ' '}${s}`;
  });
  if (d.constant !== 0 || parts.length === 0) parts.push(String(d.constant));
  return parts.join(' + ');
}

export function showShape(s: Shape): string {
  if (s.length === 0) return 'scalar';
  return `[${s.map((d) => showDim(d)).join(', ')}]`;
}
