// `npm run bench`: cellgen's TypeScript kernels against TF.js (cpu, wasm) and ONNX Runtime, and the plain-TS roofline.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Tensor } from 'onnxruntime-node';
import { Rng } from '../src/check/random.js';
import { buildRnnModel } from '../src/check/onnx/model.js';
import { createSession, toOrtFeeds } from '../src/check/onnx/ort.js';
import { type CellName, cellToOnnx, onnxOpForCell } from '../src/check/onnx/weights.js';
import { compileCell } from '../src/derive/compile.js';
import { polyEval } from '../src/ir/poly.js';
import { evalDim } from '../src/ir/shape.js';
import { planForward } from '../src/emit/ts/plan.js';
import type { Column, Row } from './report.js';
import { formatMarkdown, writeReport } from './report.js';
import { loadLinalg, measureRoofline } from './roofline.js';
import { heapGrowthPerCall, median, timeIt, timeItAsync } from './stats.js';
import { measureTfjs, type SeqShape, TFJS_SHAPES } from './peers/tfjs.js';

type Cell = 'rnn-tanh' | 'gru' | 'gru-reset-after' | 'lstm';
const CELLS: Cell[] = ['rnn-tanh', 'gru', 'gru-reset-after', 'lstm'];
const quick = process.argv.includes('--quick');
const shapes: readonly SeqShape[] = quick ? TFJS_SHAPES.slice(0, 1) : TFJS_SHAPES;
const timing = quick ? { warmupMs: 50, budgetMs: 200, minSamples: 3 } : { warmupMs: 300, budgetMs: 1500, minSamples: 5 };

interface KernelMod {
  f32: {
    forward: (s: object, p: object, x: object, o: object) => { states: Record<string, Float32Array>; tape: unknown };
    backward: (t: unknown, d: object) => unknown;
  };
  paramShapes: (s: object) => Record<string, number[]>;
}

/** The matrix products one forward + backward call makes, replayed alone: the kernels' GEMM phases. */
function gemmCalls(cell: Cell, T: number, B: number, H: number, I: number): { op: 'NT' | 'NN' | 'TN'; M: number; N: number; K: number; times: number }[] {
  const c = compileCell(readFileSync(`cells/${cell}.cell.yaml`, 'utf8'), `cells/${cell}.cell.yaml`);
  const fp = planForward(c.cell, c.bw);
  const sizes = { input: I, hidden: H, classes: 2 };
  const out: { op: 'NT' | 'NN' | 'TN'; M: number; N: number; K: number; times: number }[] = [];
  for (const g of fp.groups) {
    const cols = evalDim(g.cols, sizes);
    const width = evalDim(g.width, sizes);
    if (g.kind === 'input') out.push({ op: 'NT', M: T * B, N: cols, K: width, times: 1 }, { op: 'NN', M: T * B, N: width, K: cols, times: 1 });
    else out.push({ op: 'NT', M: B, N: cols, K: width, times: T }, { op: 'NN', M: B, N: width, K: cols, times: T });
    out.push({ op: 'TN', M: cols, N: width, K: T * B, times: 1 });
  }
  return out;
}

