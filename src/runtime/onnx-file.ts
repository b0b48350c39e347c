// .onnx model files <-> stacks of runtime layers: one ONNX RNN/GRU/LSTM node per layer, its W, R, B
// (and P) stored as initializers, layers joined as ONNX needs (Y [T, D, B, H] -> [T, B, D·H] by a
// Transpose and a Reshape). A model saved here runs in any ONNX runtime; a model whose RNN, GRU or
// LSTM nodes have their weights as initializers (as exporters write them) loads back into layers.

import { onnxOpForCell } from './onnx/weights.js';
import type { CellName } from './onnx/weights.js';
import { AttrType, DataType, decodeModel, encodeModel, floatTensorMsg, nodeAttr, tensorFromMsg } from './onnx/proto.js';
import type { AttributeMsg, NodeMsg, TensorMsg } from './onnx/proto.js';
import { inputSize, type Layer } from './layers.js';
import { type KernelsByPrecision, layerFromOnnx, layerToOnnx } from './onnx.js';
import type { Arr } from './types.js';

/** Names of the graph's input ([T, B, I], or [B, T, I] with batchFirst) and output ([T, B, D·H]). */
export const ONNX_INPUT = 'X';
export const ONNX_OUTPUT = 'Y';

const CELL_NAMES: readonly CellName[] = ['rnn-tanh', 'rnn-relu', 'gru', 'gru-reset-after', 'lstm', 'lstm-peephole', 'lstm-cifg'];

function cellOf(layer: Layer<Arr>): CellName {
  const name = layer.forward.kernels.cell.name;
  if (!(CELL_NAMES as readonly string[]).includes(name)) throw new Error(`cell '${name}' has no ONNX operator; ONNX models hold ${CELL_NAMES.join(', ')}`);
  return name as CellName;
}

/** The layers as an ONNX model (opset 14, float32), input X and output Y as named above. */
export function stackToOnnxModel(layers: readonly Layer<Arr>[], opts: { batchFirst?: boolean } = {}): Uint8Array {
  if (layers.length === 0) throw new Error('an ONNX model needs at least one layer');
  const nodes: NodeMsg[] = [];
  const init: TensorMsg[] = [];
  const text = (s: string) => new TextEncoder().encode(s);
  let x = ONNX_INPUT;
  if (opts.batchFirst) {
    nodes.push({ op_type: 'Transpose', input: [x], output: ['x_time_major'], attribute: [{ name: 'perm', type: AttrType.INTS, ints: [1, 0, 2] }] });
    x = 'x_time_major';
  }
  init.push({ name: 'flat_dirs', dims: [3], data_type: DataType.INT64, int64_data: [0, 0, -1] });
  layers.forEach((layer, l) => {
    const cell = cellOf(layer);
    const dir = layer.backward ? 'bidirectional' : layer.reverse ? 'reverse' : 'forward';
    const { op, attrs } = onnxOpForCell(cell, dir);
    const w = layerToOnnx(layer, cell);
    const names = { W: `W_l${l}`, R: `R_l${l}`, B: `B_l${l}`, P: `P_l${l}` };
    init.push(floatTensorMsg(names.W, w.W.dims, w.W.data), floatTensorMsg(names.R, w.R.dims, w.R.data), floatTensorMsg(names.B, w.B.dims, w.B.data));
    if (w.P) init.push(floatTensorMsg(names.P, w.P.dims, w.P.data));
    const hidden = layer.forward.sizes.hidden!;
    const attribute: AttributeMsg[] = [
      { name: 'hidden_size', type: AttrType.INT, i: hidden },
      { name: 'direction', type: AttrType.STRING, s: text(dir) },
    ];
    if (attrs.activations) attribute.push({ name: 'activations', type: AttrType.STRINGS, strings: attrs.activations.map(text) });
    if (attrs.linearBeforeReset !== undefined) attribute.push({ name: 'linear_before_reset', type: AttrType.INT, i: attrs.linearBeforeReset });
    if (attrs.inputForget !== undefined) attribute.push({ name: 'input_forget', type: AttrType.INT, i: attrs.inputForget });
    const inputs = [x, names.W, names.R, names.B, ...(w.P ? ['', '', '', names.P] : [])];
    nodes.push({ op_type: op, name: `layer${l}`, input: inputs, output: [`y4_l${l}`], attribute });
    // Y [T, D, B, H] -> [T, B, D, H] -> [T, B, D·H], what the next layer (and the user) reads.
    nodes.push({ op_type: 'Transpose', input: [`y4_l${l}`], output: [`yt_l${l}`], attribute: [{ name: 'perm', type: AttrType.INTS, ints: [0, 2, 1, 3] }] });
    const last = l === layers.length - 1;
    const y = last && !opts.batchFirst ? ONNX_OUTPUT : `y_l${l}`;
    nodes.push({ op_type: 'Reshape', input: [`yt_l${l}`, 'flat_dirs'], output: [y] });
    x = y;
  });
  if (opts.batchFirst) nodes.push({ op_type: 'Transpose', input: [x], output: [ONNX_OUTPUT], attribute: [{ name: 'perm', type: AttrType.INTS, ints: [1, 0, 2] }] });
  const I = inputSize(layers[0]!);
  const dims = (a: string, b: string, n: number) => ({ dim: [{ dim_param: a }, { dim_param: b }, { dim_value: n }] });
  const last = layers[layers.length - 1]!;
  const out = last.forward.sizes.hidden! * (last.backward ? 2 : 1);
  const [t, b] = opts.batchFirst ? ['batch', 'steps'] : ['steps', 'batch'];
  return encodeModel({
    ir_version: 7,
    producer_name: 'cellgen',
    opset_import: [{ domain: '', version: 14 }],
    graph: {
      name: 'cellgen_stack',
      node: nodes,
      initializer: init,
      input: [{ name: ONNX_INPUT, type: { tensor_type: { elem_type: DataType.FLOAT, shape: dims(t, b, I) } } }],
      output: [{ name: ONNX_OUTPUT, type: { tensor_type: { elem_type: DataType.FLOAT, shape: dims(t, b, out) } } }],
    },
  });
}

