import { readFileSync } from 'node:fs';
import { compileCell } from './src/derive/compile.js';
import { emitWgsl } from './src/emit/wgsl/index.js';
import { createNodeDevice, WgslCellRunner } from './src/runtime/webgpu/index.js';
import { randomProblem } from './src/check/gradcheck.js';
const nd = await createNodeDevice();
if (!nd.device) throw new Error(nd.reason);
const device = nd.device;
console.log(nd.adapter);
const configs = [
  { I: 5, H: 7, B: 3, T: 5 },
  { I: 64, H: 128, B: 16, T: 64 },
  { I: 128, H: 256, B: 32, T: 128 },
];
for (const cellName of ['rnn-tanh', 'gru', 'lstm']) {
  const f = `cells/${cellName}.cell.yaml`;
  const c = compileCell(readFileSync(f, 'utf8'), f);
  const out = emitWgsl(c);
  for (const cfg of configs) {
    const sizes: Record<string, number> = { input: cfg.I, hidden: cfg.H, classes: 3 };
    const p = randomProblem(c, { steps: cfg.T, batch: cfg.B, seed: 1, sizes, scale: 0.1 });
    let t0 = performance.now();
    const r = await WgslCellRunner.create(device, out.kernels, { sizes, batch: cfg.B });
    const tc = performance.now() - t0;
    const fws: number[] = [], bws: number[] = [];
    for (let rep = 0; rep < 4; rep++) {
      t0 = performance.now();
      await r.forward({ params: p.params, inputs: p.inputs, init: p.init, steps: cfg.T });
      fws.push(performance.now() - t0);
      t0 = performance.now();
      await r.backward(p.weights);
      bws.push(performance.now() - t0);
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(1);
    const nfw = out.kernels.forward.dispatches.reduce((s, d) => s + (d.scope === 'loop' ? cfg.T : 1), 0);
    const nbw = out.kernels.backward.dispatches.reduce((s, d) => s + (d.scope === 'loop' ? cfg.T : 1), 0) + out.kernels.backward.reductions.length;
    console.log(`${cellName.padEnd(9)} I=${cfg.I} H=${cfg.H} B=${cfg.B} T=${cfg.T}: compile ${tc.toFixed(0)} ms, forward ${med(fws)} ms (${nfw} dispatches), backward ${med(bws)} ms (${nbw} dispatches)`);
    r.destroy();
  }
}
device.destroy();
