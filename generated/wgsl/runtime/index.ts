// Copied by cellgen build from cellgen's src/runtime/webgpu/index.ts. Do not edit.
/// <reference types="@webgpu/types" />
// The WebGPU runtime of generated WGSL kernels: data contract, runner, and a Node device helper.

export * from './types.js';
export { CellLayout, ParamBlock, StepBlock } from './layout.js';
export { type BackwardResult, type ForwardArgs, type ForwardResult, type RunnerOptions, type Tensor, WgslCellRunner } from './runner.js';
export { createNodeDevice, type NodeDevice, type NodeDeviceOptions } from './node.js';
