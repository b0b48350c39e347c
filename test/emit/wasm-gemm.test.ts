// The WebAssembly matrix products alone, against a naive loop: edge shapes (M < 4 rows left after the
// 4-row blocks, N not a multiple of 8, K = 0 or not a multiple of 4), accumulation, leading dimensions.
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { addGemm, addGemmNT, addPanels, addPanelsKN, GEMM_NT, PANEL, PANEL_KN } from '../../src/emit/wasm/gemm.js';
import { addGemmPanel, HEAP_START } from '../../src/emit/wasm/panel.js';
import { Random } from '../../src/runtime/random.js';

type Fn = (...a: number[]) => number;
function load(): { fn: Record<string, Fn>; f32: () => Float32Array } {
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt);
  m.setMemory(64, 65536, 'memory');
  addGemm(m); addGemmNT(m); addPanels(m); addPanelsKN(m); addGemmPanel(m);
  for (const n of [GEMM_NT, PANEL, PANEL_KN]) m.addFunctionExport(n, n);
  expect(m.validate()).toBeTruthy();
  const W = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, unknown> } } }).WebAssembly;
  const e = new W.Instance(new W.Module(m.emitBinary()), {}).exports;
  m.dispose();
  const mem = e.memory as { buffer: ArrayBuffer };
  return { fn: e as Record<string, Fn>, f32: () => new Float32Array(mem.buffer) };
}

const SHAPES: [number, number, number][] = [[1, 1, 0], [1, 7, 3], [1, 40, 64], [3, 9, 5], [4, 8, 4], [5, 17, 13], [6, 33, 1], [17, 24, 37], [33, 12, 70],
  // single rows over 3 panels at a time, then one panel (N = 72: 3 + 0, N = 51: 6 + 1 with 3 columns)
  [2, 51, 9], [7, 72, 33],
  // several bands of rows (24 rows of K = 256), k in chunks (K > 256), both
  [30, 20, 256], [9, 17, 300], [13, 9, 600], [52, 10, 520]];

describe('wasm matrix products', () => {
  const { fn, f32 } = load();
  const rng = new Random(3);
  const R = 4 * 32768, A = HEAP_START, B = A + R, BT = B + R, P = BT + R, C = P + R;
  /** C (+)= A Bᵀ with A [M][lda], Bt [N][K] (the naive loop), from the values now in memory. */
  const naive = (M: number, N: number, K: number, lda: number, ldc: number, acc: boolean, c0: Float32Array): Float32Array => {
    const h = f32();
    const out = Float32Array.from(c0);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += h[A / 4 + i * lda + k]! * h[BT / 4 + j * K + k]!;
      out[i * ldc + j] = (acc ? c0[i * ldc + j]! : 0) + s;
    }
    return out;
  };
  const fill = (at: number, n: number) => f32().set(Float32Array.from(rng.array(n)), at / 4);

  for (const [M, N, K] of SHAPES) {
    for (const acc of [false, true]) {
      it(`gemmPanel ${M}×${N}×${K}${acc ? ' (accumulating)' : ''}: panels (4-row blocks, then single rows), dot products, and panels of a [K][N] matrix agree with the naive loop`, () => {
        const lda = K + 2, ldc = N + 3;
        fill(A, M * lda); fill(BT, N * K); fill(C, M * ldc);
        const c0 = f32().slice(C / 4, C / 4 + M * ldc);
        const want = naive(M, N, K, lda, ldc, acc, c0);
        const got = (run: () => void) => { f32().set(c0, C / 4); run(); return f32().slice(C / 4, C / 4 + M * ldc); };
        const tol = (x: Float32Array) => x.forEach((v, q) => expect(Math.abs(v - want[q]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[q]!))));
        f32().fill(0, P / 4, P / 4 + (N + 8) * K);
        fn.packPanels!(BT, N, K, P);
        tol(got(() => fn.gemmPanel!(M, N, K, A, lda, P, C, ldc, acc ? 1 : 0)));
        tol(got(() => fn.gemmNT!(M, N, K, A, lda, BT, K, C, ldc, acc ? 1 : 0)));
        // Bᵀ's transpose as a row-major [K][N] matrix, then its panels: the same product
        const h = f32();
        for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) h[B / 4 + k * N + j] = h[BT / 4 + j * K + k]!;
        f32().fill(0, P / 4, P / 4 + (N + 8) * K);
        fn.packPanelsKN!(B, K, N, P);
        tol(got(() => fn.gemmPanel!(M, N, K, A, lda, P, C, ldc, acc ? 1 : 0)));
      });
    }
  }
});
