// Finds a WebGPU device: the browser's navigator.gpu, or in Node the `webgpu` package (Dawn,
// through nodeGpu.ts; the browser build swaps in nodeGpu.browser.ts, which names no Node module).
// In Node without a GPU driver, Dawn is pointed at SwiftShader's CPU Vulkan (shipped by Debian's
// chromium package) and the caller is told, since that is for correctness, not speed.
import { nodeAdapter, nodePeerGpu } from './nodeGpu.js';

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  description: string;
  software: boolean;
}

export { SWIFTSHADER_ICD } from './nodeGpu.js';
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/**
 * A GPU entry point for another library in this process (the benchmark's TF.js peer), with the
 * same driver choice as ours, so that both run on the same adapter. In Node that library also
 * expects a browser's GPU* globals (GPUBufferUsage, …): those missing are installed here, for the
 * benchmark that asks for them; Miya's own API installs none.
 */
export async function gpuForPeers(): Promise<GPU> {
  if (!isNode) return (globalThis.navigator as Navigator).gpu;
  const { gpu, globals } = await nodePeerGpu();
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) Object.assign(globalThis, { [k]: v });
  return gpu;
}

export function describeAdapter(a: GPUAdapter): string {
  const i = a.info;
  const name = [i.vendor, i.description || i.device || i.architecture].filter(Boolean).join(' ');
  return name || 'unknown adapter';
}

function isSoftware(a: GPUAdapter): boolean {
  const i = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return !!i.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(`${i.vendor} ${i.architecture} ${i.description}`);
}

/**
 * Opens a device. With `allowSoftware` false (the `auto` backend) it returns undefined unless a
 * hardware GPU is present; with it true (the `webgpu` backend) a software adapter is accepted.
 * In Node without the optional `webgpu` package, `auto` finds no GPU and `webgpu` throws saying
 * how to install it.
 */
export async function openGpu(allowSoftware: boolean): Promise<GpuContext | undefined> {
  let adapter: GPUAdapter | null | undefined;
  if (isNode) {
    try {
      adapter = await nodeAdapter(allowSoftware);
    } catch (e) {
      if (!allowSoftware) return undefined;
      throw e;
    }
  } else {
    adapter = await (globalThis.navigator as Navigator | undefined)?.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  }
  if (!adapter) return undefined;
  const software = isSoftware(adapter);
  if (software && !allowSoftware) return undefined;
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    // kernel timing for `miya bench --profile`; nothing else asks for it
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(8, l.maxStorageBuffersPerShaderStage),
      // the big16 matmul tile double-buffers 32 KiB where the device allows it
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    },
  });
  return { device, adapter, description: describeAdapter(adapter) + (software ? ' (software)' : ''), software };
}
