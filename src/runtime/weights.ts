// Saves and loads a model's weights as one safetensors file, with its cells and sizes checked on load.
//
// Format (https://huggingface.co/docs/safetensors): 8 bytes little-endian u64 N, then N bytes of
// UTF-8 JSON (padded with spaces to a multiple of 8), then the raw little-endian tensor data.
// The JSON maps each tensor name (layers.0.forward.W_z, …, readout.W, readout.b; see namedParams)
// to { dtype: "F32" | "F64", shape, data_offsets: [begin, end] } relative to the data, and
// "__metadata__" holds strings: format "cellgen-weights/1", classes, and layers, a JSON list of
// { cell, sizes, bidirectional } per layer.

import { namedParams } from './optim.js';
import type { Model } from './train.js';
import type { Arr } from './types.js';

export const WEIGHTS_FORMAT = 'cellgen-weights/1';

export interface LayerMeta {
  readonly cell: string;
  readonly sizes: Readonly<Record<string, number>>;
  readonly bidirectional: boolean;
}
export interface WeightsMeta {
  readonly layers: readonly LayerMeta[];
  readonly classes: number;
}

/** A weights file that cannot be read, or does not fit the model it is loaded into. */
export class WeightsError extends Error {
  override name = 'WeightsError';
}

export function modelMeta(model: Model<Arr>): WeightsMeta {
  return {
    layers: model.layers.map((l) => ({ cell: l.forward.kernels.cell.name, sizes: sortKeys(l.forward.sizes), bidirectional: !!l.backward })),
    classes: model.readout.b.length,
  };
}

const sortKeys = (r: Readonly<Record<string, number>>) => Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]!]));

function shapeOf(model: Model<Arr>, name: string, a: Arr): number[] {
  if (name === 'readout.W') return [model.readout.b.length, a.length / model.readout.b.length];
  if (name === 'readout.b') return [a.length];
  const [, li, d, p] = name.split('.');
  const l = model.layers[Number(li)]!;
  const dir = d === 'backward' ? l.backward! : l.forward;
  return [...dir.kernels.paramShapes(dir.sizes)[p!]!];
}

export function saveWeights(model: Model<Arr>): Uint8Array {
  const params = namedParams(model);
  const header: Record<string, unknown> = {};
  const meta = modelMeta(model);
  header.__metadata__ = { format: WEIGHTS_FORMAT, classes: String(meta.classes), layers: JSON.stringify(meta.layers) };
  let off = 0;
  for (const [name, a] of params) {
    const bytes = a.length * a.BYTES_PER_ELEMENT;
    header[name] = { dtype: a instanceof Float32Array ? 'F32' : 'F64', shape: shapeOf(model, name, a), data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const out = new Uint8Array(8 + json.length + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const [, a] of params) {
    for (let i = 0; i < a.length; i++) {
      if (a instanceof Float32Array) dv.setFloat32(p + 4 * i, a[i]!, true);
      else dv.setFloat64(p + 8 * i, a[i]!, true);
    }
    p += a.length * a.BYTES_PER_ELEMENT;
  }
  return out;
}

interface TensorEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

function parse(bytes: Uint8Array): { meta: WeightsMeta; tensors: Map<string, TensorEntry>; dataStart: number } {
  if (bytes.length < 8) throw new WeightsError(`not a safetensors file: ${bytes.length} bytes, the header length alone takes 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new WeightsError(`not a safetensors file: header length ${n} exceeds the ${bytes.length - 8} bytes that follow`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new WeightsError(`not a safetensors file: the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  const md = header.__metadata__ as Record<string, string> | undefined;
  if (!md || md.format !== WEIGHTS_FORMAT) throw new WeightsError(`a safetensors file but not cellgen weights: __metadata__.format is ${JSON.stringify(md?.format)}, expected "${WEIGHTS_FORMAT}"`);
  let layers: LayerMeta[];
  try {
    layers = JSON.parse(md.layers ?? '');
  } catch {
    throw new WeightsError('__metadata__.layers is not a JSON list of layers');
  }
  const tensors = new Map<string, TensorEntry>();
  for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') tensors.set(k, v as TensorEntry);
  return { meta: { layers, classes: Number(md.classes) }, tensors, dataStart: 8 + n };
}

/** The cells and sizes a weights file was saved with (to build a model before loading into it). */
export function readWeightsMeta(bytes: Uint8Array): WeightsMeta {
  return parse(bytes).meta;
}

/** Copies the weights in `bytes` into `model`, after checking that its cells and sizes are the saved ones. */
export function loadWeights(model: Model<Arr>, bytes: Uint8Array): void {
  const { meta, tensors, dataStart } = parse(bytes);
  const want = modelMeta(model);
  if (meta.layers.length !== want.layers.length) throw new WeightsError(`the file has ${meta.layers.length} layer(s) but the model has ${want.layers.length}`);
  meta.layers.forEach((m, i) => {
    const w = want.layers[i]!;
    if (m.cell !== w.cell) throw new WeightsError(`layer ${i}: the file holds cell '${m.cell}' but the model's layer is '${w.cell}'`);
    if (m.bidirectional !== w.bidirectional) throw new WeightsError(`layer ${i} (${w.cell}): the file's layer is ${m.bidirectional ? '' : 'not '}bidirectional but the model's is ${w.bidirectional ? '' : 'not '}`);
    for (const s of new Set([...Object.keys(m.sizes), ...Object.keys(w.sizes)]))
      if (m.sizes[s] !== w.sizes[s]) throw new WeightsError(`layer ${i} (${w.cell}): size '${s}' is ${m.sizes[s]} in the file but ${w.sizes[s]} in the model`);
  });
  if (meta.classes !== want.classes) throw new WeightsError(`the file's readout has ${meta.classes} classes but the model's has ${want.classes}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const params = namedParams(model);
  for (const [name, a] of params) {
    const t = tensors.get(name);
    if (!t) throw new WeightsError(`tensor '${name}' is missing from the file`);
    const shape = shapeOf(model, name, a);
    if (JSON.stringify(t.shape) !== JSON.stringify(shape)) throw new WeightsError(`tensor '${name}' has shape [${t.shape}] in the file but [${shape}] in the model`);
    const width = t.dtype === 'F32' ? 4 : t.dtype === 'F64' ? 8 : 0;
    if (!width) throw new WeightsError(`tensor '${name}' has dtype ${t.dtype}; cellgen reads F32 and F64`);
    const [b, e] = t.data_offsets;
    if (e - b !== a.length * width || dataStart + e > bytes.length) throw new WeightsError(`tensor '${name}': its data_offsets [${b}, ${e}] do not hold ${a.length} ${t.dtype} values in this file`);
    for (let i = 0; i < a.length; i++) a[i] = width === 4 ? dv.getFloat32(dataStart + b + 4 * i, true) : dv.getFloat64(dataStart + b + 8 * i, true);
  }
  const extra = [...tensors.keys()].filter((k) => !params.some(([n]) => n === k));
  if (extra.length) throw new WeightsError(`the file has tensors the model does not: ${extra.join(', ')}`);
}
