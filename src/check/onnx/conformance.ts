// Load an ONNX backend node test case (model.onnx + test_data_set_0) into reference-evaluator inputs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeModel, decodeTensor, nodeAttr } from '../../runtime/onnx/proto.js';
import type { DecodedTensor, ModelMsg, NodeMsg } from '../../runtime/onnx/proto.js';
import type { ActivationName, Direction, RnnAttrs, RnnInputs, RnnOp } from './reference.js';
import { INPUT_SLOTS } from './model.js';

const readModel = (path: string): ModelMsg => decodeModel(readFileSync(path));
const readTensor = (path: string): DecodedTensor => decodeTensor(readFileSync(path));

const OUTPUT_SLOTS = ['Y', 'Y_h', 'Y_c'] as const;

export interface ConformanceCase {
  name: string;
  op: RnnOp;
  attrs: RnnAttrs;
  inputs: RnnInputs;
  /** Expected outputs keyed by the node's output slot (Y, Y_h, Y_c), whatever the graph calls them. */
  outputs: Record<string, DecodedTensor>;
}

/** The vendored ONNX backend test cases (copied from the ONNX repository's node tests), relative to the repository root. */
export function defaultConformanceRoot(): string {
  return resolve(process.cwd(), 'test/data/onnx-conformance');
}

/** Names of the case folders under `root` (each holds model.onnx). */
export function listConformanceCases(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'model.onnx')))
    .map((e) => e.name)
    .sort();
}

/** Read attributes of an RNN/GRU/LSTM node into RnnAttrs; unknown attributes are an error, not ignored. */
export function attrsFromNode(node: NodeMsg): RnnAttrs {
  const known = new Set(['hidden_size', 'direction', 'layout', 'linear_before_reset', 'input_forget', 'clip', 'activations']);
  for (const a of node.attribute ?? []) if (!known.has(a.name)) throw new Error(`${node.op_type}: unsupported attribute '${a.name}'`);
  const attrs: RnnAttrs = { hiddenSize: nodeAttr(node, 'hidden_size') as number };
  const direction = nodeAttr(node, 'direction');
  if (direction !== undefined) attrs.direction = direction as Direction;
  const layout = nodeAttr(node, 'layout');
  if (layout !== undefined) attrs.layout = layout as 0 | 1;
  const lbr = nodeAttr(node, 'linear_before_reset');
  if (lbr !== undefined) attrs.linearBeforeReset = lbr ? 1 : 0;
  const inputForget = nodeAttr(node, 'input_forget');
  if (inputForget !== undefined) attrs.inputForget = inputForget ? 1 : 0;
  const clip = nodeAttr(node, 'clip');
  if (clip !== undefined) attrs.clip = clip as number;
  const activations = nodeAttr(node, 'activations');
  if (activations !== undefined) attrs.activations = activations as ActivationName[];
  return attrs;
}

/** Load one case: graph inputs/outputs are matched to input_k.pb/output_k.pb by position, as the ONNX runner does. */
export function loadConformanceCase(dir: string): ConformanceCase {
  const model = readModel(join(dir, 'model.onnx'));
  const graph = model.graph;
  const node = graph?.node?.[0];
  if (!graph || !node || graph.node!.length !== 1) throw new Error(`${dir}: expected a graph with one node`);
  if (!['RNN', 'GRU', 'LSTM'].includes(node.op_type)) throw new Error(`${dir}: unexpected op ${node.op_type}`);
  const op = node.op_type as RnnOp;
  const data = join(dir, 'test_data_set_0');
  const byName: Record<string, DecodedTensor> = {};
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name));
  (graph.input ?? []).filter((v) => !initialized.has(v.name)).forEach((v, k) => {
    byName[v.name] = { ...readTensor(join(data, `input_${k}.pb`)), name: v.name };
  });
  const inputs: Partial<RnnInputs> = {};
  (node.input ?? []).forEach((name, slot) => {
    if (name === '') return;
    const t = byName[name];
    if (!t) throw new Error(`${dir}: node input '${name}' is not a graph input`);
    const field = INPUT_SLOTS[slot]![1];
    if (field === 'sequenceLens') inputs.sequenceLens = t.data;
    else inputs[field] = t;
  });
  if (!inputs.X || !inputs.W || !inputs.R) throw new Error(`${dir}: X, W and R are required`);
  const outputs: Record<string, DecodedTensor> = {};
  const slotOf = new Map((node.output ?? []).map((name, slot) => [name, OUTPUT_SLOTS[slot]!]));
  (graph.output ?? []).forEach((v, k) => {
    const slot = slotOf.get(v.name);
    if (!slot || v.name === '') throw new Error(`${dir}: graph output '${v.name}' is not a node output`);
    outputs[slot] = { ...readTensor(join(data, `output_${k}.pb`)), name: v.name };
  });
  const name = dir.split(/[\\/]/).filter(Boolean).pop()!;
  return { name, op, attrs: attrsFromNode(node), inputs: inputs as RnnInputs, outputs };
}