/** Which cell an ONNX RNN/GRU/LSTM node computes, from its op type and attributes. */
function nodeCell(node: NodeMsg, hasP: boolean): CellName {
  const acts = nodeAttr(node, 'activations') as string[] | undefined;
  const clip = nodeAttr(node, 'clip');
  // ONNX clips every gate's pre-activation to [-clip, clip]; no shipped cell clips, and the threshold
  // would have to be a parameter of the kernels.
  if (clip !== undefined) throw new Error(`ONNX node '${node.name ?? node.op_type}': attribute 'clip' (cell clip ${String(clip)}) is not supported: cellgen's ${node.op_type} cells do not clip gate pre-activations; export the model without clip`);
  switch (node.op_type) {
    case 'RNN':
      if (acts && acts.some((a) => a !== acts[0])) throw new Error(`ONNX node '${node.name ?? ''}': mixed activations ${acts.join(', ')}`);
      if (!acts || acts[0] === 'Tanh') return 'rnn-tanh';
      if (acts[0] === 'Relu') return 'rnn-relu';
      throw new Error(`ONNX RNN node '${node.name ?? ''}': activation ${acts[0]} has no cellgen cell`);
    case 'GRU':
      return nodeAttr(node, 'linear_before_reset') === 1 ? 'gru-reset-after' : 'gru';
    case 'LSTM':
      if (nodeAttr(node, 'input_forget') === 1) return 'lstm-cifg';
      return hasP ? 'lstm-peephole' : 'lstm';
    default:
      throw new Error(`invariant: not a recurrent node: ${node.op_type}`);
  }
}

/**
 * The RNN/GRU/LSTM nodes of an ONNX model, in graph order, as layers of the given kernels (by cell
 * name: `{ gru, lstm }` from 'cellgen/cells'-style modules). Weights must be initializers.
 */
export function stackFromOnnxModel(bytes: Uint8Array, kernels: Readonly<Record<string, KernelsByPrecision>>, opts: { precision?: 'f32' | 'f64' } = {}): { layers: Layer<Arr>[]; cells: CellName[] } {
  const model = decodeModel(bytes);
  const graph = model.graph ?? {};
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const layers: Layer<Arr>[] = [];
  const cells: CellName[] = [];
  for (const node of graph.node ?? []) {
    if (!['RNN', 'GRU', 'LSTM'].includes(node.op_type)) continue;
    const [, wn, rn, bn, , , , pn] = node.input ?? [];
    const get = (name: string | undefined, what: string, required: boolean) => {
      if (!name) {
        if (required) throw new Error(`ONNX node '${node.name ?? node.op_type}' has no ${what}`);
        return undefined;
      }
      const t = inits.get(name);
      if (!t) throw new Error(`ONNX node '${node.name ?? node.op_type}': ${what} '${name}' is not an initializer (weights fed at run time cannot be loaded)`);
      return tensorFromMsg(t);
    };
    const W = get(wn, 'W', true)!;
    const R = get(rn, 'R', true)!;
    const B = get(bn, 'B', false);
    const P = get(pn, 'P', false);
    const cell = nodeCell(node, !!P && P.data.some((v) => v !== 0));
    const direction = (nodeAttr(node, 'direction') as 'forward' | 'reverse' | 'bidirectional' | undefined) ?? 'forward';
    const k = kernels[cell];
    if (!k) throw new Error(`the model has a ${cell} layer; pass its kernels (e.g. { '${cell}': await import('cellgen/cells/${cell}') })`);
    const hidden = nodeAttr(node, 'hidden_size') as number;
    const shape = { hidden, input: W.dims[2]!, direction, precision: opts.precision ?? 'f32' } as const;
    const weights = { W: W.data, R: R.data, ...(B ? { B: B.data } : {}), ...(P ? { P: P.data } : {}) };
    layers.push(shape.precision === 'f64' ? layerFromOnnx(k, cell, weights, { ...shape, precision: 'f64' }) : layerFromOnnx(k, cell, weights, { ...shape, precision: 'f32' }));
    cells.push(cell);
  }
  if (layers.length === 0) throw new Error('the ONNX model has no RNN, GRU or LSTM node');
  return { layers, cells };
}
