// ONNX RNN/GRU/LSTM weights (W, R, B, P) to runtime layers of generated kernels, and back.

import { cellToOnnx, onnxToCell } from './onnx/weights.js';
import type { CellName, CellParams, OnnxWeightInputs, OnnxWeights } from './onnx/weights.js';
import { type Direction, direction, type Layer } from './layers.js';
import type { Arr, Kernels } from './types.js';

export type { CellName, OnnxWeightInputs, OnnxWeights } from './onnx/weights.js';

/** A generated cell module's two exports (`import * as gru from '.../generated/ts/gru.js'` fits). */
export interface KernelsByPrecision {
  readonly f32: Kernels<Float32Array>;
  readonly f64: Kernels<Float64Array>;
  /** The WebAssembly SIMD kernels (float32 in and out), used with precision 'wasm'. */
  readonly wasm?: Kernels<Float32Array>;
}

export interface OnnxLayerShape {
  readonly hidden: number;
  readonly input: number;
  /** The ONNX `direction` attribute; 'forward' when absent. */
  readonly direction?: 'forward' | 'reverse' | 'bidirectional';
}

/**
 * A runtime layer holding the weights of one ONNX RNN/GRU/LSTM node (converted by `onnxToCell`).
 *
 * 'bidirectional' gives a layer with both directions, whose output per step is [h_forward, h_backward]
 * as ONNX's Y[t, 0:2] is. 'reverse' gives a one-direction layer with `reverse: true` (its `forward` holds
 * the weights): runLayer and backLayer read each row from its end, as ONNX does.
 */
export function layerFromOnnx(kernels: KernelsByPrecision, cell: CellName, weights: OnnxWeightInputs, shape: OnnxLayerShape & { readonly precision?: 'f32' | 'wasm' }): Layer<Float32Array>;
export function layerFromOnnx(kernels: KernelsByPrecision, cell: CellName, weights: OnnxWeightInputs, shape: OnnxLayerShape & { readonly precision: 'f64' }): Layer<Float64Array>;
export function layerFromOnnx(kernels: KernelsByPrecision, cell: CellName, weights: OnnxWeightInputs, shape: OnnxLayerShape & { readonly precision?: 'f32' | 'f64' | 'wasm' }): Layer<Float32Array> | Layer<Float64Array> {
  if (kernels.f32.cell.name !== cell) throw new Error(`kernels are for cell '${kernels.f32.cell.name}', not '${cell}'`);
  const dirs = onnxToCell(cell, weights, shape);
  if (shape.precision === 'f64') {
    const [f, b] = dirs.map((p) => make(kernels.f64, shape, p, (v) => v));
    return b ? { forward: f!, backward: b } : shape.direction === 'reverse' ? { forward: f!, reverse: true } : { forward: f! };
  }
  if (shape.precision === 'wasm' && !kernels.wasm) throw new Error(`the kernels of cell '${cell}' have no wasm export: rebuild them with this cellgen`);
  const k32 = shape.precision === 'wasm' ? kernels.wasm! : kernels.f32;
  const [f, b] = dirs.map((p) => make(k32, shape, p, (v) => Float32Array.from(v)));
  return b ? { forward: f!, backward: b } : shape.direction === 'reverse' ? { forward: f!, reverse: true } : { forward: f! };
}

/** ONNX W/R/B (and P for lstm-peephole) of a layer, forward direction first; the bias goes in Wb except b_uh (Rbh). */
export function layerToOnnx(layer: Layer<Arr>, cell: CellName): OnnxWeights {
  const dirs = layer.backward ? [layer.forward, layer.backward] : [layer.forward];
  for (const d of dirs) if (d.kernels.cell.name !== cell) throw new Error(`layer runs cell '${d.kernels.cell.name}', not '${cell}'`);
  const { input, hidden } = layer.forward.sizes;
  if (input === undefined || hidden === undefined) throw new Error(`cell '${cell}' has no input/hidden sizes`);
  if (layer.backward && (layer.backward.sizes.input !== input || layer.backward.sizes.hidden !== hidden)) {
    throw new Error(`the two directions differ in size: ${JSON.stringify(layer.forward.sizes)} vs ${JSON.stringify(layer.backward.sizes)}`);
  }
  const params = dirs.map((d): CellParams => Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, Float64Array.from(v)])));
  return cellToOnnx(cell, params, { hidden, input });
}

function make<A extends Arr>(k: Kernels<A>, shape: OnnxLayerShape, p: CellParams, to: (v: Float64Array) => A): Direction<A> {
  // Sizes only a readout uses (rnn-tanh's classes) shape no kernel parameter; ONNX has no readout (1: kernels check sizes are positive).
  const sizes: Record<string, number> = Object.fromEntries(k.cell.sizes.map((s) => [s, 1]));
  sizes.input = shape.input;
  sizes.hidden = shape.hidden;
  const d = direction(k, sizes, Object.fromEntries(Object.entries(p).map(([name, v]) => [name, to(v)])));
  const shapes = d.kernels.paramShapes(sizes);
  for (const [name, dims] of Object.entries(shapes)) {
    const n = dims.reduce((a, b) => a * b, 1);
    if (d.params[name]?.length !== n) throw new Error(`cell '${k.cell.name}' parameter '${name}': ONNX weights give ${d.params[name]?.length ?? 'nothing'}, the kernel needs ${n}`);
  }
  return d;
}
