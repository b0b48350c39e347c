// Build an in-memory ONNX model holding a single RNN/GRU/LSTM node, for onnxruntime to evaluate.
import { AttrType, DataType, encodeModel, floatTensorMsg, int32TensorMsg } from '../../runtime/onnx/proto.js';
import type { AttributeMsg, ModelMsg, TensorMsg, ValueInfoMsg } from '../../runtime/onnx/proto.js';
import type { RnnAttrs, RnnInputs, RnnOp, Tensor } from './reference.js';

/** Opset 14 is the first with `layout`; IR version 7 is the one that opset shipped with. */
export const OPSET = 14;
export const IR_VERSION = 7;

/** Node input slots in spec order, with the RnnInputs field that fills each. */
export const INPUT_SLOTS = [
  ['X', 'X'],
  ['W', 'W'],
  ['R', 'R'],
  ['B', 'B'],
  ['sequence_lens', 'sequenceLens'],
  ['initial_h', 'initialH'],
  ['initial_c', 'initialC'],
  ['P', 'P'],
] as const satisfies readonly (readonly [string, keyof RnnInputs])[];
export type InputName = (typeof INPUT_SLOTS)[number][0];

export interface ModelOptions {
  /** Inputs baked into the model as initializers instead of graph inputs (e.g. weights). */
  initializers?: InputName[];
}

/** The built model, and the graph inputs a session must be fed (name → tensor, sequence_lens as int32). */
export interface BuiltModel {
  bytes: Uint8Array;
  feeds: Record<string, { dims: number[]; data: Float32Array | Int32Array }>;
  outputs: string[];
}

/** Build a one-node model for `op`; absent optional inputs become '' slots as the spec allows. */
export function buildRnnModel(op: RnnOp, inputs: RnnInputs, attrs: RnnAttrs, options: ModelOptions = {}): BuiltModel {
  const baked = new Set(options.initializers ?? []);
  const nodeInputs: string[] = [];
  const graphInputs: ValueInfoMsg[] = [];
  const initializer: TensorMsg[] = [];
  const feeds: BuiltModel['feeds'] = {};
  for (const [name, field] of INPUT_SLOTS) {
    const value = inputs[field];
    if (value === undefined) {
      nodeInputs.push('');
      continue;
    }
    if (op !== 'LSTM' && (name === 'initial_c' || name === 'P')) throw new Error(`${op} has no input ${name}`);
    nodeInputs.push(name);
    const isLens = name === 'sequence_lens';
    const t: Tensor = isLens ? { dims: [(value as ArrayLike<number>).length], data: value as ArrayLike<number> } : (value as Tensor);
    if (baked.has(name)) {
      initializer.push(isLens ? int32TensorMsg(name, t.dims, t.data) : floatTensorMsg(name, t.dims, t.data));
    } else {
      graphInputs.push(valueInfo(name, isLens ? DataType.INT32 : DataType.FLOAT, t.dims));
      feeds[name] = { dims: t.dims, data: isLens ? Int32Array.from(t.data) : Float32Array.from(t.data) };
    }
  }
  // Trailing empty slots are dropped: '' marks a missing input, but only in the middle is it needed.
  while (nodeInputs[nodeInputs.length - 1] === '') nodeInputs.pop();

  const outputs = op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  const model: ModelMsg = {
    ir_version: IR_VERSION,
    producer_name: 'cellgen',
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name: `${op.toLowerCase()}_check`,
      node: [{ input: nodeInputs, output: outputs, name: op.toLowerCase(), op_type: op, domain: '', attribute: nodeAttributes(op, attrs) }],
      initializer,
      input: graphInputs,
      output: outputs.map((o) => ({ name: o, type: { tensor_type: { elem_type: DataType.FLOAT } } })),
    },
  };
  return { bytes: encodeModel(model), feeds, outputs };
}

function nodeAttributes(op: RnnOp, a: RnnAttrs): AttributeMsg[] {
  const out: AttributeMsg[] = [{ name: 'hidden_size', type: AttrType.INT, i: a.hiddenSize }];
  const text = (s: string) => new TextEncoder().encode(s);
  if (a.direction !== undefined) out.push({ name: 'direction', type: AttrType.STRING, s: text(a.direction) });
  if (a.layout !== undefined) out.push({ name: 'layout', type: AttrType.INT, i: a.layout });
  if (a.clip !== undefined) out.push({ name: 'clip', type: AttrType.FLOAT, f: a.clip });
  if (a.activations !== undefined) out.push({ name: 'activations', type: AttrType.STRINGS, strings: a.activations.map(text) });
  if (a.linearBeforeReset !== undefined) {
    if (op !== 'GRU') throw new Error(`linear_before_reset is a GRU attribute, not ${op}`);
    out.push({ name: 'linear_before_reset', type: AttrType.INT, i: a.linearBeforeReset });
  }
  if (a.inputForget !== undefined) {
    if (op !== 'LSTM') throw new Error(`input_forget is an LSTM attribute, not ${op}`);
    out.push({ name: 'input_forget', type: AttrType.INT, i: a.inputForget });
  }
  return out;
}

function valueInfo(name: string, elemType: number, dims: number[]): ValueInfoMsg {
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((v) => ({ dim_value: v })) } } } };
}
