// A GPUDevice wrapped so that every call that costs a round trip or a driver object is counted: submits, dispatches,
// buffer, bind-group and pipeline creations, queue writes and mapAsync read-backs.

export interface Counts {
  submits: number;
  encoders: number;
  passes: number;
  dispatches: number;
  copies: number;
  buffers: number;
  bindGroups: number;
  pipelines: number;
  shaderModules: number;
  writeBuffer: number;
  mapAsync: number;
  errorScopes: number;
}

export const zeroCounts = (): Counts => ({ submits: 0, encoders: 0, passes: 0, dispatches: 0, copies: 0, buffers: 0, bindGroups: 0, pipelines: 0, shaderModules: 0, writeBuffer: 0, mapAsync: 0, errorScopes: 0 });

/** Calls the native method with the native object as `this` (a Proxy cannot stand in for it). */
function forward<T extends object>(target: T, hooks: Partial<Record<string | symbol, unknown>>): T {
  return new Proxy(target, {
    get(t, k) {
      if (k in hooks) return hooks[k];
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** The device as the runner sees it, and the live counts of what it was asked to do. */
export function countingDevice(device: GPUDevice): { device: GPUDevice; counts: Counts; reset(): Counts } {
  let counts = zeroCounts();
  const pass = (p: GPUComputePassEncoder): GPUComputePassEncoder =>
    forward(p, {
      dispatchWorkgroups: ((...a: Parameters<GPUComputePassEncoder['dispatchWorkgroups']>) => {
        counts.dispatches++;
        return p.dispatchWorkgroups(...a);
      }) as never,
    });
  const encoder = (e: GPUCommandEncoder): GPUCommandEncoder =>
    forward(e, {
      beginComputePass: ((d?: GPUComputePassDescriptor) => {
        counts.passes++;
        return pass(e.beginComputePass(d));
      }) as never,
      copyBufferToBuffer: ((...a: [GPUBuffer, number, GPUBuffer, number, number]) => {
        counts.copies++;
        return e.copyBufferToBuffer(...a);
      }) as never,
    });
  const queue = forward(device.queue, {
    submit: ((cbs: GPUCommandBuffer[]) => {
      counts.submits++;
      return device.queue.submit(cbs);
    }) as never,
    writeBuffer: ((...a: Parameters<GPUQueue['writeBuffer']>) => {
      counts.writeBuffer++;
      return device.queue.writeBuffer(...a);
    }) as never,
  });
  const dev = forward(device, {
    queue,
    createBuffer: ((d: GPUBufferDescriptor) => {
      counts.buffers++;
      const b = device.createBuffer(d);
      const map = b.mapAsync.bind(b);
      Object.defineProperty(b, 'mapAsync', {
        value: (...a: Parameters<GPUBuffer['mapAsync']>) => {
          counts.mapAsync++;
          return map(...a);
        },
      });
      return b;
    }) as never,
    createCommandEncoder: ((d?: GPUCommandEncoderDescriptor) => {
      counts.encoders++;
      return encoder(device.createCommandEncoder(d));
    }) as never,
    createBindGroup: ((d: GPUBindGroupDescriptor) => {
      counts.bindGroups++;
      return device.createBindGroup(d);
    }) as never,
    createComputePipeline: ((d: GPUComputePipelineDescriptor) => {
      counts.pipelines++;
      return device.createComputePipeline(d);
    }) as never,
    createComputePipelineAsync: ((d: GPUComputePipelineDescriptor) => {
      counts.pipelines++;
      return device.createComputePipelineAsync(d);
    }) as never,
    createShaderModule: ((d: GPUShaderModuleDescriptor) => {
      counts.shaderModules++;
      return device.createShaderModule(d);
    }) as never,
    pushErrorScope: ((f: GPUErrorFilter) => {
      counts.errorScopes++;
      return device.pushErrorScope(f);
    }) as never,
  });
  return {
    device: dev,
    get counts() {
      return counts;
    },
    reset() {
      const c = counts;
      counts = zeroCounts();
      return c;
    },
  };
}
