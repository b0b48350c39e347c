// The work behind a build's cell parts (see cell.ts): emit, verify, document. Loads the compiler.

import { quickGradCheck, randomProblem } from '../check/gradcheck.js';
import { checkKernels, type KernelModule, transpileSoon } from '../check/kernels.js';
import { cellDoc, vanishingSeries } from '../docs/data.js';
import { type CompiledCell, exampleSizes } from '../derive/compile.js';
import { cellLatex, latexDocument } from '../emit/latex.js';
import { emitCpuModule } from '../emit/wasm/index.js';
import { emitWgsl } from '../emit/wgsl/index.js';
import { polyEval, polyLatex } from '../ir/poly.js';
import { evalDim } from '../ir/shape.js';
import type { Documented, Emitted, Verified } from './cell.js';
import { RUNTIME_DIR } from './runtime.js';

export { compileCell } from '../derive/compile.js';
export { importTs } from '../check/kernels.js';

/** `checks`: the kernel module will be imported (verify or doc parts): esbuild transpiles it while the other targets are emitted. */
export function emitCell(c: CompiledCell, COMMAND: string, checks = false): Emitted {
  const name = c.spec.name;
  const mod = emitCpuModule(c, COMMAND);
  if (checks) transpileSoon(mod.text);
  const wgsl = emitWgsl(c, { command: COMMAND, runtimeImport: `./${RUNTIME_DIR}/index.js` });
  const sizes = exampleSizes(c.spec);
  const sym = Object.fromEntries(c.spec.sizes.map((s) => [s.name, s.symbol]));
  return {
    files: [
      [`latex/${name}.tex`, latexDocument(c, cellLatex(c))],
      [`ts/${name}.ts`, mod.text],
      [`wgsl/${name}.forward.wgsl`, wgsl.shaders.forward!],
      [`wgsl/${name}.backward.wgsl`, wgsl.shaders.backward!],
      [`wgsl/${name}.ts`, wgsl.module],
    ],
    params: polyEval(c.cost.params, sizes),
    paramsFormula: polyLatex(c.cost.params, sym),
    forwardFlops: polyEval(c.cost.forward.total, sizes),
    backwardFlops: polyEval(c.cost.backward.total, sizes),
    savedBytes: 4 * mod.tapeFloats.reduce((s, d) => s + evalDim(d, sizes), 0),
  };
}

export function verifyCell(c: CompiledCell, mod: KernelModule, LIMITS: { gradCheck: number; kernelF64: number; kernelF32: number }): Verified {
  const p = randomProblem(c, { steps: 6, batch: 2, seed: 1 });
  // Per-tensor dot-product tests and a directional finite difference (the full check is in the tests).
  const g = quickGradCheck(c, p, 3);
  const gc = g.worst;
  const k = checkKernels(c, mod, { steps: 5, batch: 3, seed: 2, sizes: Object.fromEntries(c.spec.sizes.map((s, j) => [s.name, 3 + 2 * j])) });
  if (!(gc <= LIMITS.gradCheck)) throw new Error(`${c.spec.name}: gradient check failed, relative error ${gc.toExponential(2)} > ${LIMITS.gradCheck} in ${g.tensor}`);
  // The WebAssembly kernels compute in float32 too: the same limit.
  if (!(k.f64 <= LIMITS.kernelF64 && k.f32 <= LIMITS.kernelF32 && k.wasm <= LIMITS.kernelF32))
    throw new Error(`${c.spec.name}: generated kernels disagree with the reference (f64 ${k.f64.toExponential(2)}, f32 ${k.f32.toExponential(2)}, wasm ${k.wasm.toExponential(2)} in ${k.worst})`);
  return { gradCheck: gc, kernelF64: k.f64, kernelF32: k.f32 };
}

export function documentCell(c: CompiledCell, mod: KernelModule, savedBytes: number, files: readonly (readonly [string, string])[] = []): Documented {
  const vanishing = vanishingSeries(c, mod);
  const text = (p: string) => files.find(([f]) => f === p)?.[1];
  const doc = cellDoc(c, mod, savedBytes, { ts: text(`ts/${c.spec.name}.ts`), tex: text(`latex/${c.spec.name}.tex`) });
  return vanishing ? { doc, vanishing } : { doc };
}
