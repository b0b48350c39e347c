// A quick wasm-vs-f32 check while working on the WebAssembly kernels (not the published bench):
// emits the CPU module of each cell from the current printers and times f32 and wasm forward and
// forward+backward, ratios from the same run.
//   node --import tsx bench/wasm-quick.ts [gru,lstm] [32x1x64,32x16x256]

import { readFileSync } from 'node:fs';
import { importTs } from '../src/check/kernels.js';
import { Rng } from '../src/check/random.js';
import { compileCell } from '../src/derive/compile.js';
import { emitCpuModule } from '../src/emit/wasm/index.js';
import { median, timeIt } from './stats.js';

interface Fns {
  forward: (s: object, p: object, x: object, o: object) => { states: Record<string, Float32Array>; tape: unknown };
  backward: (t: unknown, d: object) => unknown;
}
type Mod = { f32: Fns; wasm: Fns; paramShapes: (s: object) => Record<string, number[]> };

const cells = (process.argv[2] ?? 'gru,lstm').split(',');
const shapes = (process.argv[3] ?? '32x1x64,32x16x256').split(',').map((s) => s.split('x').map(Number) as [number, number, number]);
const timing = { warmupMs: 100, budgetMs: 250, minSamples: 3 };
const rng = new Rng(1);
const t = (fn: () => unknown) => median([0, 1, 2].map(() => timeIt(fn, timing).medianMs));

for (const cell of cells) {
  const c = compileCell(readFileSync(`cells/${cell}.cell.yaml`, 'utf8'), `cells/${cell}.cell.yaml`);
  const mod = (await importTs(emitCpuModule(c, 'bench').text)) as unknown as Mod;
  for (const [T, B, H] of shapes) {
    const sizes = { input: H, hidden: H, classes: 2 };
    const params = Object.fromEntries(Object.entries(mod.paramShapes(sizes)).map(([k, s]) => [k, Float32Array.from(rng.array(s.reduce((a, b) => a * b, 1), 1 / Math.sqrt(H)))]));
    const x = Float32Array.from(rng.array(T * B * H));
    const dh = Float32Array.from(rng.array(T * B * H));
    const opts = { steps: T, batch: B };
    const r: Record<string, number> = {};
    for (const k of ['f32', 'wasm'] as const) {
      const K = mod[k];
      const fwd = () => K.forward(sizes, params, { x }, opts);
      r[`${k} fwd`] = t(fwd);
      r[`${k} fb`] = t(() => K.backward(fwd().tape, { h: dh }));
    }
    console.log(`${cell} ${T}x${B}x${H}: f32 fwd ${r['f32 fwd']!.toFixed(3)} ms, wasm fwd ${r['wasm fwd']!.toFixed(3)} ms (${(r['f32 fwd']! / r['wasm fwd']!).toFixed(2)}x); f32 fwd+bwd ${r['f32 fb']!.toFixed(3)}, wasm fwd+bwd ${r['wasm fb']!.toFixed(3)} (${(r['f32 fb']! / r['wasm fb']!).toFixed(2)}x)`);
  }
}
process.exit(0);
