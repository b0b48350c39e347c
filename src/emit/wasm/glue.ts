// The TypeScript around a cell's WebAssembly module: embedded bytes, instantiation, one linear memory
// with an allocator, tapes kept in wasm memory, and `wasm` with the f32 kernels' signatures.

import type { CompiledCell } from '../../derive/compile.js';
import type { Dim } from '../../ir/shape.js';
import type { IntX, Program } from '../ts/program.js';
import { tsKey, tsString } from '../../text/escape.js';
import { dStateName, tensorSlot, type WasmModule } from './module.js';
import { WASM_RUNTIME } from './runtime.js';

const dimTs = (d: Dim): string => {
  const parts = d.terms.map(([n, k]) => (k === 1 ? `z.${n}` : `${k} * z.${n}`));
  if (d.constant !== 0 || parts.length === 0) parts.push(String(d.constant));
  return parts.length > 1 ? `(${parts.join(' + ')})` : parts[0]!;
};

const intTs = (x: IntX): string => {
  if (x.length === 0) return '0';
  const sym = (s: string) => (s === '@steps' ? 'steps' : s === '@batch' ? 'batch' : `z.${s.slice(1)}`);
  return x.map((m) => [...(m.k !== 1 || m.syms.length === 0 ? [String(m.k)] : []), ...m.syms.map(sym)].join(' * ')).join(' + ');
};

