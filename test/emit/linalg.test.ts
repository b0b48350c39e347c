// Rendered GEMM kernels (f32 and f64 in one module) against a naive triple loop on strided, offset operands.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLinalg } from '../../src/emit/ts/linalg.js';

type Arr = Float32Array | Float64Array;
type Gemm = (
  M: number, N: number, K: number,
  A: Arr, aOff: number, lda: number,
  B: Arr, bOff: number, ldb: number,
  C: Arr, cOff: number, ldc: number,
  accumulate: boolean,
) => void;
type Op = 'NT' | 'NN' | 'TN';

let dir: string;
let mod: Record<string, Gemm>;

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp'), { recursive: true });
  dir = mkdtempSync(join(process.cwd(), '.tmp', 'linalg-'));
  const file = join(dir, 'linalg.ts');
  writeFileSync(file, renderLinalg('Float32Array', '_f32') + '\n' + renderLinalg('Float64Array', '_f64'));
  mod = (await import(pathToFileURL(file).href)) as Record<string, Gemm>;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// xorshift32, so a failing case is reproducible from its seed
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296 - 0.5;
  };
}

interface Case { M: number; N: number; K: number; padA: number; padB: number; padC: number; off: number; acc: boolean }

// Stored shapes: NT A[M×K] B[N×K]; NN A[M×K] B[K×N]; TN A[K×M] B[K×N]. Rows are padded by padX (ld = cols + pad).
function dims(op: Op, c: Case): { aRows: number; aCols: number; bRows: number; bCols: number } {
  const { M, N, K } = c;
  if (op === 'NT') return { aRows: M, aCols: K, bRows: N, bCols: K };
  if (op === 'NN') return { aRows: M, aCols: K, bRows: K, bCols: N };
  return { aRows: K, aCols: M, bRows: K, bCols: N };
}

function check(op: Op, ty: 'f32' | 'f64', c: Case, seed: number): void {
  const Ctor = ty === 'f32' ? Float32Array : Float64Array;
  const r = rng(seed);
  const { aRows, aCols, bRows, bCols } = dims(op, c);
  const lda = aCols + c.padA, ldb = bCols + c.padB, ldc = c.N + c.padC;
  const aOff = c.off, bOff = 2 * c.off + 1, cOff = c.off + 3;
  const fill = (n: number): Arr => { const x = new Ctor(n); for (let i = 0; i < n; i++) x[i] = r(); return x; };
  const A = fill(aOff + aRows * lda + 5);
  const B = fill(bOff + bRows * ldb + 5);
  const C = fill(cOff + c.M * ldc + 5);
  const C0 = C.slice();
  const a = (i: number, k: number): number => (op === 'TN' ? A[aOff + k * lda + i] : A[aOff + i * lda + k]);
  const b = (k: number, j: number): number => (op === 'NT' ? B[bOff + j * ldb + k] : B[bOff + k * ldb + j]);

  mod[`gemm${op}_${ty}`](c.M, c.N, c.K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, c.acc);

  const eps = ty === 'f32' ? 2e-6 : 1e-14;
  const inside = new Set<number>();
  for (let i = 0; i < c.M; i++) {
    for (let j = 0; j < c.N; j++) {
      const at = cOff + i * ldc + j;
      inside.add(at);
      let s = c.acc ? C0[at] : 0, mag = Math.abs(s);
      for (let k = 0; k < c.K; k++) { s += a(i, k) * b(k, j); mag += Math.abs(a(i, k) * b(k, j)); }
      // forward error bound of a length-K sum, plus one rounding of the store
      const tol = eps * (mag * (c.K + 2) + 1e-30);
      if (!(Math.abs(C[at] - s) <= tol)) {
        throw new Error(`gemm${op}_${ty} ${JSON.stringify(c)} seed ${seed}: C[${i},${j}] = ${C[at]}, want ${s}`);
      }
    }
  }
  for (let at = 0; at < C.length; at++) {
    if (!inside.has(at) && !Object.is(C[at], C0[at])) throw new Error(`gemm${op}_${ty} ${JSON.stringify(c)}: wrote outside C at ${at}`);
  }
}

const fixed: Case[] = [
  { M: 1, N: 1, K: 1, padA: 0, padB: 0, padC: 0, off: 0, acc: false },
  { M: 1, N: 37, K: 19, padA: 0, padB: 3, padC: 0, off: 2, acc: false },
  { M: 1, N: 130, K: 64, padA: 5, padB: 0, padC: 7, off: 1, acc: true },
  { M: 4, N: 4, K: 4, padA: 0, padB: 0, padC: 0, off: 0, acc: false },
  { M: 7, N: 9, K: 5, padA: 2, padB: 1, padC: 3, off: 5, acc: true },
  { M: 33, N: 70, K: 3, padA: 0, padB: 0, padC: 0, off: 0, acc: false },
  { M: 6, N: 5, K: 300, padA: 4, padB: 0, padC: 2, off: 3, acc: false },
  { M: 9, N: 131, K: 513, padA: 1, padB: 2, padC: 0, off: 0, acc: true },
  { M: 5, N: 6, K: 0, padA: 0, padB: 0, padC: 1, off: 1, acc: false },
  { M: 5, N: 6, K: 0, padA: 0, padB: 0, padC: 1, off: 1, acc: true },
  { M: 0, N: 6, K: 3, padA: 0, padB: 0, padC: 0, off: 0, acc: false },
];

function randomCases(seed: number, n: number): Case[] {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor((r() + 0.5) * (hi - lo + 1));
  return Array.from({ length: n }, () => ({
    M: int(1, 13), N: int(1, 80), K: int(1, 40),
    padA: int(0, 3), padB: int(0, 3), padC: int(0, 3), off: int(0, 4), acc: r() > 0,
  }));
}

describe.each(['f32', 'f64'] as const)('rendered gemm %s', (ty) => {
  describe.each(['NT', 'NN', 'TN'] as const)('gemm%s', (op) => {
    it('matches the naive loop on edge shapes (M = 1, K = 0, odd sizes, offsets, padded rows)', () => {
      fixed.forEach((c, n) => check(op, ty, c, 100 + n));
    });
    it('matches the naive loop on random shapes, storing and accumulating', () => {
      randomCases(op.charCodeAt(0) * 31 + op.charCodeAt(1), 60).forEach((c, n) => check(op, ty, c, 1000 + n));
    });
  });
});

describe('renderLinalg', () => {
  it('names every kernel with the suffix so two renderings share a module', () => {
    for (const name of ['gemmNT_f32', 'gemmNN_f32', 'gemmTN_f32', 'gemmNT_f64', 'gemmNN_f64', 'gemmTN_f64']) {
      expect(typeof mod[name]).toBe('function');
    }
    expect(renderLinalg('Float64Array', '_x')).toContain('A: Float64Array');
  });
  it('rejects a suffix that is not part of an identifier', () => {
    expect(() => renderLinalg('Float32Array', '-f32')).toThrow(/suffix/);
  });
  it('detects a wrong kernel (the check can fail)', () => {
    const good = mod.gemmNN_f64;
    try {
      mod = { ...mod, gemmNN_f64: (M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, acc) => good(M, N, Math.max(0, K - 1), A, aOff, lda, B, bOff, ldb, C, cOff, ldc, acc) };
      expect(() => check('NN', 'f64', fixed[4], 7)).toThrow(/want/);
    } finally {
      mod = { ...mod, gemmNN_f64: good };
    }
  });
});
