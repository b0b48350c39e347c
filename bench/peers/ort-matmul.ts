// ONNX Runtime's native MatMul (one thread, B as an initializer): a reference figure for the GEMM rows.
import { createSession } from '../../src/check/onnx/ort.js';
import { DataType, encodeModel, floatTensorMsg } from '../../src/runtime/onnx/proto.js';
import { IR_VERSION, OPSET } from '../../src/check/onnx/model.js';
import ort from 'onnxruntime-node';

/** A session computing C = A B (B an initializer), as a function to time, its flops per call and a release. */
export async function ortMatMul(M: number, N: number, K: number): Promise<{ run: () => Promise<void>; flops: number; release: () => Promise<void> }> {
  const B = Float32Array.from({ length: K * N }, () => Math.random() - 0.5);
  const bytes = encodeModel({
    ir_version: IR_VERSION,
    producer_name: 'cellgen-bench',
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name: 'matmul',
      node: [{ input: ['A', 'B'], output: ['C'], name: 'mm', op_type: 'MatMul', domain: '', attribute: [] }],
      initializer: [floatTensorMsg('B', [K, N], B)],
      input: [{ name: 'A', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: M }, { dim_value: K }] } } } }],
      output: [{ name: 'C', type: { tensor_type: { elem_type: DataType.FLOAT } } }],
    },
  });
  const session = await createSession(bytes);
  const A = new ort.Tensor('float32', Float32Array.from({ length: M * K }, () => Math.random() - 0.5), [M, K]);
  return { run: async () => { await session.run({ A }); }, flops: 2 * M * N * K, release: () => session.release() };
}
