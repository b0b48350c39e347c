// Run one-node RNN/GRU/LSTM models in onnxruntime-node (CPU, one thread) as an external oracle.
import ort from 'onnxruntime-node';
import { buildRnnModel } from './model.js';
import type { BuiltModel, ModelOptions } from './model.js';
import type { RnnAttrs, RnnInputs, RnnOp } from './reference.js';

export interface OrtTensor {
  dims: number[];
  data: Float32Array;
}

/** Single-threaded CPU session options, so timings and results do not depend on the host's cores. */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
};

/** Create a reusable session from model bytes (kept separate from `runSession` so benches can time run alone). */
export async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, SESSION_OPTIONS);
}

/** Turn a BuiltModel's feeds into ORT tensors, once, so a timed loop does not rebuild them. */
export function toOrtFeeds(feeds: BuiltModel['feeds']): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    out[name] = t.data instanceof Int32Array ? new ort.Tensor('int32', t.data, t.dims) : new ort.Tensor('float32', t.data, t.dims);
  }
  return out;
}

/** Run a session and copy every float32 output out as {dims, data}. */
export async function runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Record<string, OrtTensor>> {
  const results = await session.run(feeds);
  const out: Record<string, OrtTensor> = {};
  for (const [name, t] of Object.entries(results)) {
    if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, expected float32`);
    out[name] = { dims: t.dims.map(Number), data: Float32Array.from(t.data as Float32Array) };
  }
  return out;
}

/** Build, load and run a one-node model in one call; returns Y, Y_h (and Y_c for LSTM). */
export async function runOrtRnn(op: RnnOp, inputs: RnnInputs, attrs: RnnAttrs, options?: ModelOptions): Promise<Record<string, OrtTensor>> {
  const built = buildRnnModel(op, inputs, attrs, options);
  const session = await createSession(built.bytes);
  try {
    return await runSession(session, toOrtFeeds(built.feeds));
  } finally {
    await session.release();
  }
}
