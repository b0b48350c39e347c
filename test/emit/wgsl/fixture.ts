// Shared by the WGSL tests: the cells to check (every shipped cell plus an inline custom-activation cell) and a Dawn device.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { type CompiledCell, compileCell } from '../../../src/derive/compile.js';
import { emitWgsl } from '../../../src/emit/wgsl/index.js';
import { cellText } from '../../cell-text.js';
import { USER_CELLS } from '../../user-cells.js';
import { createNodeDevice, type NodeDevice } from '../../../src/runtime/webgpu/index.js';

/** A cell with user activations: swish (sigmoid inside) and softsign (abs, and a squared denominator in its derivative). */
export const CUSTOM_CELL = cellText({
  name: 'swish-rnn',
  title: 'Elman RNN with custom activations',
  parameters: { W: '[hidden, input]', U: '[hidden, hidden]', b: 'hidden' },
  activations: { swish: 'x * sigmoid(x)', softsign: 'x / (1 + abs(x))' },
  equations: { a: 'swish(W * x + U * h_prev + b)', h: 'softsign(a) + 0.5 * h_prev' },
});

/**
 * Shapes no shipped cell has: two inputs, states of different sizes (hidden + aux), a concatenation of a
 * new state with an input, division, softplus and relu, a product of a product within one step.
 */
export const TWO_INPUT_CELL = cellText({
  name: 'two-inputs',
  title: 'Two inputs and states of two sizes',
  sizes: { input: '{ symbol: I, example: 5 }', aux: '{ symbol: A, example: 2 }', hidden: '{ symbol: H, example: 7 }' },
  inputs: { x: 'input', y: 'aux' },
  state: { h: 'hidden', m: 'hidden + aux' },
  parameters: {
    W: '[hidden, input]',
    V: '[hidden, aux]',
    U: '[hidden, hidden + aux]',
    M: '[hidden + aux, hidden]',
    b: 'hidden',
    g: 'hidden',
  },
  equations: {
    a: 'tanh(W * x + U * m_prev + b)',
    q: 'sigmoid(M * a)',
    h: 'a .* g + relu(V * y) ./ (1 + exp(h_prev))',
    m: 'q .* concat(h, y) + softplus(M * (U * m_prev))',
  },
});

/** A chain of three products inside one step (three phases), sin, cos, sqrt, log, abs, and a state y that does not recur. */
export const CHAIN_CELL = cellText({
  name: 'chain',
  title: 'Products chained within a step',
  sizes: { input: '{ symbol: I, example: 3 }', hidden: '{ symbol: H, example: 9 }' },
  state: { h: 'hidden', y: 'hidden' },
  parameters: {
    W: '[hidden, input]',
    A: '[hidden, hidden]',
    B: '[hidden, hidden]',
    C: '[hidden, hidden]',
    b: 'hidden',
  },
  equations: {
    y: 'tanh(W * x + b)',
    p: 'A * h_prev',
    q: 'B * sin(p)',
    r: 'C * (q .* cos(p))',
    h: 'h_prev .* sqrt(1 + r .* r) - log(1 + abs(q)) + y',
  },
});

/** Every identifier the TS and WGSL printers generate or call, as spec names: sizes, inputs, states, parameters, intermediates. */
export const COLLIDING_CELL = cellText({
  name: 'collide',
  title: 'Names that the generated code uses',
  sizes: { batch: '{ symbol: B, example: 3 }', steps: '{ symbol: S, example: 4 }' },
  inputs: { sizes: 'batch', lengths: 'steps', toString: 'steps' },
  state: { check: 'steps', constructor: 'batch' },
  parameters: {
    gemmNT: '[steps, batch]',
    gemmNN: '[steps, steps]',
    unpackRows: 'steps',
    checkLengths: '[batch, steps]',
    gemmTN: '[batch, batch]',
    Math: 'batch',
    select: 'steps',
    f32: 'steps',
    own: 'batch',
    packRows: '[batch, steps]',
  },
  equations: {
    dot: 'tanh(gemmNT * sizes + gemmNN * check_prev + unpackRows)',
    max: 'sigmoid(gemmTN * constructor_prev + checkLengths * dot + Math)',
    tape: 'dot .* select + f32 .* lengths - toString',
    check: 'tanh(tape)',
    params: 'max .* constructor_prev + (1 - max) .* sizes',
    constructor: 'params + own .* (packRows * tape)',
  },
});

