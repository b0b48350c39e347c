// ONNX protobuf subset: tensor storage variants, model encode/decode, and malformed data.
import { describe, expect, it } from 'vitest';
import { buildRnnModel } from '../../../src/check/onnx/model.js';
import { DataType, decodeModel, decodeTensor, encodeTensor, floatTensorMsg, int32TensorMsg, nodeAttr } from '../../../src/runtime/onnx/proto.js';

const values = [1.5, -2.25, 3e-8, 65504, -0.1];

describe('TensorProto', () => {
  it('decodes float_data and raw_data to the same float32 values', () => {
    const fromList = decodeTensor(encodeTensor({ name: 'a', dims: [5], data_type: DataType.FLOAT, float_data: values }));
    const fromRaw = decodeTensor(encodeTensor(floatTensorMsg('a', [5], values)));
    expect(Array.from(fromList.data)).toEqual(Array.from(Float32Array.from(values)));
    expect(Array.from(fromRaw.data)).toEqual(Array.from(fromList.data));
    expect(fromRaw.dims).toEqual([5]);
    expect(fromRaw.data).toBeInstanceOf(Float32Array);
  });

  it('decodes int32 tensors from int32_data and raw_data', () => {
    const a = decodeTensor(encodeTensor({ name: 'l', dims: [3], data_type: DataType.INT32, int32_data: [7, -4, 1] }));
    const b = decodeTensor(encodeTensor(int32TensorMsg('l', [3], [7, -4, 1])));
    expect(a.data).toBeInstanceOf(Int32Array);
    expect(Array.from(a.data)).toEqual([7, -4, 1]);
    expect(Array.from(b.data)).toEqual([7, -4, 1]);
  });

  it('rejects data whose length does not match dims', () => {
    expect(() => decodeTensor(encodeTensor({ name: 'x', dims: [2, 2], data_type: DataType.FLOAT, float_data: [1, 2, 3] }))).toThrow(/dims/);
    expect(() => decodeTensor(encodeTensor(floatTensorMsg('x', [4], [1, 2])))).toThrow(/raw_data/);
  });
});

describe('ModelProto', () => {
  it('keeps the node, attributes and initializers through encode and decode', () => {
    const W = { dims: [2, 12, 2], data: new Float64Array(48).fill(0.25) };
    const built = buildRnnModel('LSTM', {
      X: { dims: [3, 1, 2], data: new Float64Array(6) }, W, R: { dims: [2, 12, 3], data: new Float64Array(72) },
      P: { dims: [2, 9], data: new Float64Array(18) },
    }, { hiddenSize: 3, direction: 'bidirectional', inputForget: 1, clip: 2.5 }, { initializers: ['W'] });
    const m = decodeModel(built.bytes);
    expect(m.opset_import).toEqual([{ domain: '', version: 14 }]);
    const node = m.graph!.node![0]!;
    expect(node.op_type).toBe('LSTM');
    expect(node.input).toEqual(['X', 'W', 'R', '', '', '', '', 'P']);
    expect(nodeAttr(node, 'hidden_size')).toBe(3);
    expect(nodeAttr(node, 'direction')).toBe('bidirectional');
    expect(nodeAttr(node, 'input_forget')).toBe(1);
    expect(nodeAttr(node, 'clip')).toBe(2.5);
    expect(m.graph!.input!.map((v) => v.name)).toEqual(['X', 'R', 'P']);
    expect(Object.keys(built.feeds)).toEqual(['X', 'R', 'P']);
    expect(m.graph!.initializer!.map((t) => t.name)).toEqual(['W']);
  });
});
