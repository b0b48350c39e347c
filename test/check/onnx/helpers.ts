// Shared test helpers for the ONNX checks: a seeded generator and float32-vs-float64 comparison.
import { expect } from 'vitest';
import { Random } from '../../../src/runtime/random.js';

/** The project's seeded generator (src/runtime/random.ts) as a function, so failures reproduce. */
export function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}

/** n uniform values in [-scale, scale], rounded to float32 so ORT and the f64 reference see the same numbers. */
export function uniform(next: () => number, n: number, scale = 1): Float64Array {
  return Float64Array.from(Float32Array.from({ length: n }, () => (2 * next() - 1) * scale));
}

/** Assert |actual - expected| <= abs + rel * |expected| elementwise, with a readable first-failure message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, abs = 1e-5, rel = 1e-5): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let k = 0; k < expected.length; k++) {
    const e = expected[k]!;
    const a = actual[k]!;
    const excess = Number.isFinite(a) ? Math.abs(a - e) - (abs + rel * Math.abs(e)) : Infinity;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = k;
    }
  }
  if (worst >= 0) {
    expect.fail(`${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (tolerance ${abs} + ${rel}·|e|)`);
  }
}

/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}
