// Finds a WebGPU device: the browser's navigator.gpu, or in Node the `webgpu` package (Dawn).
// In Node without a GPU driver, Dawn is pointed at SwiftShader's CPU Vulkan (shipped by Debian's
// chromium package) and the caller is told, since that is for correctness, not speed.
export interface GpuContext { device: GPUDevice; adapter: GPUAdapter; description: string; software: boolean }

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

type Create = (flags: string[]) => GPU;
// Dawn instances must outlive their adapters and devices: a collected instance takes them down.
const instances: GPU[] = [];
function instance(create: Create): GPU {
  const gpu = create([]);
  instances.push(gpu);
  return gpu;
}
let createGpu: Create | undefined;
async function nodeCreate(): Promise<Create> {
  if (!createGpu) {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const pkg = 'webgpu';
    const { create, globals } = await import(/* @vite-ignore */ pkg);
    Object.assign(globalThis, globals);
    createGpu = create as Create;
  }
  return createGpu;
}

/**
 * Linux: whether the machine has a GPU device node (a hardware Vulkan driver needs one: /dev/dri
 * for Mesa's and AMD's, /dev/nvidiactl for NVIDIA's, /dev/dxg under WSL). Without one, asking the
 * drivers only makes the Vulkan loader print "Failed to detect any valid GPUs" as an error.
 */
async function mayHaveGpu(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const fs = 'node:fs';
  const { existsSync } = await import(/* @vite-ignore */ fs);
  return ['/dev/dri', '/dev/nvidiactl', '/dev/dxg'].some((d) => existsSync(d));
}

/**
 * Node: the hardware adapter Dawn finds (Mesa's llvmpipe is left out: it is software and lacks
 * what Dawn needs); failing that, and if allowed, SwiftShader. Each Dawn instance reads the
 * Vulkan driver settings anew, so the second try sees VK_ICD_FILENAMES.
 */
async function nodeAdapter(allowSoftware: boolean): Promise<GPUAdapter | undefined> {
  const create = await nodeCreate();
  const env = process.env;
  const userChoice = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES;
  if (!userChoice) env.VK_LOADER_DRIVERS_DISABLE ??= '*lvp*';
  const adapter = userChoice || await mayHaveGpu() ? await instance(create).requestAdapter({ powerPreference: 'high-performance' }) : null;
  if (adapter || userChoice || !allowSoftware) return adapter ?? undefined;
  env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return (await instance(create).requestAdapter()) ?? undefined;
}

/**
 * A GPU entry point for another library in this process (the benchmark's TF.js peer), with the
 * same driver choice as ours, so that both run on the same adapter.
 */
export async function gpuForPeers(): Promise<GPU> {
  if (!isNode) return (globalThis.navigator as Navigator).gpu;
  await nodeAdapter(true);
  return instance(await nodeCreate());
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
 */
export async function openGpu(allowSoftware: boolean): Promise<GpuContext | undefined> {
  const adapter = isNode ? await nodeAdapter(allowSoftware)
    : await (globalThis.navigator as Navigator | undefined)?.gpu?.requestAdapter({ powerPreference: 'high-performance' });
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
