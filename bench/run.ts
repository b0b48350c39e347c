// `npm run bench`: cellgen's wasm and TypeScript kernels against TF.js (cpu, wasm) and ONNX Runtime, with GEMM references.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { Tensor } from 'onnxruntime-node';
import { Random } from '../src/runtime/random.js';
import { buildRnnModel } from '../src/check/onnx/model.js';
import { createSession, toOrtFeeds } from '../src/check/onnx/ort.js';
import { type CellName, cellToOnnx, onnxOpForCell } from '../src/runtime/onnx/weights.js';
import { compileCell } from '../src/derive/compile.js';
import { polyEval } from '../src/ir/poly.js';
import type { Column, Row } from './report.js';
import { formatMarkdown, writeReport } from './report.js';
import { measureRoofline } from './roofline.js';
import { heapGrowthPerCall, interleave, type InterleaveOptions, median, ratio, warmUntilStable } from './stats.js';
import { gemmCall, type GemmShape, kernelProducts, loadWasmGemm, replayCall, wasmGemmGflops } from './wasm-gemm.js';
import { ortMatMul } from './peers/ort-matmul.js';
import { measureTfjs, type SeqShape, TFJS_SHAPES, tfjsForward } from './peers/tfjs.js';

type Cell = 'rnn-tanh' | 'gru' | 'gru-reset-after' | 'lstm';
const quick = process.argv.includes('--quick');
const CELLS: Cell[] = quick ? ['gru', 'lstm'] : ['rnn-tanh', 'gru', 'gru-reset-after', 'lstm'];
const shapes: readonly SeqShape[] = quick ? TFJS_SHAPES.slice(0, 2) : TFJS_SHAPES;
/**
 * cellgen and ORT: each path warmed up until its time per call is stable (capped), then timed in
 * alternating rounds (forward: f32, wasm, ORT; forward+backward: f32, wasm) until the time budget
 * is spent, at least minRounds; times are medians over rounds, ratios medians of per-round ratios.
 */
const budget: InterleaveOptions = quick
  ? { warm: { maxMs: 1500 }, minSampleMs: 10, minRounds: 3, maxRounds: 9, budgetMs: 1200 }
  : { warm: { maxMs: 3000 }, minSampleMs: 20, minRounds: 3, maxRounds: 15, budgetMs: 4000 };
/** TF.js: samples within the budget (one sample per path where a call is longer). */
const tfjsTiming = quick ? { warmupMs: 0, budgetMs: 250, minSamples: 3 } : { warmupMs: 0, budgetMs: 1000, minSamples: 1 };

interface Fns {
  forward: (s: object, p: object, x: object, o: object) => { states: Record<string, Float32Array>; tape: unknown };
  backward: (t: unknown, d: object) => unknown;
}
interface KernelMod {
  f32: Fns;
  wasm: Fns & { backend: () => string };
  paramShapes: (s: object) => Record<string, number[]>;
}

/** An ONNX Runtime session for the cell's operator, one thread, its weights baked in as initializers. */
async function ortForward(cell: Cell, sh: SeqShape, params: Record<string, Float32Array>, x: Float32Array): Promise<{ run: () => Promise<void>; release: () => Promise<void> }> {
  const P64 = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)]));
  const w = cellToOnnx(cell as CellName, [P64], { hidden: sh.hidden, input: sh.input });
  const { op, attrs } = onnxOpForCell(cell as CellName);
  const m = buildRnnModel(op, { X: { dims: [sh.T, sh.batch, sh.input], data: x }, W: w.W, R: w.R, B: w.B }, { hiddenSize: sh.hidden, ...attrs }, { initializers: ['W', 'R', 'B'] });
  const session = await createSession(m.bytes);
  const feeds = toOrtFeeds(m.feeds) as Record<string, Tensor>;
  return { run: async () => { await session.run(feeds); }, release: () => session.release() };
}

