// Types of the ONNX RNN, GRU and LSTM operators (attributes, inputs, outputs), shared by the runtime's ONNX
// import/export and the reference evaluator in src/check/onnx.

export type RnnOp = 'RNN' | 'GRU' | 'LSTM';
export type Direction = 'forward' | 'reverse' | 'bidirectional';
/** Activation names this evaluator knows (spelled as in the ONNX spec; parameterised ones are not supported). */
export type ActivationName = 'Tanh' | 'Sigmoid' | 'Relu' | 'Softsign' | 'Softplus';

export interface Tensor {
  dims: number[];
  data: ArrayLike<number>;
}
export interface F64Tensor {
  dims: number[];
  data: Float64Array;
}

/** The operator attributes; omitted ones take the spec defaults. */
export interface RnnAttrs {
  hiddenSize: number;
  direction?: Direction;
  /** 0: X [seq,batch,input], Y [seq,dirs,batch,H], Y_h [dirs,batch,H]; 1: batch first everywhere. */
  layout?: 0 | 1;
  /** GRU only. */
  linearBeforeReset?: 0 | 1;
  /** LSTM only: f = 1 - i. */
  inputForget?: 0 | 1;
  clip?: number;
  /** Per direction, forward first: RNN f; GRU f,g; LSTM f,g,h. */
  activations?: ActivationName[];
}

/** Operator inputs; optional ones may be left out (B, initial states default to zeros, sequence_lens to seq). */
export interface RnnInputs {
  X: Tensor;
  W: Tensor;
  R: Tensor;
  B?: Tensor;
  sequenceLens?: ArrayLike<number>;
  initialH?: Tensor;
  initialC?: Tensor;
  P?: Tensor;
}

export interface RnnOutputs {
  Y: F64Tensor;
  Y_h: F64Tensor;
  /** LSTM only. */
  Y_c?: F64Tensor;
}
