// Loads an emitted TypeScript kernel module and checks it against the float64 reference.

import { createRequire } from 'node:module';
import type { CompiledCell } from '../derive/compile.js';
import { gradients, randomProblem } from './gradcheck.js';
import { forwardSequence } from './reference.js';

type Arr = Float32Array | Float64Array;
type KernelFns = {
  forward: (sizes: Record<string, number>, params: Record<string, Arr>, inputs: Record<string, Arr>, opts: { steps: number; batch: number; init?: Record<string, Arr>; lengths?: Int32Array }) => { states: Record<string, Arr>; tape: unknown };
  backward: (tape: unknown, d: Record<string, Arr>) => { params: Record<string, Arr>; inputs: Record<string, Arr>; init: Record<string, Arr> };
};
export interface KernelModule {
  f32: KernelFns;
  f64: KernelFns;
  /** The WebAssembly SIMD kernels (float32), in modules built with them. */
  wasm?: KernelFns;
  [k: string]: unknown;
}

let esbuildModule: typeof import('esbuild') | undefined;
/**
 * esbuild, through require: its package is CommonJS, and importing that as an ES module first scans all of it for
 * export names with Node's CommonJS lexer (0.08-0.25 s here; require takes ~15 ms). Calling it starts nothing.
 */
export const esbuild = (): typeof import('esbuild') => (esbuildModule ??= createRequire(import.meta.url)('esbuild') as typeof import('esbuild'));

/** Starts esbuild's service (a child process), so that its start-up overlaps what this thread does meanwhile. */
export function startEsbuild(): void {
  void Promise.resolve()
    .then(() => esbuild().transform('', { loader: 'ts' }))
    .catch(() => {});
}

const started = new Map<string, Promise<string>>();

/**
 * Starts transpiling TypeScript source (esbuild's service, a child process) for a later importTs: the build calls it
 * as soon as a cell's kernel module is emitted, so the transpiling overlaps the other emitters.
 */
export function transpileSoon(source: string): void {
  if (started.has(source)) return;
  const p = esbuild().transform(source, { loader: 'ts', format: 'esm', target: 'es2022' }).then((r) => r.code);
  p.catch(() => {});
  started.set(source, p);
}

/** Transpiles TypeScript source (esbuild: types stripped, nothing checked) and imports it as an ES module. */
export async function importTs(source: string): Promise<KernelModule> {
  transpileSoon(source);
  const pending = started.get(source)!;
  started.delete(source);
  const js = await pending;
  return (await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)) as KernelModule;
}

/** max |a - b| / max |b|: the error relative to the scale of the tensor. */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

export interface KernelCheck {
  /** Worst scaled error of states and gradients, per precision. */
  f64: number;
  f32: number;
  /** The WebAssembly kernels' worst error (NaN in modules without them). */
  wasm: number;
  worst: string;
}

/** Runs the module's forward and backward in both precisions on a random problem. */
export function checkKernels(c: CompiledCell, mod: KernelModule, opts: { steps: number; batch: number; seed: number; sizes?: Record<string, number>; lengths?: Int32Array }): KernelCheck {
  const p = randomProblem(c, { steps: opts.steps, batch: opts.batch, seed: opts.seed, sizes: opts.sizes });
  p.readout = undefined;
  const seq = { batch: p.batch, steps: p.steps, inputs: p.inputs, init: p.init };
  const ref = forwardSequence(c.cell, p.sizes, p.params, seq);
  const g = gradients(c, p);
  const out: KernelCheck = { f64: 0, f32: 0, wasm: mod.wasm ? 0 : NaN, worst: '' };
  for (const prec of mod.wasm ? (['f64', 'f32', 'wasm'] as const) : (['f64', 'f32'] as const)) {
    const F = prec === 'f64' ? Float64Array : Float32Array;
    const conv = (r: Record<string, Float64Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, F.from(v)]));
    const k = mod[prec]!;
    const fw = k.forward(p.sizes, conv(p.params), conv(p.inputs), { steps: p.steps, batch: p.batch, init: conv(p.init) });
    const bw = k.backward(fw.tape, conv(p.weights));
    const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
      ...Object.keys(ref.states).map((s) => [`states.${s}`, fw.states[s]!, ref.states[s]!] as [string, ArrayLike<number>, ArrayLike<number>]),
      ...Object.keys(g.params).map((n) => [`d${n}`, bw.params[n]!, g.params[n]!] as [string, ArrayLike<number>, ArrayLike<number>]),
      ...Object.keys(g.inputs).map((n) => [`d${n}`, bw.inputs[n]!, g.inputs[n]!] as [string, ArrayLike<number>, ArrayLike<number>]),
      ...Object.keys(g.init).map((n) => [`d${n}_0`, bw.init[n]!, g.init[n]!] as [string, ArrayLike<number>, ArrayLike<number>]),
    ];
    for (const [name, a, b] of pairs) {
      const e = scaledError(a, b);
      if (e > out[prec]) {
        out[prec] = e;
        if (prec !== 'f64') out.worst = `${prec} ${name}`;
      }
    }
  }
  return out;
}
