// Plain-TS matrix-product roofline: GFLOP/s of the rendered GEMM kernels (and a naive loop) on this machine.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderLinalg } from '../src/emit/ts/linalg.js';
import { writeReport, reportPathsFromArgs, type Column } from './report.js';
import { timeIt, type TimingOptions } from './stats.js';

export type Dtype = 'f32' | 'f64';
export type GemmOp = 'NT' | 'NN' | 'TN';
type Arr = Float32Array | Float64Array;
export type Gemm = (
  M: number, N: number, K: number,
  A: Arr, aOff: number, lda: number,
  B: Arr, bOff: number, ldb: number,
  C: Arr, cOff: number, ldc: number,
  accumulate: boolean,
) => void;
export type Linalg = Record<`gemm${GemmOp}_${Dtype}`, Gemm>;

/** Renders both precisions into one module under .tmp/ and imports it, as a generated cell module would. */
export async function loadLinalg(): Promise<Linalg> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const file = join(root, '.tmp', 'bench', `linalg-${process.pid}.ts`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderLinalg('Float32Array', '_f32') + '\n' + renderLinalg('Float64Array', '_f64'));
  try {
    return (await import(pathToFileURL(file).href)) as Linalg;
  } finally {
    rmSync(file, { force: true });
  }
}

// Reference loops with one accumulator (what a straightforward emitter would print); f32 arrays only,
// so their call sites stay monomorphic like the tiled kernels'.
const naive: Record<GemmOp, Gemm> = {
  NT(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, acc) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = acc ? C[cOff + i * ldc + j] : 0;
      for (let k = 0; k < K; k++) s += A[aOff + i * lda + k] * B[bOff + j * ldb + k];
      C[cOff + i * ldc + j] = s;
    }
  },
  NN(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, acc) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = acc ? C[cOff + i * ldc + j] : 0;
      for (let k = 0; k < K; k++) s += A[aOff + i * lda + k] * B[bOff + k * ldb + j];
      C[cOff + i * ldc + j] = s;
    }
  },
  TN(M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, acc) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = acc ? C[cOff + i * ldc + j] : 0;
      for (let k = 0; k < K; k++) s += A[aOff + k * lda + i] * B[bOff + k * ldb + j];
      C[cOff + i * ldc + j] = s;
    }
  },
};

export interface Shape { op: GemmOp; M: number; N: number; K: number; role: string }

/**
 * Shapes: square and skinny products, then what an RNN with G gates of width H hits on
 * R = T·batch rows: X·Wᵀ (NT R×GH×H), dX = dY·W (NN R×H×GH), dW = dYᵀ·X (TN GH×H×R),
 * and the batch-1 recurrent products h·Uᵀ (NT 1×GH×H) and dh = dy·U (NN 1×H×GH).
 */
export function rooflineShapes(): Shape[] {
  const s: Shape[] = [];
  for (const op of ['NT', 'NN', 'TN'] as const) {
    s.push({ op, M: 256, N: 256, K: 256, role: 'square' }, { op, M: 128, N: 512, K: 128, role: 'wide' });
  }
  s.push({ op: 'NT', M: 1, N: 1024, K: 256, role: 'matvec' }, { op: 'NN', M: 1, N: 256, K: 1024, role: 'matvec' });
  for (const R of [32, 256, 1024]) for (const G of [1, 3, 4]) for (const H of [64, 128, 256]) {
    s.push(
      { op: 'NT', M: R, N: G * H, K: H, role: `x·Wᵀ R=${R} G=${G} H=${H}` },
      { op: 'NN', M: R, N: H, K: G * H, role: `dY·W R=${R} G=${G} H=${H}` },
      { op: 'TN', M: G * H, N: H, K: R, role: `dYᵀ·X R=${R} G=${G} H=${H}` },
    );
  }
  for (const G of [1, 3, 4]) for (const H of [64, 128, 256]) {
    s.push({ op: 'NT', M: 1, N: G * H, K: H, role: `h·Uᵀ G=${G} H=${H}` }, { op: 'NN', M: 1, N: H, K: G * H, role: `dh·U G=${G} H=${H}` });
  }
  return s;
}

export interface RooflineRow {
  dtype: Dtype;
  kernel: 'tiled' | 'naive';
  op: GemmOp;
  M: number;
  N: number;
  K: number;
  role: string;
  ms: number;
  gflops: number;
}

export interface RooflineResult {
  rows: RooflineRow[];
  /** best GFLOP/s measured per dtype, overall and per op (tiled kernels): the plain-TS roofline */
  roofline: Record<Dtype, Record<GemmOp | 'best', number>>;
  /** best GFLOP/s of the naive loop (f32) */
  naiveBest: number;
}

