// The sequence runtime around generated kernels: layers, stacks, readout, BPTT variants, clipping.

export * from './types.js';
export * from './layers.js';
export * from './train.js';
export * from './onnx.js';
export * from './random.js';
export * from './init.js';
export * from './optim.js';
export * from './weights.js';
export * from './loop.js';
export * from './pytorch.js';
export * from './onnx-file.js';
