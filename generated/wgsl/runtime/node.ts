// Copied by cellgen build from cellgen's src/runtime/webgpu/node.ts. Do not edit.
/// <reference types="@webgpu/types" />
// A GPUDevice in Node.js from the npm package `webgpu` (Dawn), on Mesa's OpenGL ES (llvmpipe) when there is no GPU.

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type NodeDevice =
  | { readonly device: GPUDevice; readonly adapter: string; readonly reason?: undefined }
  | { readonly device: undefined; readonly adapter?: undefined; readonly reason: string };

export interface NodeDeviceOptions {
  /** Limits the kernels need (a generated module's `requiredLimits`). */
  readonly requiredLimits?: Readonly<Record<string, number>>;
  /** Dawn backend; 'opengles' runs on Mesa without a GPU (Dawn's Vulkan backend does not start on lavapipe). */
  readonly backend?: string;
}

// The GPU objects stay referenced for the life of the process: dropping them can tear the device down.
const keep: unknown[] = [];

/**
 * Creates a device, or says why none can be had. Sets EGL_PLATFORM=surfaceless (no display server) and an
 * XDG_RUNTIME_DIR when they are missing; asks for the adapter's largest buffer sizes.
 */
export async function createNodeDevice(opts: NodeDeviceOptions = {}): Promise<NodeDevice> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `cellgen-xdg-${process.getuid?.() ?? 'user'}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  let webgpu: { create: (flags: string[]) => GPU; globals: object };
  try {
    webgpu = (await import('webgpu')) as typeof webgpu;
  } catch (e) {
    return { device: undefined, reason: `the npm package 'webgpu' could not be loaded: ${e instanceof Error ? e.message : String(e)}` };
  }
  Object.assign(globalThis, webgpu.globals);
  const backend = opts.backend ?? 'opengles';
  let adapter: GPUAdapter | null;
  try {
    const gpu = webgpu.create([`backend=${backend}`]);
    keep.push(gpu);
    adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  } catch (e) {
    return { device: undefined, reason: `Dawn's ${backend} backend failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!adapter)
    return { device: undefined, reason: `no WebGPU adapter on Dawn's ${backend} backend (without a GPU, install Mesa: libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)` };
  const have = adapter.limits as unknown as Record<string, number>;
  const requiredLimits: Record<string, number> = {};
  for (const [k, v] of Object.entries(opts.requiredLimits ?? {})) {
    if (!(k in have)) return { device: undefined, reason: `the adapter does not know the limit ${k}` };
    if (have[k]! < v) return { device: undefined, reason: `the adapter allows ${k} = ${have[k]}, the kernels need ${v}` };
    requiredLimits[k] = v;
  }
  requiredLimits.maxStorageBufferBindingSize = Math.max(requiredLimits.maxStorageBufferBindingSize ?? 0, have.maxStorageBufferBindingSize!);
  requiredLimits.maxBufferSize = Math.max(requiredLimits.maxBufferSize ?? 0, have.maxBufferSize!);
  try {
    const device = await adapter.requestDevice({ requiredLimits });
    keep.push(adapter, device);
    const info = adapter.info as GPUAdapterInfo | undefined;
    const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s).join(' ') || 'unknown adapter';
    return { device, adapter: `${name} (Dawn ${backend})` };
  } catch (e) {
    return { device: undefined, reason: `requestDevice failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
