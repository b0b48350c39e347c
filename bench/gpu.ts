// `npm run bench:gpu`: every shipped cell's WGSL forward and backward on a WebGPU device (Dawn), and a standalone GEMM.
//
//   npm run bench:gpu                      default backend (a real GPU where there is one; llvmpipe otherwise)
//   npm run bench:gpu -- --backend vulkan  Dawn's Vulkan backend (CELLGEN_WEBGPU_BACKEND=vulkan does the same)
//   npm run bench:gpu -- --quick           CI-sized shapes (automatic on software adapters: llvmpipe, lavapipe, SwiftShader)
//   npm run bench:gpu -- --cells gru,lstm --shapes 32x16x256,128x64x512 --reps 5 --gemm 4096
//   bash bench/gpu-device.sh prepare|run   the same on a lent GPU through the device tool (see that script)
//
// Compute-only times keep every tensor on the device (write once, then runForward / runBackward and wait for the
// queue); times with transfers use the array forms (upload, run, read everything back). GFLOP/s counts the matrix
// products only: 2 B T |M| per matrix M forward, twice that backward (input adjoints and weight gradients).

import { readdirSync, readFileSync } from 'node:fs';
import { compileCell, type CompiledCell } from '../src/derive/compile.js';
import { randomProblem } from '../src/check/gradcheck.js';
import { emitWgsl } from '../src/emit/wgsl/index.js';
import { createNodeDevice, numel, WgslCellRunner } from '../src/runtime/webgpu/index.js';
import { cellText } from '../test/cell-text.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

interface Shape {
  T: number;
  B: number;
  H: number;
}
const parseShapes = (s: string): Shape[] =>
  s.split(',').map((x) => {
    const [T, B, H] = x.split('x').map(Number);
    if (!T || !B || !H) throw new Error(`--shapes: '${x}' is not TxBxH`);
    return { T, B, H };
  });
const FULL: Shape[] = parseShapes('32x1x64,32x16x256,128x64x512,256x256x1024');
const QUICK: Shape[] = parseShapes('8x2x32,16x4x64');

const GEMM_SPEC = cellText({
  name: 'gemm',
  title: 'One matrix product (the GEMM benchmark)',
  parameters: { W: '[hidden, input]' },
  equations: { h: 'W * x' },
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of f over `reps` runs after one warm-up run, stopping early past `budgetMs`. */
async function time(f: () => Promise<unknown>, reps: number, budgetMs: number): Promise<number> {
  await f();
  const xs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < reps && (i < 2 || performance.now() - start < budgetMs); i++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

/** The problem's tensors as float32, as a caller would keep them: the timed calls then copy nothing on the host. */
function f32Problem<Q extends { params: Record<string, ArrayLike<number>>; inputs: Record<string, ArrayLike<number>>; init: Record<string, ArrayLike<number>>; weights: Record<string, ArrayLike<number>> }>(q: Q): Q {
  const conv = (r: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float32Array.from(v)]));
  return { ...q, params: conv(q.params), inputs: conv(q.inputs), init: conv(q.init), weights: conv(q.weights) };
}

const cellFiles = readdirSync('cells').filter((f) => f.endsWith('.cell.yaml')).sort();
const wanted = arg('cells')?.split(',');
const cells: CompiledCell[] = cellFiles
  .map((f) => compileCell(readFileSync(`cells/${f}`, 'utf8'), `cells/${f}`))
  .filter((c) => !wanted || wanted.includes(c.spec.name));
const gemmCell = compileCell(GEMM_SPEC, 'bench/gemm.cell.yaml');

const requiredLimits: Record<string, number> = {};
for (const c of [...cells, gemmCell]) for (const [k, v] of Object.entries(emitWgsl(c).kernels.requiredLimits)) requiredLimits[k] = Math.max(requiredLimits[k] ?? 0, v);
const backend = arg('backend') ?? (process.env.CELLGEN_WEBGPU_BACKEND || undefined);
const nd = await createNodeDevice({ backend, requiredLimits });
if (!nd.device) {
  console.error(`bench:gpu: no WebGPU device: ${nd.reason}`);
  process.exit(1);
}
const device = nd.device;
const software = /llvmpipe|lavapipe|swiftshader|software/i.test(nd.adapter);
const quick = argv.includes('--quick') || (software && !argv.includes('--full'));
const shapes = arg('shapes') ? parseShapes(arg('shapes')!) : quick ? QUICK : FULL;
const reps = Number(arg('reps') ?? (quick ? 3 : 10));
const budget = quick ? 2000 : 5000;
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

console.log(`# cellgen WGSL on ${nd.adapter}${quick ? ' (quick)' : ''}\n`);
console.log('| cell | T | B | I=H | slices x chunks | fwd ms | fwd GFLOP/s | bwd ms | bwd GFLOP/s | fwd+bwd ms with transfers |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const c of cells) {
  const kernels = emitWgsl(c).kernels;
  for (const { T, B, H } of shapes) {
    const sizes = Object.fromEntries(c.spec.sizes.map((s) => [s.name, s.name === 'classes' ? 2 : H]));
    const macs = kernels.params.filter((p) => p.shape.length === 2).reduce((s, p) => s + numel(p.shape, sizes), 0);
    const flopsFw = 2 * B * T * macs;
    let row: string;
    try {
      const r = await WgslCellRunner.create(device, kernels, { sizes, batch: B });
      const p = f32Problem(randomProblem(c, { steps: T, batch: B, seed: 1, sizes }));
      r.writeParams(p.params);
      r.writeInputs(p.inputs, T);
      r.writeInit(p.init);
      const fw = await time(async () => {
        await r.runForward();
        await device.queue.onSubmittedWorkDone();
      }, reps, budget);
      const bw = await time(async () => {
        await r.runBackward(p.weights);
        await device.queue.onSubmittedWorkDone();
      }, reps, budget);
      const both = await time(async () => {
        await r.forward({ params: p.params, inputs: p.inputs, init: p.init, steps: T });
        await r.backward(p.weights);
      }, reps, budget);
      row = `| ${c.spec.name} | ${T} | ${B} | ${H} | ${r.batchSlices().length} x ${r.chunkSteps(T) >= T ? 1 : Math.ceil(T / r.chunkSteps(T))} | ${fmt(fw)} | ${fmt(flopsFw / fw / 1e6, 1)} | ${fmt(bw)} | ${fmt((2 * flopsFw) / bw / 1e6, 1)} | ${fmt(both)} |`;
      r.destroy();
    } catch (e) {
      row = `| ${c.spec.name} | ${T} | ${B} | ${H} | failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]} | | | | | |`;
    }
    console.log(row);
  }
}

// The standalone GEMM: h = W x over T = 1 step and N rows, I = H = N: one N x N x N product and a copy.
const N = Number(arg('gemm') ?? (quick ? 256 : 4096));
{
  const kernels = emitWgsl(gemmCell).kernels;
  const r = await WgslCellRunner.create(device, kernels, { sizes: { input: N, hidden: N }, batch: N });
  const p = f32Problem(randomProblem(gemmCell, { steps: 1, batch: N, seed: 2, sizes: { input: N, hidden: N } }));
  r.writeParams(p.params);
  r.writeInputs(p.inputs, 1);
  const ms = await time(async () => {
    await r.runForward();
    await device.queue.onSubmittedWorkDone();
  }, reps, budget);
  console.log(`\nStandalone GEMM ${N} x ${N} x ${N} (f32, tiled, with one ${N} x ${N} copy): ${fmt(ms)} ms, ${fmt((2 * N ** 3) / ms / 1e6, 1)} GFLOP/s`);
  r.destroy();
}
process.exit(0);