/** Base64 without line breaks: the bytes are part of the golden files, so the text must be stable. */
const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function wasmGlue(c: CompiledCell, p: Program, w: WasmModule): string {
  const cell = c.cell;
  const fwdLen = new Map<string, IntX>([...p.fwdBuffers.map((b) => [b.name, b.len] as const), ...w.extraFwd.map((b) => [b.name, b.len] as const)]);
  const bwdLen = new Map<string, IntX>(p.bwdBuffers.map((b) => [b.name, b.len] as const));
  const shape = (xs: readonly Dim[]): IntX => xs.map((d) => [...d.terms.map(([n, k]) => ({ k, syms: [`$${n}`] })), ...(d.constant ? [{ k: d.constant, syms: [] }] : [])])
    .reduce<IntX>((acc, x) => acc.flatMap((a) => x.map((b) => ({ k: a.k * b.k, syms: [...a.syms, ...b.syms] }))), [{ k: 1, syms: [] }]);
  for (const x of cell.params) fwdLen.set(tensorSlot(x.name), shape(x.shape));
  for (const x of cell.inputs) fwdLen.set(tensorSlot(x.name), [{ k: 1, syms: ['@steps', '@batch'] }, ...[]].flatMap((a) => shape(x.shape).map((b) => ({ k: b.k, syms: [...a.syms, ...b.syms] }))));
  for (const s of cell.prev) bwdLen.set(dStateName(s.name), [{ k: 1, syms: ['@steps', '@batch'] }].flatMap((a) => shape(s.shape).map((b) => ({ k: b.k, syms: [...a.syms, ...b.syms] }))));
  const head = w.forward.slots.filter((s) => s.startsWith('$') || s.startsWith('@'));
  // where each frame slot lives: the weights version (params, packed weights and their transposes),
  // the tape block (inputs, states over time, saved values) or the per-call work block
  const weightSlots = [...cell.params.map((x) => tensorSlot(x.name)), ...p.packed, ...w.extraFwd.map((b) => b.name)];
  const tapeSlots = [...cell.inputs.map((x) => tensorSlot(x.name)), ...p.stateSeq.values(), ...p.tapeBufs];
  const isWork = (s: string) => !head.includes(s) && !weightSlots.includes(s) && !tapeSlots.includes(s);
  const fwdWork = w.forward.slots.filter(isWork);
  const bwdWork = w.backward.slots.filter(isWork);
  const lens = (slots: readonly string[], m: Map<string, IntX>) => `[${slots.map((s) => intTs(m.get(s) ?? fwdLen.get(s)!)).join(', ')}]`;
  const idx = (slots: readonly string[], name: string) => slots.indexOf(name);
  const headTs = (s: string) => (s === '@steps' ? 'steps' : s === '@batch' ? 'batch' : s === '@lengths' ? 'lengthsPtr' : s === '@packed' ? 'packed' : `(Object.hasOwn(z, ${tsString(s.slice(1))}) ? z[${tsString(s.slice(1))}] ?? 0 : 0)`);
  const frameTs = (slots: readonly string[], work: readonly string[]) =>
    `[${slots.map((s) => (head.includes(s) ? headTs(s) : weightSlots.includes(s) ? `wp[${weightSlots.indexOf(s)}]!` : tapeSlots.includes(s) ? `tp[${tapeSlots.indexOf(s)}]!` : `work.ptrs[${work.indexOf(s)}]!`)).join(', ')}]`;
  // what an evicted tape keeps to run the forward again: the inputs and the initial states (row 0)
  const keepTs = tapeSlots.map((s) => {
    if (cell.inputs.some((x) => tensorSlot(x.name) === s)) return intTs(fwdLen.get(s)!);
    const st = cell.prev.find((x) => p.stateSeq.get(x.name) === s);
    return st ? `batch * ${dimTs(st.shape[0]!)}` : '0';
  });
  const name = c.spec.name;
  const st = tsString;
  // Spec names are read from the caller's objects as own properties only (a state may be named `constructor`).
  const own = (o: string, n: string) => `own_(${o}, ${st(n)})`;
  const seqOf = (s: string) => idx(tapeSlots, p.stateSeq.get(s)!);
  return `
// ---- WebAssembly SIMD128 kernels -----------------------------------------------------------------
// The same schedule as forward/backward above, printed by src/emit/wasm; the module imports nothing.
const wasmBytes = ${st(base64(w.bytes))};
${WASM_RUNTIME}
const wasmKernels = new WasmKernels(wasmBytes);

/** Floats of each weights slot (params, packed weights, their transposes). */
function wasmWeightLens(z: Sizes): number[] {
  const steps = 0, batch = 0;
  void steps; void batch;
  return ${lens(weightSlots, fwdLen)};
}

/** Floats of each tape slot (inputs, states over time, saved values). */
function wasmTapeLens(z: Sizes, steps: number, batch: number): number[] {
  return ${lens(tapeSlots, fwdLen)};
}

/** Floats of each tape slot that an evicted tape keeps (inputs, initial states). */
function wasmTapeKeep(z: Sizes, steps: number, batch: number): number[] {
  return [${keepTs.join(', ')}];
}

/** Runs the forward kernel over a tape block (none, with steps = batch = 0: only packs the weights). */
function wasmRunForward(rt: WasmKernels, z: Sizes, steps: number, batch: number, block: WasmTapeBlock | undefined, weights: WasmWeights, packed: number): void {
  const wp = weights.ptrs;
  const tp = block?.ptrs ?? wasmTapeLens(z, 0, 0).map(() => 0);
  const lengthsPtr = block?.hasLengths === true ? block.ptr + block.lengthsOffset : 0;
  const work = rt.work(${w.forward.slots.length}, ${lens(fwdWork, fwdLen)}, 0);
  rt.frame(work, ${frameTs(w.forward.slots, fwdWork)});
  rt.call('forward', work);
  rt.release(work);
}

/** Runs ${name} over a whole sequence in WebAssembly; the tape stays in wasm memory for backwardWasm. */
export function forwardWasm(sizes: Sizes, params: Params<Float32Array>, inputs: Inputs<Float32Array>, opts: ForwardOptions<Float32Array>): ForwardResult<Float32Array> | WasmForwardResult<States<Float32Array>> {
  const rt = wasmKernels.get();
  if (rt === null) return forward(sizes, params, inputs, opts);
  const z = checkSizes_(sizes);
  const { steps, batch } = opts;
  if (!(Number.isInteger(steps) && steps >= 0 && Number.isInteger(batch) && batch >= 0)) throw new Error(\`${name}: steps and batch must be integers ≥ 0 (got \${steps}, \${batch})\`);
  const lengths = checkLengths_(opts.lengths, batch, steps);
${cell.params.map((x) => `  check_(${own('params', x.name)}, ${x.shape.map(dimTs).join(' * ') || '1'}, ${st(x.name)});`).join('\n')}
${cell.inputs.map((x) => `  check_(${own('inputs', x.name)}, steps * batch * ${dimTs(x.shape[0]!)}, ${st(x.name)});`).join('\n')}
${cell.prev.map((s) => `  if (${own('opts.init', s.name)} !== undefined) check_(${own('opts.init', s.name)}, batch * ${dimTs(s.shape[0]!)}, ${st(`init.${s.name}`)});`).join('\n')}
  const { w: weights, fresh } = rt.weights(wasmWeightLens(z), [${cell.params.map((x) => `${own('params', x.name)}!`).join(', ')}]);
  const block = rt.tape(wasmTapeLens(z, steps, batch), wasmTapeKeep(z, steps, batch), batch, weights);
  const tp = block.ptrs;
  block.hasLengths = lengths !== undefined;
  if (lengths !== undefined) rt.putI32(block.ptr + block.lengthsOffset, lengths);
${cell.inputs.map((x) => `  rt.put(tp[${idx(tapeSlots, tensorSlot(x.name))}]!, ${own('inputs', x.name)}!);`).join('\n')}
${cell.prev.map((s) => `  if (${own('opts.init', s.name)} !== undefined) rt.put(tp[${seqOf(s.name)}]!, ${own('opts.init', s.name)}!);\n  else rt.zero(tp[${seqOf(s.name)}]!, 4 * batch * ${dimTs(s.shape[0]!)});`).join('\n')}
  wasmRunForward(rt, z, steps, batch, block, weights, fresh ? 0 : 1);
  const result = {
    states: { ${cell.prev.map((s) => `${tsKey(s.name)}: rt.get32(tp[${seqOf(s.name)}]! + 4 * batch * ${dimTs(s.shape[0]!)}, steps * batch * ${dimTs(s.shape[0]!)})`).join(', ')} },
    tape: { wasm: block, sizes: z, steps, batch, lengths },
  };
  rt.own(result.tape, block);
  return result;
}

/** BPTT over the sequence a forwardWasm call ran; every returned array is a copy. */
export function backwardWasm(tape: Tape<Float32Array> | WasmTape, dStates: Partial<States<Float32Array>>): BackwardResult<Float32Array> {
  if (!('wasm' in tape)) return backward(tape, dStates);
  const rt = wasmKernels.get()!;
  const { sizes: z, steps, batch } = tape as WasmTape & { sizes: Sizes };
${cell.prev.map((s) => `  if (${own('dStates', s.name)} !== undefined) check_(${own('dStates', s.name)}, steps * batch * ${dimTs(s.shape[0]!)}, ${st(`dStates.${s.name}`)});`).join('\n')}
  const block = tape.wasm, weights = block.weights;
  rt.useWeights(weights, () => wasmRunForward(rt, z, 0, 0, undefined, weights, 0));
  rt.restore(block, () => wasmRunForward(rt, z, steps, batch, block, weights, 1));
  const tp = block.ptrs, wp = weights.ptrs;
  const work = rt.work(${w.backward.slots.length}, ${lens(bwdWork, bwdLen)}, ${cell.prev.length});
  const lengthsPtr = block.hasLengths ? block.ptr + block.lengthsOffset : 0;
${cell.prev.map((s) => `  if (${own('dStates', s.name)} !== undefined) rt.put(work.ptrs[${idx(bwdWork, dStateName(s.name))}]!, ${own('dStates', s.name)}!);`).join('\n')}
  rt.frame(work, ${frameTs(w.backward.slots, bwdWork)});
  rt.call('backward', work);
  const out = {
    params: { ${cell.params.map((x) => `${tsKey(x.name)}: rt.get32(work.ptrs[${idx(bwdWork, p.grads.get(x.name)!)}]!, ${x.shape.map(dimTs).join(' * ') || '1'})`).join(', ')} },
    inputs: { ${cell.inputs.map((x) => `${tsKey(x.name)}: rt.get32(work.ptrs[${idx(bwdWork, p.dx.get(x.name)!)}]!, steps * batch * ${dimTs(x.shape[0]!)})`).join(', ')} },
    init: { ${cell.prev.map((s, k) => `${tsKey(s.name)}: rt.get32(rt.result(work, ${k}), batch * ${dimTs(s.shape[0]!)})`).join(', ')} },
  };
  rt.release(work);
  rt.doneWeights(weights);
  rt.consume(block);
  return out;
}

/**
 * The WebAssembly SIMD kernels, with the f32 kernels' signatures (Float32Array in and out; every
 * returned array is a copy, the tape stays in wasm memory). Where WebAssembly SIMD is missing they
 * run the f32 kernels. Node compiles the module synchronously on first use; in a browser, await
 * \`wasm.ready()\` once before the first call (main threads may not compile modules over 4 KB
 * synchronously).
 */
export const wasm = {
  cell, paramShapes, forward: forwardWasm, backward: backwardWasm,
  /** Compiles and instantiates the module asynchronously; resolves to false where SIMD is missing. */
  ready: (): Promise<boolean> => wasmKernels.ready(),
  /** 'simd' once the module runs, 'f32' where WebAssembly SIMD is missing, 'pending' before the first call. */
  backend: (): 'simd' | 'f32' | 'pending' => wasmKernels.backend(),
  /** Bytes of tapes not yet used by backward kept in wasm memory (default 32 MiB); beyond it the oldest are evicted (see the README). */
  tapeBudget: (bytes: number): void => wasmKernels.setBudget(bytes),
};
`;
}
