// Decode and encode the subset of onnx.proto (official field numbers) needed for RNN/GRU/LSTM models and tensors.
import protobuf from 'protobufjs';

// Field numbers copied from onnx/onnx.proto (proto2); fields we never touch are left out,
// which is safe because protobuf skips unknown fields when decoding.
const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; SPARSE_TENSOR = 11;
    TYPE_PROTO = 13; FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
    SPARSE_TENSORS = 12; TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  optional TypeProto tp = 14;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  repeated TypeProto type_protos = 15;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7;
    STRING = 8; BOOL = 9; FLOAT16 = 10; DOUBLE = 11; UINT32 = 12; UINT64 = 13;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelType = root.lookupType('onnx.ModelProto');
const TensorType = root.lookupType('onnx.TensorProto');

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;
/** ONNX AttributeProto.AttributeType values used here. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

// Plain-object views of the messages (after toObject with longs→Number, bytes as Uint8Array).
export interface TensorMsg {
  name?: string;
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  raw_data?: Uint8Array;
}
export interface AttributeMsg {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}
export interface DimMsg { dim_value?: number; dim_param?: string }
export interface ValueInfoMsg {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: DimMsg[] } } };
}
export interface NodeMsg {
  input?: string[];
  output?: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: AttributeMsg[];
}
export interface GraphMsg {
  name?: string;
  node?: NodeMsg[];
  initializer?: TensorMsg[];
  input?: ValueInfoMsg[];
  output?: ValueInfoMsg[];
}
export interface ModelMsg {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  producer_name?: string;
  graph?: GraphMsg;
}

/** A decoded tensor: float tensors as Float32Array, int32/int64 tensors as Int32Array. */
export interface DecodedTensor {
  name: string;
  dims: number[];
  dataType: number;
  data: Float32Array | Int32Array;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, arrays: false, defaults: false };

/** Decode a serialized ModelProto. */
export function decodeModel(bytes: Uint8Array): ModelMsg {
  return ModelType.toObject(ModelType.decode(bytes), TO_OBJECT) as ModelMsg;
}

/** Encode a ModelProto (plain object in the shape of ModelMsg) to bytes. */
export function encodeModel(model: ModelMsg): Uint8Array {
  const err = ModelType.verify(model);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  return ModelType.encode(ModelType.fromObject(model)).finish();
}

/** Encode a TensorProto (plain object in the shape of TensorMsg) to bytes. */
export function encodeTensor(tensor: TensorMsg): Uint8Array {
  const err = TensorType.verify(tensor);
  if (err) throw new Error(`invalid TensorProto: ${err}`);
  return TensorType.encode(TensorType.fromObject(tensor)).finish();
}

/** Decode a serialized TensorProto. */
export function decodeTensor(bytes: Uint8Array): DecodedTensor {
  return tensorFromMsg(TensorType.toObject(TensorType.decode(bytes), TO_OBJECT) as TensorMsg);
}

/** Convert a TensorProto object to typed data; raw_data is little-endian per the ONNX spec. */
export function tensorFromMsg(t: TensorMsg): DecodedTensor {
  const dims = (t.dims ?? []).map(Number);
  const dataType = t.data_type ?? 0;
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.raw_data && t.raw_data.length > 0 ? t.raw_data : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const width = ({ [DataType.FLOAT]: 4, [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.DOUBLE]: 8 } as Record<number, number>)[dataType];
  if (width === undefined) throw new Error(`tensor '${t.name ?? ''}': unsupported data_type ${dataType}`);
  if (!raw) {
    const stored = dataType === DataType.FLOAT ? t.float_data : dataType === DataType.DOUBLE ? t.double_data
      : dataType === DataType.INT32 ? t.int32_data : t.int64_data;
    if ((stored?.length ?? 0) !== count) throw new Error(`tensor '${t.name ?? ''}': ${stored?.length ?? 0} values for dims [${dims}]`);
  } else if (raw.byteLength !== count * width) {
    throw new Error(`tensor '${t.name ?? ''}': raw_data has ${raw.byteLength} bytes for dims [${dims}]`);
  }
  let data: Float32Array | Int32Array;
  switch (dataType) {
    case DataType.FLOAT:
      data = new Float32Array(count);
      for (let k = 0; k < count; k++) data[k] = view ? view.getFloat32(4 * k, true) : t.float_data![k]!;
      break;
    case DataType.DOUBLE:
      // Narrowed to float32 so callers see one float type; no conformance data uses double.
      data = new Float32Array(count);
      for (let k = 0; k < count; k++) data[k] = view ? view.getFloat64(8 * k, true) : t.double_data![k]!;
      break;
    case DataType.INT32:
      data = new Int32Array(count);
      for (let k = 0; k < count; k++) data[k] = view ? view.getInt32(4 * k, true) : t.int32_data![k]!;
      break;
    case DataType.INT64:
      data = new Int32Array(count);
      for (let k = 0; k < count; k++) data[k] = view ? Number(view.getBigInt64(8 * k, true)) : t.int64_data![k]!;
      break;
    default:
      throw new Error(`tensor '${t.name ?? ''}': unsupported data_type ${dataType}`);
  }
  return { name: t.name ?? '', dims, dataType, data };
}

/** Build a float32 TensorProto object (raw_data, little-endian) for initializers. */
export function floatTensorMsg(name: string, dims: number[], values: ArrayLike<number>): TensorMsg {
  const f32 = Float32Array.from(values);
  return { name, dims, data_type: DataType.FLOAT, raw_data: littleEndianBytes(f32) };
}

/** Build an int32 TensorProto object (raw_data, little-endian). */
export function int32TensorMsg(name: string, dims: number[], values: ArrayLike<number>): TensorMsg {
  return { name, dims, data_type: DataType.INT32, raw_data: littleEndianBytes(Int32Array.from(values)) };
}

function littleEndianBytes(a: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(4 * a.length);
  const dv = new DataView(out.buffer);
  for (let k = 0; k < a.length; k++) {
    if (a instanceof Float32Array) dv.setFloat32(4 * k, a[k]!, true);
    else dv.setInt32(4 * k, a[k]!, true);
  }
  return out;
}

/** Read an attribute's value by name from a decoded node, or undefined when absent. */
export function nodeAttr(node: NodeMsg, name: string): number | string | number[] | string[] | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) return undefined;
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  switch (a.type) {
    case AttrType.FLOAT: return a.f ?? 0;
    case AttrType.INT: return a.i ?? 0;
    case AttrType.STRING: return text(a.s ?? new Uint8Array());
    case AttrType.FLOATS: return a.floats ?? [];
    case AttrType.INTS: return a.ints ?? [];
    case AttrType.STRINGS: return (a.strings ?? []).map(text);
    default: throw new Error(`attribute '${name}': unsupported type ${a.type}`);
  }
}
