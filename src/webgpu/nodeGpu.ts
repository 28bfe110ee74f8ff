// Dawn (the `webgpu` package) in Node: its Vulkan driver choice, without touching the caller's
// process. The Vulkan loader Dawn opens reads its driver settings (VK_ICD_FILENAMES,
// VK_LOADER_DRIVERS_DISABLE) only from the environment, when an adapter is first requested from a
// Dawn instance; Dawn's own options (`create([...])`: backend=, adapter=, toggles) cannot point it
// at a driver file. So, only when Miya itself asks Dawn for an adapter and the user has chosen no
// driver, those variables are set for the request and restored as they were the moment it is
// answered (the device, once opened, keeps its driver). Requests are taken one at a time, so two
// never see each other's settings. See ARCHITECTURE.md, "Side effects".
// The browser build uses nodeGpu.browser.ts instead (tools/browserTwins.ts).
import { existsSync } from 'node:fs';
import { RunError } from '../errors.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

type Create = (options: string[]) => GPU;
interface Dawn {
  create: Create;
  globals: Record<string, unknown>;
}

let dawn: Promise<Dawn> | undefined;
/** The `webgpu` package, or a RunError-worthy message saying how to install it. */
export function loadDawn(): Promise<Dawn> {
  dawn ??= import('webgpu').then(
    (m) => m as unknown as Dawn,
    (e: unknown) => {
      dawn = undefined;
      const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
      throw new RunError(
        missing
          ? 'webgpu: the webgpu backend in Node needs the optional `webgpu` package (Dawn): npm install webgpu'
          : `webgpu: the \`webgpu\` package (Dawn) could not be loaded: ${(e as Error).message}`,
      );
    },
  );
  return dawn;
}

// Dawn instances must outlive their adapters and devices: a collected instance takes them down.
const instances: GPU[] = [];
async function instance(): Promise<GPU> {
  const gpu = (await loadDawn()).create([]);
  instances.push(gpu);
  return gpu;
}

let queue: Promise<unknown> = Promise.resolve();
/**
 * Runs `f` after every request queued before it has been answered. What a request reads of the
 * environment (the user's driver choice, the settings to give) is read inside `f`: read earlier,
 * it could be another request's temporary settings, taken for the user's.
 */
function serially<T>(f: () => Promise<T>): Promise<T> {
  const next = queue.then(f, f);
  queue = next.catch(() => undefined);
  return next;
}

/** Runs `ask` with these environment variables set (undefined: left as they are), then puts them back; only inside `serially`. */
async function withEnv<T>(vars: Record<string, string | undefined>, ask: () => Promise<T>): Promise<T> {
  const env = process.env,
    before = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) continue;
    before.set(k, env[k]);
    env[k] = v;
  }
  try {
    return await ask();
  } finally {
    for (const [k, v] of before) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
  }
}

/**
 * Linux: whether the machine has a GPU device node (a hardware Vulkan driver needs one: /dev/dri
 * for Mesa's and AMD's, /dev/nvidiactl for NVIDIA's, /dev/dxg under WSL). Without one, asking the
 * drivers only makes the Vulkan loader print "Failed to detect any valid GPUs" as an error.
 */
function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  return ['/dev/dri', '/dev/nvidiactl', '/dev/dxg'].some((d) => existsSync(d));
}

/** The driver settings for a request: none when the user chose a driver. */
function driverEnv(software: boolean): Record<string, string | undefined> {
  const env = process.env;
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return {};
  // XDG_RUNTIME_DIR: given when missing, as Miya always gave Dawn one; restored like the rest
  const runtime = env.XDG_RUNTIME_DIR ? undefined : '/tmp';
  // Mesa's llvmpipe (lavapipe) is left out: it is software and lacks what Dawn needs
  return software
    ? { VK_ICD_FILENAMES: SWIFTSHADER_ICD, XDG_RUNTIME_DIR: runtime }
    : { VK_LOADER_DRIVERS_DISABLE: env.VK_LOADER_DRIVERS_DISABLE ? undefined : '*lvp*', XDG_RUNTIME_DIR: runtime };
}

/**
 * The hardware adapter Dawn finds; failing that, and if allowed, SwiftShader. Each Dawn instance
 * reads the driver settings anew, so the second try sees SwiftShader's.
 */
export async function nodeAdapter(allowSoftware: boolean): Promise<GPUAdapter | undefined> {
  return serially(async () => {
    const env = process.env;
    const userChoice = !!(env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES);
    if (userChoice || mayHaveGpu()) {
      const gpu = await instance();
      const adapter = await withEnv(driverEnv(false), () => gpu.requestAdapter({ powerPreference: 'high-performance' }));
      if (adapter || userChoice || !allowSoftware) return adapter ?? undefined;
    } else if (!allowSoftware) {
      return undefined;
    }
    const gpu = await instance();
    return (await withEnv(driverEnv(true), () => gpu.requestAdapter())) ?? undefined;
  });
}

/**
 * A Dawn instance for another library in this process (the benchmark's TF.js peer) that asks for
 * adapters itself: its requestAdapter sees the driver settings Miya's own requests see. That
 * library also expects a browser's GPU* globals; installing them is left to its caller.
 */
export async function nodePeerGpu(): Promise<{ gpu: GPU; globals: Record<string, unknown> }> {
  const software = !(await nodeAdapter(false));
  const gpu = await instance();
  const peer = {
    requestAdapter: (o?: GPURequestAdapterOptions) => serially(() => withEnv(driverEnv(software), () => gpu.requestAdapter(o))),
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
    get wgslLanguageFeatures() {
      return gpu.wgslLanguageFeatures;
    },
  } as GPU;
  return { gpu: peer, globals: (await loadDawn()).globals };
}
