// Picks a backend by name: 'cpu', 'webgpu' (any adapter, SwiftShader included) or 'auto'
// (a hardware GPU when there is one, the cpu backend otherwise).
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/backend.js';
import { RunError } from './errors.js';
import { openGpu } from './webgpu/device.js';
import { WebGpuBackend } from './webgpu/backend.js';

export type BackendName = 'cpu' | 'webgpu' | 'auto';
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'webgpu', 'auto'];

export interface BackendOptions {
  /** told when the GPU is a software one (SwiftShader) */ notice?: (message: string) => void;
}

export async function createBackend(name: BackendName, opts: BackendOptions = {}): Promise<Backend> {
  if (name === 'cpu') return new CpuBackend();
  const ctx = await openGpu(name === 'webgpu');
  if (!ctx) {
    if (name === 'auto') return new CpuBackend();
    throw new RunError("webgpu: no WebGPU adapter found (in Node, install a GPU driver or Debian's chromium and libvulkan1 for SwiftShader)");
  }
  if (ctx.software) opts.notice?.(`webgpu: no GPU driver found, running on ${ctx.description}: correct but slow`);
  return new WebGpuBackend(ctx) as Backend;
}
