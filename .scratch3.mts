import { readFileSync, readdirSync } from 'node:fs';
import { compileCell } from './src/derive/compile.js';
import { emitWgsl } from './src/emit/wgsl/index.js';
import { createNodeDevice, WgslCellRunner } from './src/runtime/webgpu/index.js';
import { randomProblem, gradients } from './src/check/gradcheck.js';
import { forwardSequence } from './src/check/reference.js';
const nd = await createNodeDevice({});
if (!nd.device) { console.log(nd.reason); process.exit(1); }
const device = nd.device;
device.addEventListener('uncapturederror', (e: any) => console.log('UNCAPTURED', e.error.message));
const files = process.argv.slice(2).length ? process.argv.slice(2) : readdirSync('cells').map(f => 'cells/' + f);
for (const f of files) {
  const c = compileCell(readFileSync(f, 'utf8'), f);
  const out = emitWgsl(c);
  for (const [name, code] of Object.entries(out.shaders)) {
    const m = device.createShaderModule({ code });
    const info = await m.getCompilationInfo();
    for (const msg of info.messages) console.log(f, name, msg.type, msg.lineNum, msg.linePos, msg.message);
  }
  const sizes: Record<string, number> = {};
  for (const s of c.spec.sizes) sizes[s.name] = s.name === 'input' ? 5 : s.name === 'hidden' ? 7 : 3;
  const p = randomProblem(c, { steps: 4, batch: 3, seed: 7, sizes });
  delete p.readout;
  const r = await WgslCellRunner.create(device, out.kernels, { sizes, batch: 3 });
  const fw = await r.forward({ params: p.params, inputs: p.inputs, init: p.init, steps: 4 });
  const ref = forwardSequence(c.cell, sizes, p.params, { batch: 3, steps: 4, inputs: p.inputs, init: p.init });
  let worst = 0;
  const cmp = (what: string, g: Float32Array, e: Float64Array) => {
    if (g.length !== e.length) { console.log('LEN', what, g.length, e.length); worst = Infinity; return; }
    for (let i = 0; i < g.length; i++) { const ex = Math.abs(g[i]! - e[i]!) / (1e-5 + 1e-4 * Math.abs(e[i]!)); if (!(ex <= worst)) worst = Math.max(worst, isNaN(ex) ? Infinity : ex); if (!(ex <= 1)) { console.log('BAD', f, what, i, g[i], e[i]); break; } }
  };
  for (const s of c.cell.prev) cmp('state ' + s.name, fw.states[s.name]!, ref.states[s.name]!);
  const bw = await r.backward(p.weights);
  const gr = gradients(c, p);
  for (const k of Object.keys(gr.params)) cmp('d' + k, bw.grads[k]!, gr.params[k]!);
  for (const k of Object.keys(gr.inputs)) cmp('dx ' + k, bw.dInputs[k]!, gr.inputs[k]!);
  for (const k of Object.keys(gr.init)) cmp('dinit ' + k, bw.dInit[k]!, gr.init[k]!);
  console.log(f, 'worst ratio', worst.toFixed(3), 'fw dispatches', out.kernels.forward.dispatches.map(d => d.entry).join(','), 'bw', out.kernels.backward.dispatches.map(d => d.entry).join(','));
}
device.destroy();