export interface RooflineOptions {
  dtypes?: Dtype[];
  /** defaults to rooflineShapes() */
  shapes?: Shape[];
  /** f64 runs only the square/wide/matvec shapes unless true */
  fullF64?: boolean;
  /** naive loop on shapes up to this many flops (it is ~4× slower) */
  naiveMaxFlops?: number;
  timing?: TimingOptions;
  onRow?: (row: RooflineRow) => void;
}

function measure(f: Gemm, dtype: Dtype, sh: Shape, timing: TimingOptions): number {
  const T = dtype === 'f32' ? Float32Array : Float64Array;
  const aLen = sh.M * sh.K, bLen = sh.N * sh.K;
  const A = new T(aLen), B = new T(bLen), C = new T(sh.M * sh.N);
  for (let i = 0; i < aLen; i++) A[i] = Math.random() - 0.5;
  for (let i = 0; i < bLen; i++) B[i] = Math.random() - 0.5;
  const lda = sh.op === 'TN' ? sh.M : sh.K, ldb = sh.op === 'NT' ? sh.K : sh.N;
  return timeIt(() => f(sh.M, sh.N, sh.K, A, 0, lda, B, 0, ldb, C, 0, sh.N, false), timing).medianMs;
}

export async function measureRoofline(opts: RooflineOptions = {}): Promise<RooflineResult> {
  const lin = await loadLinalg();
  const dtypes = opts.dtypes ?? ['f32', 'f64'];
  const timing: TimingOptions = { warmupMs: 60, budgetMs: 250, minSamples: 5, minSampleMs: 5, ...opts.timing };
  const naiveMax = opts.naiveMaxFlops ?? 2 ** 26;
  const rows: RooflineRow[] = [];
  const add = (row: RooflineRow): void => { rows.push(row); opts.onRow?.(row); };
  for (const dtype of dtypes) {
    for (const sh of opts.shapes ?? rooflineShapes()) {
      if (dtype === 'f64' && !opts.fullF64 && sh.role.includes('=')) continue;
      const flops = 2 * sh.M * sh.N * sh.K;
      const ms = measure(lin[`gemm${sh.op}_${dtype}`], dtype, sh, timing);
      add({ dtype, kernel: 'tiled', ...sh, ms, gflops: flops / ms / 1e6 });
      if (dtype === 'f32' && flops <= naiveMax) {
        const nms = measure(naive[sh.op], dtype, sh, timing);
        add({ dtype, kernel: 'naive', ...sh, ms: nms, gflops: flops / nms / 1e6 });
      }
    }
  }
  const best = (pred: (r: RooflineRow) => boolean): number => Math.max(0, ...rows.filter(pred).map((r) => r.gflops));
  const per = (dtype: Dtype): Record<GemmOp | 'best', number> => ({
    NT: best((r) => r.dtype === dtype && r.kernel === 'tiled' && r.op === 'NT'),
    NN: best((r) => r.dtype === dtype && r.kernel === 'tiled' && r.op === 'NN'),
    TN: best((r) => r.dtype === dtype && r.kernel === 'tiled' && r.op === 'TN'),
    best: best((r) => r.dtype === dtype && r.kernel === 'tiled'),
  });
  return { rows, roofline: { f32: per('f32'), f64: per('f64') }, naiveBest: best((r) => r.kernel === 'naive') };
}

export const rooflineColumns: Column[] = [
  { key: 'dtype' }, { key: 'kernel' }, { key: 'op' }, { key: 'M' }, { key: 'N' }, { key: 'K' },
  { key: 'role' }, { key: 'ms', digits: 4 }, { key: 'gflops', title: 'GFLOP/s', digits: 2 },
];

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const res = await measureRoofline({ fullF64: process.argv.includes('--full') });
  writeReport(res.rows as unknown as Record<string, string | number>[], {
    title: 'Plain-TS GEMM (median of timed samples)', columns: rooflineColumns, ...reportPathsFromArgs(process.argv),
  });
  const r = res.roofline;
  console.log(`\nroofline f32: best ${r.f32.best.toFixed(2)} GFLOP/s (NT ${r.f32.NT.toFixed(2)}, NN ${r.f32.NN.toFixed(2)}, TN ${r.f32.TN.toFixed(2)})`);
  if (r.f64.best > 0) console.log(`roofline f64: best ${r.f64.best.toFixed(2)} GFLOP/s (NT ${r.f64.NT.toFixed(2)}, NN ${r.f64.NN.toFixed(2)}, TN ${r.f64.TN.toFixed(2)})`);
  console.log(`naive loop f32: best ${res.naiveBest.toFixed(2)} GFLOP/s`);
}
