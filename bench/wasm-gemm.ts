// The WebAssembly SIMD GEMM the cell kernels use, alone in a module: its peak on this machine, and
// the kernels' own matrix products (from their schedule) replayed through it.
import binaryen from 'binaryen';
import type { CompiledCell } from '../src/derive/compile.js';
import { emitTsModule } from '../src/emit/ts/module.js';
import type { IntX, Op } from '../src/emit/ts/program.js';
import { addGemm, addGemmNT, addPanels } from '../src/emit/wasm/gemm.js';
import { addGemmPanel, HEAP_START } from '../src/emit/wasm/panel.js';
import { timeIt, type TimingOptions } from './stats.js';

type Gemm = (M: number, N: number, K: number, a: number, sai: number, sak: number, b: number, ldb: number, c: number, ldc: number, acc: number) => void;
type GemmPanel = (M: number, N: number, K: number, a: number, lda: number, b: number, c: number, ldc: number, acc: number) => void;

export interface WasmGemm {
  gemm: Gemm;
  /** The product with packed weights (B in panels of 8 columns), as the kernels run W x. */
  gemmPanel: GemmPanel;
  /** Floats at byte offset `ptr` (a view into the module's memory). */
  view(ptr: number, n: number): Float32Array;
  /** Where operands may start: after the kernels' scratch area. */
  readonly base: number;
  /** Bytes from 0 usable (the memory grows to fit). */
  reserve(bytes: number): void;
}

export function loadWasmGemm(): WasmGemm {
  const m = new binaryen.Module();
  m.setFeatures(binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt);
  m.setMemory(1, 65536, 'memory');
  addGemm(m);
  addGemmNT(m);
  addPanels(m);
  addGemmPanel(m);
  if (!m.validate()) throw new Error('gemm module does not validate');
  const bytes = m.emitBinary();
  m.dispose();
  interface Mem { buffer: ArrayBuffer; grow(pages: number): number }
  const W = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, unknown> } } }).WebAssembly;
  const inst = new W.Instance(new W.Module(bytes), {});
  const mem = inst.exports.memory as Mem;
  return {
    gemm: inst.exports.gemm as Gemm,
    gemmPanel: inst.exports.gemmPanel as GemmPanel,
    base: HEAP_START,
    view: (ptr, n) => new Float32Array(mem.buffer, ptr, n),
    reserve: (b) => { const need = Math.ceil((b - mem.buffer.byteLength) / 65536); if (need > 0) mem.grow(need); },
  };
}

/** NN, TN: the general GEMM (A read through strides); P: A times packed weights in panels (W x in the forward, δ W in the backward). */
export interface GemmShape { op: 'NN' | 'TN' | 'P'; M: number; N: number; K: number }

function run(w: WasmGemm, s: GemmShape, a: number, b: number, c: number): void {
  if (s.op === 'P') w.gemmPanel(s.M, s.N, s.K, a, s.K, b, c, s.N, 0);
  else w.gemm(s.M, s.N, s.K, a, s.op === 'NN' ? s.K : 1, s.op === 'NN' ? 1 : s.M, b, s.N, c, s.N, 0);
}

/** One product shape as a function to time (operands at the start of the heap), and its flops per call. */
export function gemmCall(w: WasmGemm, s: GemmShape): { fn: () => void; flops: number } {
  const a = w.base, b = a + 4 * s.M * s.K, c = b + 4 * s.K * (s.N + 8);
  w.reserve(c + 4 * s.M * s.N);
  const A = w.view(a, s.M * s.K), B = w.view(b, s.K * (s.N + 8));
  for (let i = 0; i < A.length; i++) A[i] = Math.random() - 0.5;
  for (let i = 0; i < B.length; i++) B[i] = Math.random() - 0.5;
  return { fn: () => run(w, s, a, b, c), flops: 2 * s.M * s.N * s.K };
}

/** GFLOP/s of one product shape, operands at the start of the heap. */
export function wasmGemmGflops(w: WasmGemm, s: GemmShape, timing: TimingOptions): number {
  const { fn, flops } = gemmCall(w, s);
  return flops / timeIt(fn, timing).medianMs / 1e6;
}

export interface KernelProduct extends GemmShape { times: number }

/** The products one forward + backward of the wasm kernels makes, from the schedule they are printed from. */
export function kernelProducts(c: CompiledCell, sizes: Record<string, number>, steps: number, batch: number): KernelProduct[] {
  const p = emitTsModule(c, 'bench').program;
  const val = (x: IntX): number => x.reduce((s, m) => s + m.k * m.syms.reduce((q, y) => q * (y === '@steps' ? steps : y === '@batch' ? batch : y === '@step' ? 0 : sizes[y.slice(1)]!), 1), 0);
  const out: KernelProduct[] = [];
  const add = (ops: readonly Op[], times: number) => {
    // as src/emit/wasm/module.ts runs them: products with packed weights (W x, δ W) through panels, the rest through the general GEMM
    for (const o of ops) if (o.kind === 'gemm') out.push({ op: o.form === 'TN' ? 'TN' : p.packed.includes(o.b.buf) && !o.b.off.length ? 'P' : 'NN', M: val(o.M), N: val(o.N), K: val(o.K), times });
  };
  add(p.fwdPre, 1);
  add(p.fwdStep, steps);
  add(p.bwdStep, steps);
  add(p.bwdPost, 1);
  return out;
}

/**
 * The kernels' products replayed alone through the same GEMM (each shape as often as a call runs
 * it), as a function to time, and its flops per call. Operands live after `base` bytes.
 */
export function replayCall(w: WasmGemm, products: readonly KernelProduct[], base: number): { fn: () => void; flops: number } {
  const maxA = Math.max(...products.map((s) => s.M * s.K)), maxB = Math.max(...products.map((s) => s.K * (s.N + 8))), maxC = Math.max(...products.map((s) => s.M * s.N));
  const a = base, b = a + 4 * maxA, c = b + 4 * maxB;
  w.reserve(c + 4 * maxC);
  w.view(a, maxA + maxB).forEach((_, i, arr) => (arr[i] = Math.sin(i)));
  const flops = products.reduce((s, p) => s + 2 * p.M * p.N * p.K * p.times, 0);
  return {
    fn: () => {
      for (const s of products) for (let r = 0; r < s.times; r++) run(w, s, a, b, c);
    },
    flops,
  };
}