export function shippedCells(): { file: string; cell: CompiledCell }[] {
  const files = readdirSync('cells').filter((f) => f.endsWith('.cell.yaml')).sort();
  if (files.length === 0) throw new Error('no cells in cells/');
  return files.map((f) => {
    const file = join('cells', f);
    return { file, cell: compileCell(readFileSync(file, 'utf8'), file) };
  });
}

export function allCells(): { file: string; cell: CompiledCell }[] {
  const inline = (text: string, name: string) => ({ file: `${name} (inline)`, cell: compileCell(text, `test/${name}.cell.yaml`) });
  return [...shippedCells(), inline(CUSTOM_CELL, 'swish-rnn'), inline(TWO_INPUT_CELL, 'two-inputs'), inline(CHAIN_CELL, 'chain'), inline(COLLIDING_CELL, 'collide'), ...Object.entries(USER_CELLS).map(([name, text]) => inline(text, name))];
}

/** Sizes that are not multiples of the workgroup size: input 5, hidden 7, anything else 3 (2 for aux). */
export function oddSizes(c: CompiledCell): Record<string, number> {
  return Object.fromEntries(c.spec.sizes.map((s) => [s.name, s.name === 'input' ? 5 : s.name === 'hidden' ? 7 : s.name === 'aux' ? 2 : s.name === 'mem' ? 4 : 3]));
}

/**
 * One Dawn device per test file, with the limits every cell's kernels ask for. Without an adapter the GPU tests skip with the reason printed, except
 * under CI, which installs Mesa: there a missing adapter is a failure.
 */
export async function dawnDevice(): Promise<NodeDevice> {
  // CELLGEN_WEBGPU_BACKEND picks another Dawn backend (e.g. vulkan on a machine with a GPU).
  const requiredLimits: Record<string, number> = {};
  for (const { cell } of allCells())
    for (const [k, v] of Object.entries(emitWgsl(cell).kernels.requiredLimits)) requiredLimits[k] = Math.max(requiredLimits[k] ?? 0, v);
  const nd = await createNodeDevice({ backend: process.env.CELLGEN_WEBGPU_BACKEND || undefined, requiredLimits });
  if (!nd.device && !process.env.CI) console.warn(`WGSL tests on Dawn skipped: ${nd.reason}`);
  return nd;
}

/** |gpu - ref| <= atol + rtol |ref| everywhere; returns the first violations, with the worst ratio. */
export function compare(gpu: Float32Array, ref: Float64Array, atol = 1e-5, rtol = 1e-4): { worst: number; bad: string[] } {
  const bad: string[] = [];
  let worst = 0;
  if (gpu.length !== ref.length) return { worst: Infinity, bad: [`length ${gpu.length}, expected ${ref.length}`] };
  for (let i = 0; i < ref.length; i++) {
    const ratio = Math.abs(gpu[i]! - ref[i]!) / (atol + rtol * Math.abs(ref[i]!));
    if (!(ratio <= 1)) {
      if (bad.length < 5) bad.push(`[${i}] gpu ${gpu[i]} ref ${ref[i]}`);
      worst = Infinity;
    } else worst = Math.max(worst, ratio);
  }
  return { worst, bad };
}

/** Registers a test that fails when there is no device under CI (the GPU tests would all skip silently). */
export function failWithoutDeviceUnderCi(nd: NodeDevice): void {
  it.runIf(!nd.device && !!process.env.CI)('has a WebGPU device under CI, which installs Mesa', () => {
    throw new Error(`no WebGPU device under CI: ${nd.reason}`);
  });
}