async function main(): Promise<void> {
  const rng = new Rng(1);
  console.log(`cellgen benchmarks — node ${process.version}, ${quick ? 'quick run' : 'full run'}; times are medians`);
  const lin = await loadLinalg();
  const roof = await measureRoofline({
    dtypes: ['f32'],
    shapes: [
      { op: 'NT', M: 256, N: 256, K: 256, role: 'square' }, { op: 'NT', M: 128, N: 512, K: 128, role: 'wide' },
      { op: 'NN', M: 256, N: 256, K: 256, role: 'square' }, { op: 'TN', M: 256, N: 256, K: 256, role: 'square' },
    ],
    timing: { warmupMs: 100, budgetMs: quick ? 200 : 600 },
  });
  const roofline = roof.roofline.f32.best;
  writeReport(roof.rows as unknown as Row[], { title: `Plain-TypeScript roofline: best f32 GEMM ${roofline.toFixed(2)} GFLOP/s (naive loop ${roof.naiveBest.toFixed(2)})` });

  const rows: Row[] = [];
  for (const cell of CELLS) {
    const mod = (await import(`../generated/ts/${cell}.ts`)) as KernelMod;
    const c = compileCell(readFileSync(`cells/${cell}.cell.yaml`, 'utf8'), `cells/${cell}.cell.yaml`);
    for (const sh of shapes) {
      const sizes = { input: sh.input, hidden: sh.hidden, classes: 2 };
      const params = Object.fromEntries(Object.entries(mod.paramShapes(sizes)).map(([k, s]) => [k, Float32Array.from(rng.array(s.reduce((a, b) => a * b, 1), 1 / Math.sqrt(sh.hidden)))]));
      const x = Float32Array.from(rng.array(sh.T * sh.batch * sh.input));
      const dh = Float32Array.from(rng.array(sh.T * sh.batch * sh.hidden));
      const opts = { steps: sh.T, batch: sh.batch };
      const fwd = () => mod.f32.forward(sizes, params, { x }, opts);
      const fb = () => mod.f32.backward(fwd().tape, { h: dh });
      // Three rounds, median of the round medians: one disturbed round cannot skew a row.
      const rounds = (fn: () => unknown) => {
        const ms = [0, 1, 2].map(() => timeIt(fn, timing).medianMs);
        return { medianMs: median(ms) };
      };
      const tf = rounds(fwd);
      const tfb = rounds(fb);
      const perStep = sh.T * sh.batch;
      const flopsF = perStep * polyEval(c.cost.forward.total, sizes);
      const flopsFB = perStep * (polyEval(c.cost.forward.total, sizes) + polyEval(c.cost.backward.total, sizes));
      // GEMM phases: the kernel's own products replayed with its shapes and the same GEMM code.
      const calls = gemmCalls(cell, sh.T, sh.batch, sh.hidden, sh.input);
      const bufs = calls.map((k) => ({ k, A: Float32Array.from(rng.array(k.M * k.K)), Bm: Float32Array.from(rng.array(k.N * k.K)), C: new Float32Array(k.M * k.N) }));
      const gemmPhase = rounds(() => {
        for (const { k, A, Bm, C } of bufs) {
          const f = lin[`gemm${k.op}_f32`];
          const lda = k.op === 'TN' ? k.M : k.K, ldb = k.op === 'NT' ? k.K : k.N;
          for (let r = 0; r < k.times; r++) f(k.M, k.N, k.K, A, 0, lda, Bm, 0, ldb, C, 0, k.N, false);
        }
      });
      const gemmFlops = calls.reduce((s, k) => s + 2 * k.M * k.N * k.K * k.times, 0);
      // Heap growth per call must not depend on the number of steps: nothing is allocated in the time loop.
      const shortOpts = { steps: Math.max(2, sh.T >> 2), batch: sh.batch };
      const xs = x.subarray(0, shortOpts.steps * sh.batch * sh.input);
      const dhs = dh.subarray(0, shortOpts.steps * sh.batch * sh.hidden);
      const heapLong = heapGrowthPerCall(fb, { calls: quick ? 10 : 30 });
      const heapShort = heapGrowthPerCall(() => mod.f32.backward(mod.f32.forward(sizes, params, { x: xs }, shortOpts).tape, { h: dhs }), { calls: quick ? 10 : 30 });
      const heapPerStep = (heapLong.bytesPerCall - heapShort.bytesPerCall) / (sh.T - shortOpts.steps);
      const ab0 = process.memoryUsage().arrayBuffers;
      const keep = fwd();
      const tapeBytes = process.memoryUsage().arrayBuffers - ab0;
      void keep;

      const peers: Record<string, { f?: number; fb?: number }> = {};
      for (const backend of ['cpu', 'wasm'] as const) {
        try {
          const r = await measureTfjs(cell, sh, backend, { timing: { ...timing, minSamples: 3 } });
          peers[`tfjs-${backend}`] = { f: r.forwardMs, fb: r.gradMs };
        } catch (e) {
          console.error(`tfjs ${backend} ${cell}: ${(e as Error).message}`);
        }
      }
      // ONNX Runtime, one thread: the same operator, forward only.
      const P64 = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)]));
      const w = cellToOnnx(cell as CellName, [P64], { hidden: sh.hidden, input: sh.input });
      const { op, attrs } = onnxOpForCell(cell as CellName);
      const m = buildRnnModel(op, { X: { dims: [sh.T, sh.batch, sh.input], data: x }, W: w.W, R: w.R, B: w.B }, { hiddenSize: sh.hidden, ...attrs });
      const session = await createSession(m.bytes);
      const feeds = toOrtFeeds(m.feeds);
      const ort = await timeItAsync(async () => {
        const out = await session.run(feeds as Record<string, Tensor>);
        void out;
      }, { ...timing, minSampleMs: 0 });
      peers.ort = { f: ort.medianMs };

      const best = (k: 'f' | 'fb') => Math.min(...['tfjs-cpu', 'tfjs-wasm'].map((p) => peers[p]?.[k] ?? Infinity));
      rows.push({
        cell, T: sh.T, batch: sh.batch, hidden: sh.hidden,
        'cellgen fwd ms': tf.medianMs, 'cellgen fwd+bwd ms': tfb.medianMs,
        'fwd GFLOP/s': flopsF / tf.medianMs / 1e6, 'fwd+bwd GFLOP/s': flopsFB / tfb.medianMs / 1e6,
        'GEMM phase GFLOP/s': gemmFlops / gemmPhase.medianMs / 1e6,
        'GEMM / roofline': gemmFlops / gemmPhase.medianMs / 1e6 / roofline,
        'tfjs-cpu fwd ms': peers['tfjs-cpu']?.f, 'tfjs-cpu fwd+grad ms': peers['tfjs-cpu']?.fb,
        'tfjs-wasm fwd ms': peers['tfjs-wasm']?.f, 'tfjs-wasm fwd+grad ms': peers['tfjs-wasm']?.fb,
        'ort fwd ms': ort.medianMs,
        'speedup fwd+bwd vs best tfjs': best('fb') / tfb.medianMs,
        'speedup fwd vs best tfjs': best('f') / tf.medianMs,
        'fwd vs ort (>1: cellgen faster)': ort.medianMs / tf.medianMs,
        'tape+state MB': tapeBytes / 2 ** 20,
        'heap B/extra step': heapPerStep,
      });
      console.error(`${cell} ${JSON.stringify(sh)} done`);
    }
  }
  const title = `Sequence forward and forward+backward (f32), medians on this machine; roofline ${roofline.toFixed(2)} GFLOP/s`;
  writeReport(rows, { title, json: 'bench/results.json' });
  publish(rows, title);
  console.log(`\nmedian speedup fwd+bwd vs best TF.js: ${median(rows.map((r) => r['speedup fwd+bwd vs best tfjs'] as number)).toFixed(2)}x; wrote bench/results.json, bench/results.md and the README table`);
  process.exit(0);
}