async function main(): Promise<void> {
  const rng = new Random(1);
  const t0 = performance.now();
  const loadStart = loadavg()[0]!;
  console.log(`cellgen benchmarks — node ${process.version}, ${quick ? 'quick run' : 'full run'}; times are medians`);
  // ---- GEMM reference rows: plain JS, WebAssembly SIMD (the kernels' own GEMM), ONNX Runtime's MatMul
  const roof = await measureRoofline({
    dtypes: ['f32'],
    shapes: [{ op: 'NT', M: 256, N: 256, K: 256, role: 'square' }, { op: 'NN', M: 256, N: 256, K: 256, role: 'square' }, { op: 'TN', M: 256, N: 256, K: 256, role: 'square' }],
    timing: { warmupMs: 100, budgetMs: quick ? 200 : 600 },
  });
  const plainJs = roof.roofline.f32.best;
  const wg = loadWasmGemm();
  const gt = { warmupMs: 100, budgetMs: quick ? 200 : 400, minSamples: 5, minSampleMs: 5 };
  const wasmShapes: GemmShape[] = [{ op: 'NN', M: 256, N: 256, K: 256 }, { op: 'NN', M: 512, N: 768, K: 256 }, { op: 'TN', M: 256, N: 256, K: 256 }, { op: 'NN', M: 16, N: 768, K: 256 }, { op: 'P', M: 256, N: 256, K: 256 }, { op: 'P', M: 512, N: 768, K: 256 }, { op: 'P', M: 16, N: 768, K: 256 }];
  // the fastest shape, then it and ORT's MatMul in alternating rounds (a change of load hits both)
  const peaks = wasmShapes.map((sh) => wasmGemmGflops(wg, sh, gt));
  const peakShape = wasmShapes[peaks.indexOf(Math.max(...peaks))]!;
  const peakRun = gemmCall(wg, peakShape);
  const mm = await ortMatMul(256, 256, 256);
  const refRounds = await interleave({ wasm: peakRun.fn, ort: mm.run }, { ...budget, warm: { maxMs: 1000 }, budgetMs: quick ? 500 : 1500 });
  await mm.release();
  const wasmPeak = peakRun.flops / median(refRounds.wasm) / 1e6;
  const ortGflops = mm.flops / median(refRounds.ort) / 1e6;
  const refs = [
    { name: 'plain-JS GEMM peak (TS kernels\' GEMM)', gflops: plainJs },
    { name: 'WASM-SIMD GEMM peak (wasm kernels\' GEMM)', gflops: wasmPeak },
    { name: 'ORT MatMul 256³ (native, 1 thread)', gflops: ortGflops },
  ];
  const top = Math.max(...refs.map((r) => r.gflops));
  const gemmRows: Row[] = refs.map((r) => ({ reference: r.gflops === top ? `${r.name} — roofline` : r.name, 'GFLOP/s': r.gflops }));
  writeReport(gemmRows, { title: 'Matrix-product references (f32, one thread)' });

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
      const f32F = () => mod.f32.forward(sizes, params, { x }, opts);
      const wasmF = () => mod.wasm.forward(sizes, params, { x }, opts);
      // TF.js first (its cpu backend, then the wasm backend's forward + gradients), so the wasm backend stays
      // selected while its forward runs in the rounds with ours and ORT's
      const peers: Record<string, { f?: number; fb?: number }> = {};
      for (const backend of quick ? [] : (['cpu', 'wasm'] as const)) {
        try {
          const r = await measureTfjs(cell, sh, backend, { timing: tfjsTiming, gradOnly: backend === 'wasm', warmMaxMs: 4000 });
          peers[`tfjs-${backend}`] = { f: r.forwardMs, fb: Number.isNaN(r.gradMs) ? undefined : r.gradMs };
        } catch (e) {
          console.error(`tfjs ${backend} ${cell}: ${(e as Error).message}`);
        }
      }
      const tfw = await tfjsForward(cell, sh, 'wasm');
      await warmUntilStable(tfw.run, { minCalls: sh.batch === 1 ? 100 : 20, maxMs: quick ? 3000 : 4000 });
      const ort = await ortForward(cell, sh, params, x);
      const fw = await interleave({ f32: f32F, wasm: wasmF, ort: ort.run, tfjs: tfw.run }, budget);
      await ort.release();
      tfw.dispose();
      peers['tfjs-wasm'] = { ...peers['tfjs-wasm'], f: median(fw.tfjs) };
      const fb = await interleave({ f32: () => mod.f32.backward(f32F().tape, { h: dh }), wasm: () => mod.wasm.backward(wasmF().tape, { h: dh }) }, budget);
      const t = { f32: { f: median(fw.f32), fb: median(fb.f32) }, wasm: { f: median(fw.wasm), fb: median(fb.wasm) } };
      if (mod.wasm.backend() !== 'simd') throw new Error('the wasm kernels fell back to f32: no WebAssembly SIMD here');
      const perStep = sh.T * sh.batch;
      const flopsF = perStep * polyEval(c.cost.forward.total, sizes);
      // Matrix phases: the wasm kernels' own products (from their schedule) replayed through the same GEMM.
      // Timed in alternating rounds with the peak's shape, so that the ratio is not skewed by a change of load.
      const replay = replayCall(wg, kernelProducts(c, sizes, sh.T, sh.batch), 4 * 2 ** 22);
      const pr = await interleave({ phases: replay.fn, peak: peakRun.fn }, { ...budget, warm: { maxMs: 1000 }, budgetMs: quick ? 500 : 1000 });
      const phase = replay.flops / median(pr.phases) / 1e6;
      const phaseVsPeak = ratio(pr.peak, pr.phases) * replay.flops / peakRun.flops;
      // Heap growth per call must not depend on the number of steps: nothing is allocated in the time loop.
      const shortOpts = { steps: Math.max(2, sh.T >> 2), batch: sh.batch };
      const fbW = (o: typeof opts, xs: Float32Array, d: Float32Array) => () => mod.wasm.backward(mod.wasm.forward(sizes, params, { x: xs }, o).tape, { h: d });
      const calls = Math.max(3, Math.min(quick ? 10 : 30, Math.ceil(300 / t.wasm.fb)));
      const heapLong = heapGrowthPerCall(fbW(opts, x, dh), { calls, warmupCalls: calls });
      const heapShort = heapGrowthPerCall(fbW(shortOpts, x.subarray(0, shortOpts.steps * sh.batch * sh.input), dh.subarray(0, shortOpts.steps * sh.batch * sh.hidden)), { calls, warmupCalls: calls });
      const heapPerStep = (heapLong.bytesPerCall - heapShort.bytesPerCall) / (sh.T - shortOpts.steps);

      rows.push({
        cell, T: sh.T, batch: sh.batch, hidden: sh.hidden,
        'f32 fwd ms': t.f32.f, 'wasm fwd ms': t.wasm.f, 'wasm/f32 fwd': ratio(fw.f32, fw.wasm),
        'f32 fwd+bwd ms': t.f32.fb, 'wasm fwd+bwd ms': t.wasm.fb, 'wasm/f32 fwd+bwd': ratio(fb.f32, fb.wasm),
        'wasm fwd GFLOP/s': flopsF / t.wasm.f / 1e6,
        'matrix phases GFLOP/s': phase, 'matrix phases / WASM-SIMD peak': phaseVsPeak,
        'tfjs-cpu fwd ms': peers['tfjs-cpu']?.f, 'tfjs-cpu fwd+grad ms': peers['tfjs-cpu']?.fb,
        'tfjs-wasm fwd ms': peers['tfjs-wasm']?.f, 'tfjs-wasm fwd+grad ms': peers['tfjs-wasm']?.fb,
        'tfjs-wasm fwd / ours': ratio(fw.tfjs, fw.wasm),
        'ort fwd ms': median(fw.ort), 'ORT time / ours (fwd)': ratio(fw.ort, fw.wasm), rounds: `${fw.wasm.length}/${fb.wasm.length}`,
        'heap B/extra step': heapPerStep,
      });
      console.error(`${cell} ${JSON.stringify(sh)} done at ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  const title = `Sequence forward and forward+backward (f32 data), medians on this machine (${cpus().length} cores, load average ${loadStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end, ${((performance.now() - t0) / 60000).toFixed(1)} min); WASM-SIMD GEMM peak ${wasmPeak.toFixed(1)} GFLOP/s, plain-JS ${plainJs.toFixed(1)}, ORT MatMul ${ortGflops.toFixed(1)}`;
  writeReport(rows, { title });
  if (!quick) {
    writeFileSync('bench/results.json', JSON.stringify({ title, rows, refs: gemmRows }, null, 2) + '\n');
    publish(rows, title, gemmRows);
  }
  const med = (k: string) => median(rows.map((r) => r[k] as number)).toFixed(2);
  console.log(`\nmedian wasm/f32: fwd ${med('wasm/f32 fwd')}x, fwd+bwd ${med('wasm/f32 fwd+bwd')}x; ORT time / ours ${med('ORT time / ours (fwd)')}; matrix phases / WASM-SIMD peak ${med('matrix phases / WASM-SIMD peak')}`);
  process.exit(0);
}

/** The columns shown in the README and the docs (bench/results.json keeps all of them). */
const SHOWN: Column[] = [
  { key: 'cell' }, { key: 'T' }, { key: 'batch' }, { key: 'hidden', title: 'I = H' },
  { key: 'f32 fwd ms', title: 'f32 fwd ms', digits: 2 }, { key: 'wasm fwd ms', title: 'wasm fwd ms', digits: 3 }, { key: 'wasm/f32 fwd', title: 'wasm / f32 fwd', digits: 1 },
  { key: 'tfjs-wasm fwd ms', title: 'TF.js wasm fwd ms', digits: 2 }, { key: 'ort fwd ms', title: 'ORT fwd ms', digits: 3 }, { key: 'ORT time / ours (fwd)', title: 'ORT time / ours (fwd)', digits: 2 },
  { key: 'wasm fwd+bwd ms', title: 'wasm fwd+bwd ms', digits: 2 }, { key: 'wasm/f32 fwd+bwd', title: 'wasm / f32 fwd+bwd', digits: 1 },
  { key: 'tfjs-wasm fwd+grad ms', title: 'TF.js wasm fwd+grad ms', digits: 1 },
  { key: 'matrix phases / WASM-SIMD peak', title: 'matrix phases / WASM-SIMD peak', digits: 2 }, { key: 'heap B/extra step', title: 'heap B per extra step', digits: 0 },
  { key: 'rounds', title: 'rounds (fwd/fwd+bwd)' },
];

/** Writes bench/results.md and the README's table from the rows. */
function publish(rows: readonly Row[], title: string, refs: readonly Row[] = []): void {
  const refTable = refs.length ? `\n\n${formatMarkdown(refs)}` : '';
  const md = `${formatMarkdown(rows, SHOWN)}${refTable}\n\n${title}. cellgen, ORT and the TF.js wasm forward: each path first warmed up until its time per call is stable (at most ${budget.warm.maxMs! / 1000} s), then timed in alternating rounds (forward: f32, wasm, ORT, TF.js wasm; forward+backward: f32, wasm), at least ${budget.minRounds} rounds and then until ${budget.budgetMs / 1000} s are spent; times are medians over the rounds, ratios medians of the per-round ratios. TF.js: warmed up the same way (at least 100 calls at batch 1, at most ${quick ? 3 : 4} s; one call where a single call takes longer); its wasm forward is timed in the rounds above, its cpu forward and the forward + gradients then take the median of the samples within ${tfjsTiming.budgetMs / 1000} s (a single sample where a call takes longer). Run with \`npm run bench\` (node ${process.version}; \`npm run bench -- --quick\` for two cells, two shapes and the TF.js wasm forward only); ratios are measured in the same run. "wasm": the WebAssembly SIMD kernels (\`wasm\` export), "f32": the TypeScript kernels. TF.js peers: tf.layers on the cpu and wasm backends (gru-reset-after as tf ops, since TF.js's GRU cell has no reset_after). ONNX Runtime: onnxruntime-node, one intra-op thread, forward only, weights as initializers. "matrix phases" replays the wasm kernels' own matrix products (from their schedule) through the same WebAssembly GEMM, in alternating rounds with the WebAssembly peak's shape (the ratio is per round); the references table gives the peaks measured in the run (the WebAssembly peak's shape and ORT's MatMul in alternating rounds), "roofline" marks the highest. "heap B per extra step": JS-heap growth per added time step (0: the time loop allocates nothing). All columns are in bench/results.json.\n`;
  writeFileSync('bench/results.md', md);
  const readme = readFileSync('README.md', 'utf8');
  const start = '<!-- bench:start -->', end = '<!-- bench:end -->';
  if (!readme.includes(start)) return;
  writeFileSync('README.md', readme.replace(new RegExp(`${start}[\\s\\S]*?${end}`), `${start}\n${md}${end}`));
  // The docs site's front page embeds the README, so the committed golden files follow the new table.
  console.log('README table updated; rebuilding generated/ (the docs front page embeds the README)');
  execFileSync(process.execPath, ['bin/cellgen.js', 'build', '--no-verify'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

if (process.argv.includes('--publish')) {
  // Re-publish the last run's rows (no measuring): bench/results.json -> bench/results.md and README.
  const last = JSON.parse(readFileSync('bench/results.json', 'utf8')) as { title: string; rows: Row[]; refs?: Row[] };
  publish(last.rows, last.title, last.refs);
} else await main();
