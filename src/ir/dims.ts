// Comparisons of symbolic dimensions that hold for every size (each size is an integer >= 1).

import { addDims, type Dim, dimKey, scaleDim } from './shape.js';

export const subDims = (a: Dim, b: Dim): Dim => addDims(a, scaleDim(b, -1));

/** The smallest value of d over all sizes >= 1, or -Infinity when a size has a negative coefficient. */
export function minOver(d: Dim): number {
  let v = d.constant;
  for (const [, c] of d.terms) {
    if (c < 0) return -Infinity;
    v += c;
  }
  return v;
}

/** a <= b for every choice of sizes. */
export const provablyLE = (a: Dim, b: Dim): boolean => minOver(subDims(b, a)) >= 0;

export const isZeroDim = (d: Dim): boolean => dimKey(d) === '0';

/** Sizes (each at least 1) at which d is negative, when d is not provably >= 0: a witness for a diagnostic. */
export function negativeAt(d: Dim): Record<string, number> | undefined {
  if (minOver(d) >= 0) return undefined;
  const at: Record<string, number> = {};
  for (const [n] of d.terms) at[n] = 1;
  if (d.terms.every(([, c]) => c >= 0)) return at;
  // grow the sizes with a negative coefficient until the value drops below zero
  for (let k = 1; k <= 1 << 20; k *= 2) {
    for (const [n, c] of d.terms) at[n] = c < 0 ? k : 1;
    let v = d.constant;
    for (const [n, c] of d.terms) v += c * at[n]!;
    if (v < 0) return at;
  }
  return at;
}