/** The columns shown in the README and the docs (bench/results.json keeps all of them). */
const SHOWN: Column[] = [
  { key: 'cell' }, { key: 'T' }, { key: 'batch' }, { key: 'hidden', title: 'I = H' },
  { key: 'cellgen fwd ms', title: 'cellgen fwd ms', digits: 2 }, { key: 'cellgen fwd+bwd ms', title: 'cellgen fwd+bwd ms', digits: 2 },
  { key: 'tfjs-cpu fwd+grad ms', title: 'TF.js cpu fwd+grad ms', digits: 1 }, { key: 'tfjs-wasm fwd+grad ms', title: 'TF.js wasm fwd+grad ms', digits: 1 },
  { key: 'speedup fwd+bwd vs best tfjs', title: 'speedup vs best TF.js', digits: 2 },
  { key: 'ort fwd ms', title: 'ORT fwd ms', digits: 3 }, { key: 'fwd vs ort (>1: cellgen faster)', title: 'ORT time / ours (fwd)', digits: 3 },
  { key: 'GEMM / roofline', title: 'GEMM phases / roofline', digits: 2 }, { key: 'heap B/extra step', title: 'heap B per extra step', digits: 0 },
];

/** Writes bench/results.md and the README's table from the rows. */
function publish(rows: readonly Row[], title: string): void {
  const md = `${formatMarkdown(rows, SHOWN)}\n\n${title}. cellgen rows: median of three rounds; TF.js: median of one round. Run with \`npm run bench\` (node ${process.version}); speedups are ratios measured in the same run. TF.js peers: tf.layers on the cpu and wasm backends (gru-reset-after as tf ops, since TF.js's GRU cell has no reset_after). ONNX Runtime: onnxruntime-node, one intra-op thread, forward only. "GEMM phases" replays each kernel's own matrix products with the same GEMM code; the roofline is the best plain-TypeScript GEMM measured in the run. "heap B per extra step": JS-heap growth per added time step (0: the time loop allocates nothing). All columns are in bench/results.json.\n`;
  writeFileSync('bench/results.md', md);
  const readme = readFileSync('README.md', 'utf8');
  const start = '<!-- bench:start -->', end = '<!-- bench:end -->';
  if (readme.includes(start)) writeFileSync('README.md', readme.replace(new RegExp(`${start}[\\s\\S]*?${end}`), `${start}\n${md}${end}`));
}

if (process.argv.includes('--publish')) {
  // Re-publish the last run's rows (no measuring): bench/results.json -> bench/results.md and README.
  const last = JSON.parse(readFileSync('bench/results.json', 'utf8')) as { title: string; rows: Row[] };
  publish(last.rows, last.title);
} else await main();
