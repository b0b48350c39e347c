// Copied by cellgen build from cellgen's src/runtime/webgpu/pipelines.ts. Do not edit.
/// <reference types="@webgpu/types" />
// Compiles a cell's shaders into pipelines, and runs device work inside error scopes that throw what they catch.

import type { CellKernels, ShaderData } from './types.js';

const STAGE_COMPUTE = 0x4;

export interface Kernel {
  readonly data: ShaderData;
  readonly layout: GPUBindGroupLayout;
  readonly pipelines: ReadonlyMap<string, GPUComputePipeline>;
}

/** Runs f inside validation and out-of-memory error scopes and throws what they caught. */
export async function scoped<T>(device: GPUDevice, what: string, f: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let value: T | undefined;
  let thrown: unknown;
  try {
    value = await f();
  } catch (e) {
    thrown = e;
  }
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (thrown !== undefined) throw thrown;
  const err = invalid ?? oom;
  if (err) throw new Error(`${what}: ${err.message}`);
  return value as T;
}

/** Compiles a shader, failing on any error message, and creates a pipeline per entry point. */
export async function compile(device: GPUDevice, k: CellKernels, which: 'forward' | 'backward', constants: Record<string, number>): Promise<Kernel> {
  const data = k[which];
  return scoped(device, `${k.cell} ${which} kernels`, async () => {
    const module = device.createShaderModule({ label: `${k.cell} ${which}`, code: data.shader });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) throw new Error(`${k.cell} ${which} WGSL does not compile:\n${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
    const layout = device.createBindGroupLayout({
      label: `${k.cell} ${which}`,
      entries: data.bindings.map((b, i) => ({ binding: i, visibility: STAGE_COMPUTE, buffer: { type: b.type, hasDynamicOffset: b.type === 'uniform' } })),
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
    const entries = [...data.dispatches.map((d) => d.entry), ...data.reductions.map((r) => r.entry)];
    const pipelines = new Map<string, GPUComputePipeline>();
    // One at a time: Dawn's GL backend (llvmpipe) is far slower when many compile concurrently.
    for (const entryPoint of entries)
      pipelines.set(entryPoint, await device.createComputePipelineAsync({ label: `${k.cell} ${entryPoint}`, layout: pipelineLayout, compute: { module, entryPoint, constants } }));
    return { data, layout, pipelines };
  });
}
