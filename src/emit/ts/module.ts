// Emits a cell's self-contained TypeScript kernel module: f32 and f64 sequence forward and BPTT. This file is the
// module's wrapper (header, types, argument checks, helpers); the step code comes from forward.ts and backward.ts
// over the names and locations of context.ts and the backward schedule of backplan.ts.

import type { CompiledCell } from '../../derive/compile.js';
import { paramRoles } from '../../derive/roles.js';
import type { Expr } from '../../ir/expr.js';
import { type Dim, showShape } from '../../ir/shape.js';
import { cellLatex } from '../latex.js';
import { tsKey, tsLineComment, tsString, tsTemplate } from '../../text/escape.js';
import { backwardCode } from './backward.js';
import { planBackwardCode } from './backplan.js';
import { moduleContext } from './context.js';
import { customHelper, TS_HELPERS } from './expr.js';
import { forwardCode } from './forward.js';
import { renderLinalg } from './linalg.js';
import type { Program } from './program.js';

export interface TsModule {
  readonly text: string;
  /** Floats stored per step per batch row by the forward for the backward (tape), incl. the states. */
  readonly tapeFloats: Dim[];
  /** The schedule the kernels follow, as data. */
  readonly program: Program;
}

/** The module text of a compiled cell, with the schedule its kernels follow as data (for the other CPU printers). */
export function emitTsModule(c: CompiledCell, command: string): TsModule {
  const ctx = moduleContext(c);
  const { spec, cell, fp, id, I, dim, width, nameOf, stateSeq, packed, tapeNodes, tapeName, helpers } = ctx;
  const b = planBackwardCode(ctx);
  const { dIn, carry, carryNext, gradName, dxName } = b;
  const { fwdBuffers, fwdPre, fwdStep, bwdBuffers, bwdStep, bwdPost } = ctx.prog;

  // ---- assemble ----------------------------------------------------------------------------
  const lat = cellLatex(c);
  // A size that only the readout uses (rnn-tanh's classes) shapes no kernel tensor: optional here.
  const used = new Set([...spec.params, ...spec.inputs, ...spec.state].flatMap((t) => t.shape.flatMap((d) => d.terms.map(([n]) => n))));
  const kernelSizes = spec.sizes.filter((s) => used.has(s.name) || s.name !== spec.readout?.classes);
  const sizesType = spec.sizes.map((s) => `  readonly ${tsKey(s.name)}${kernelSizes.includes(s) ? '' : '?'}: number;`).join('\n');
  /** `{ a, for: _for }`: a destructuring pattern binding each spec name to its identifier. */
  const pattern = (names: readonly string[]): string => `{ ${names.map((n) => (id(n) === n ? n : `${tsKey(n)}: ${id(n)}`)).join(', ')} }`;
  /** `{ a: a_, for: x }`: an object literal with the user's names as keys. */
  const object = (entries: readonly (readonly [string, string])[]): string => `{ ${entries.map(([k, v]) => (k === v ? k : `${tsKey(k)}: ${v}`)).join(', ')} }`;
  const sizeLocals = `const ${pattern(kernelSizes.map((s) => s.name))} = checkSizes_(${I.sizes});`;
  const paramList = cell.params.map((p) => p.name);
  const shapeOf = (e: Expr) => `[${e.shape.map((d) => dim(d)).join(', ')}]`;
  const fwd32 = forwardCode(ctx, 'Float32Array', '_');
  const bwd32 = backwardCode(ctx, b, 'Float32Array', '_');
  const fwd64 = forwardCode(ctx, 'Float64Array', '_f64_');
  const bwd64 = backwardCode(ctx, b, 'Float64Array', '_f64_');
  const tapeFloats: Dim[] = [...cell.prev.map((s) => s.shape[0]!), ...tapeNodes.map((e) => e.shape[0]!)];
  const tapeFields = tapeNodes.map((e) => `${tapeName.get(e.id)}: A;`).join(' ');
  const tapeArrays = [...cell.prev.map((s) => stateSeq.get(s.name)!), ...tapeNodes.map((e) => tapeName.get(e.id)!), ...fp.groups.map((g) => packed.get(g.index)!)];
  const fnFor = (A: string, sfx: string, fwd: string[], bwd: string[]): string => `
/** Runs ${spec.name} over a whole sequence and keeps what the backward needs. */
export function forward${sfx}(${I.sizes}: Sizes, ${I.params}: Params<${A}>, ${I.inputs}: Inputs<${A}>, ${I.opts}: ForwardOptions<${A}>): ForwardResult<${A}> {
  ${sizeLocals}
  const ${I.steps} = ${I.opts}.steps;
  const ${I.batch} = ${I.opts}.batch;
  const ${I.lengths} = checkLengths_(${I.opts}.lengths, ${I.batch}, ${I.steps});
${cell.params.map((p) => `  const ${id(p.name)} = check_(own_(${I.params}, ${tsString(p.name)}), ${p.shape.map((d) => dim(d)).join(' * ') || '1'}, ${tsString(p.name)});`).join('\n')}
${cell.inputs.map((x) => `  const ${id(x.name)} = check_(own_(${I.inputs}, ${tsString(x.name)}), ${I.steps} * ${I.batch} * ${width(x)}, ${tsString(x.name)});`).join('\n')}
${fwd.join('\n')}
  return {
    states: ${object(cell.prev.map((s) => [s.name, `${stateSeq.get(s.name)}.subarray(${I.batch} * ${width(s)})`]))},
    tape: { sizes: ${I.sizes}, steps: ${I.steps}, batch: ${I.batch}, lengths: ${I.lengths}, params: ${object(paramList.map((p) => [p, id(p)]))}, inputs: ${object(cell.inputs.map((x) => [x.name, id(x.name)]))}, ${tapeArrays.join(', ')} },
  };
}

/** BPTT over the sequence a forward${sfx} call ran: gradients of every parameter, input and initial state. */
export function backward${sfx}(${I.tape}: Tape<${A}>, ${I.dStates}: Partial<States<${A}>>): BackwardResult<${A}> {
  const ${I.sizes} = ${I.tape}.sizes;
  const ${I.steps} = ${I.tape}.steps;
  const ${I.batch} = ${I.tape}.batch;
  const ${I.lengths} = ${I.tape}.lengths;
  ${sizeLocals}
  const ${pattern(paramList)} = ${I.tape}.params;
  const ${pattern(cell.inputs.map((x) => x.name))} = ${I.tape}.inputs;
  const { ${tapeArrays.join(', ')} } = ${I.tape};
${cell.prev.map((s) => `  if (own_(${I.dStates}, ${tsString(s.name)}) !== undefined) check_(own_(${I.dStates}, ${tsString(s.name)}), ${I.steps} * ${I.batch} * ${width(s)}, ${tsString(`dStates.${s.name}`)});`).join('\n')}
${bwd.join('\n')}
  return {
    params: ${object(cell.params.map((p) => [p.name, gradName.get(p.name)!]))},
    inputs: ${object(cell.inputs.map((x) => [x.name, dxName.get(x.name)!]))},
    init: ${object(cell.prev.map((s) => [s.name, carry.get(s.name)!]))},
  };
}
`;
  const f32 = fnFor('Float32Array', '', fwd32, bwd32);
  const f64 = fnFor('Float64Array', '64', fwd64, bwd64);
  const helperText = [...helpers].sort().map((h) => TS_HELPERS[h] ?? customHelper(cell.fns, h)).join('\n\n');
  const perStep = tapeFloats.map((d) => dim(d, true)).join(' + ');
  const text = `// ${tsLineComment(spec.title)}: forward and BPTT kernels over a batch, float32 and float64.
// Generated by \`${tsLineComment(command)}\` from ${tsLineComment(spec.file)}; do not edit.
//
// Forward step:
${lat.forward.map((e) => `//   ${tsLineComment(`${e.lhs} = ${e.rhs}`)}`).join('\n')}
//
// Layouts: sequences are [steps][batch][n] row-major; matrices [rows][cols] row-major; vector
// parameters are shared by the batch. The forward keeps ${perStep} floats per step and
// batch row for the backward (the states and ${tapeNodes.length ? tapeNodes.map((e) => nameOf(e)).join(', ') : 'nothing else'}).
// Names from the spec are used as they are; names the generator adds end in '_'.

export const cell = {
  name: ${tsString(spec.name)},
  title: ${tsString(spec.title)},
  sizes: [${spec.sizes.map((s) => tsString(s.name)).join(', ')}],
  inputs: { ${cell.inputs.map((x) => `${tsKey(x.name)}: ${tsString(showShape(x.shape).slice(1, -1))}`).join(', ')} },
  states: { ${cell.prev.map((s) => `${tsKey(s.name)}: ${tsString(showShape(s.shape).slice(1, -1))}`).join(', ')} },
  output: ${tsString(spec.output)},
  params: { ${cell.params.map((p) => `${tsKey(p.name)}: ${tsString(showShape(p.shape))}`).join(', ')} },
  roles: { ${Object.entries(paramRoles(c.cell)).map(([p, r]) => `${tsKey(p)}: ${JSON.stringify(r)}`).join(', ')} },
  tapeFloatsPerStep: ${tsString(perStep)},
} as const;

export interface Sizes {
${sizesType}
}
export type Params<A> = { ${paramList.map((p) => `${tsKey(p)}: A;`).join(' ')} };
export type Inputs<A> = { ${cell.inputs.map((x) => `${tsKey(x.name)}: A;`).join(' ')} };
export type States<A> = { ${cell.prev.map((s) => `${tsKey(s.name)}: A;`).join(' ')} };
export interface ForwardOptions<A> {
  /** Time steps T and batch rows B of the sequence. */
  readonly steps: number;
  readonly batch: number;
  /** Initial states, [batch][n]; zero when absent. */
  readonly init?: Partial<States<A>>;
  /** Valid steps of each batch row; later steps are padding and change nothing. */
  readonly lengths?: Int32Array;
}
export interface Tape<A> {
  readonly sizes: Sizes; readonly steps: number; readonly batch: number; readonly lengths: Int32Array | undefined;
  readonly params: Params<A>; readonly inputs: Inputs<A>;
  ${[...cell.prev.map((s) => `${stateSeq.get(s.name)}: A;`), tapeFields, ...fp.groups.map((g) => `${packed.get(g.index)}: A;`)].filter(Boolean).join(' ')}
}
export interface ForwardResult<A> {
  /** Every state at every step, [steps][batch][n]. */
  readonly states: States<A>;
  readonly tape: Tape<A>;
}
export interface BackwardResult<A> {
  readonly params: Params<A>;
  /** dL/dx for every step, [steps][batch][n]. */
  readonly inputs: Inputs<A>;
  /** dL/ds_0, [batch][n]. */
  readonly init: States<A>;
}

/** Shapes of the parameters at the given sizes. */
export function paramShapes(${I.sizes}: Sizes): { readonly [K in keyof Params<unknown>]: readonly number[] } {
  ${sizeLocals}
  return ${object(cell.params.map((p) => [p.name, shapeOf(p)]))};
}
${f32}${f64}
/** Both precisions behind one interface, for the sequence runtime. */
export const f32 = { cell, paramShapes, forward, backward };
export const f64 = { cell, paramShapes, forward: forward64, backward: backward64 };

/** o[key] if o has it as its own property: a spec may name a state 'constructor' or 'toString'. */
function own_<T>(o: Partial<Record<string, T>> | undefined, key: string): T | undefined {
  return o !== undefined && Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function check_<A extends Float32Array | Float64Array>(a: A | undefined, length: number, what: string): A {
  if (a === undefined) throw new Error(\`${tsTemplate(spec.name)}: \${what} is missing\`);
  if (a.length !== length) throw new Error(\`${tsTemplate(spec.name)}: \${what} has \${a.length} elements, expected \${length}\`);
  return a;
}

function checkSizes_(sizes: Sizes): Sizes {
  for (const name of [${kernelSizes.map((s) => tsString(s.name)).join(', ')}] as const) {
    const n: unknown = Object.prototype.hasOwnProperty.call(sizes, name) ? sizes[name] : undefined;
    if (!(typeof n === 'number' && Number.isInteger(n) && n > 0)) throw new Error(\`${tsTemplate(spec.name)}: sizes.\${name} is \${n === undefined ? 'missing' : String(n)}; it needs a positive integer for each of ${tsTemplate(kernelSizes.map((s) => s.name).join(', '))}\`);
  }
  return sizes;
}

function checkLengths_(lengths: Int32Array | undefined, batch: number, steps: number): Int32Array | undefined {
  if (lengths === undefined) return undefined;
  if (lengths.length !== batch) throw new Error(\`${tsTemplate(spec.name)}: lengths has \${lengths.length} entries, expected \${batch}\`);
  for (const n of lengths) if (!(n >= 0 && n <= steps)) throw new Error(\`${tsTemplate(spec.name)}: a sequence length \${n} is outside 0..\${steps}\`);
  return lengths;
}

/** Copies W[:, colOff : colOff+width] into rows rowOff.. of a packed [rows][width] matrix. */
function packRows_(dst: Float32Array | Float64Array, rowOff: number, width: number, W: Float32Array | Float64Array, rows: number, cols: number, colOff: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) dst[(rowOff + i) * width + j] = W[i * cols + colOff + j];
}

/** Adds rows rowOff.. of a packed gradient back into dW[:, colOff : colOff+width]. */
function unpackRows_(src: Float32Array | Float64Array, rowOff: number, width: number, dW: Float32Array | Float64Array, rows: number, cols: number, colOff: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) dW[i * cols + colOff + j] += src[(rowOff + i) * width + j];
}
${fp.groups.some((g) => g.pieces.some((p) => p.transpose)) ? TRANSPOSED_PACKING : ''}${helperText ? `\n${helperText}\n` : ''}
${renderLinalg('Float32Array', '_').replace(/^export function/gm, 'function')}
${renderLinalg('Float64Array', '_f64_').replace(/^export function/gm, 'function')}`;
  const program: Program = {
    fwdBuffers, fwdPre, fwdStep, bwdBuffers, bwdStep, bwdPost, stateSeq, tapeBufs: tapeNodes.map((e) => tapeName.get(e.id)!), packed: fp.groups.map((g) => packed.get(g.index)!),
    grads: gradName, dx: dxName, dIn, carry, carryNext,
  };
  return { text, tapeFloats, program };
}

/** Packing for products of a transposed parameter, Wᵀ v: the packed rows are W's columns. */
const TRANSPOSED_PACKING = `
/** Copies W[rowOff' : rowOff'+width, :]ᵀ (columns of W) into rows rowOff.. of a packed [cols][width] matrix. */
function packRowsT_(dst: Float32Array | Float64Array, rowOff: number, width: number, W: Float32Array | Float64Array, rows: number, cols: number, wRowOff: number): void {
  for (let j = 0; j < cols; j++) for (let i = 0; i < width; i++) dst[(rowOff + j) * width + i] = W[(wRowOff + i) * cols + j];
}

/** Adds rows rowOff.. of a packed gradient of Wᵀ back into dW[wRowOff : wRowOff+width, :]. */
function unpackRowsT_(src: Float32Array | Float64Array, rowOff: number, width: number, dW: Float32Array | Float64Array, rows: number, cols: number, wRowOff: number): void {
  for (let j = 0; j < cols; j++) for (let i = 0; i < width; i++) dW[(wRowOff + i) * cols + j] += src[(rowOff + j) * width + i];
}
`;
