// A quick wasm-vs-f32 check while working on the WebAssembly kernels (not the published bench):
// emits the CPU module of each cell from the current printers and times f32 and wasm forward and
// forward+backward, ratios from the same run (median of per-round ratios, the two alternating).
//   node --import tsx bench/wasm-quick.ts [gru,lstm] [32x1x64,32x16x256]

import { readFileSync } from 'node:fs';
import { importTs } from '../src/check/kernels.js';
import { Random } from '../src/runtime/random.js';
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
const timing = { warmupMs: 50, budgetMs: 150, minSamples: 3 };
const rng = new Random(1);

for (const cell of cells) {
  const c = compileCell(readFileSync(`cells/${cell}.cell.yaml`, 'utf8'), `cells/${cell}.cell.yaml`);
  const mod = (await importTs(emitCpuModule(c, 'bench').text)) as unknown as Mod;
  for (const [T, B, H] of shapes) {
    const sizes = { input: H, hidden: H, classes: 2 };
    const params = Object.fromEntries(Object.entries(mod.paramShapes(sizes)).map(([k, s]) => [k, Float32Array.from(rng.array(s.reduce((a, b) => a * b, 1), 1 / Math.sqrt(H)))]));
    const x = Float32Array.from(rng.array(T * B * H));
    const dh = Float32Array.from(rng.array(T * B * H));
    const opts = { steps: T, batch: B };
    // f32 and wasm alternate in short rounds, so a load change on the machine hits both
    const fns = (['f32', 'wasm'] as const).map((k) => {
      const K = mod[k];
      const fwd = () => K.forward(sizes, params, { x }, opts);
      return { fwd, fb: () => K.backward(fwd().tape, { h: dh }) };
    });
    const r: Record<string, number> = {};
    for (const w of ['fwd', 'fb'] as const) {
      const rounds = [0, 1, 2, 3, 4].map(() => fns.map((f) => timeIt(f[w], timing).medianMs));
      r[`f32 ${w}`] = median(rounds.map((x) => x[0]!));
      r[`wasm ${w}`] = median(rounds.map((x) => x[1]!));
      r[`ratio ${w}`] = median(rounds.map((x) => x[0]! / x[1]!));
    }
    console.log(`${cell} ${T}x${B}x${H}: f32 fwd ${r['f32 fwd']!.toFixed(3)} ms, wasm fwd ${r['wasm fwd']!.toFixed(3)} ms (${r['ratio fwd']!.toFixed(2)}x); f32 fwd+bwd ${r['f32 fb']!.toFixed(3)}, wasm fwd+bwd ${r['wasm fb']!.toFixed(3)} (${r['ratio fb']!.toFixed(2)}x)`);
  }
}
process.exit(0);
