// The backends present on this machine: cpu always, webgpu when Dawn finds an adapter
// (a GPU, or SwiftShader where Debian's chromium and libvulkan1 are installed).
import type { Backend } from '../src/backend.js';
import { createBackend } from '../src/backends.js';
import { CpuBackend } from '../src/cpu/backend.js';

let gpu: Promise<Backend | undefined> | undefined;
export function webgpuBackend(): Promise<Backend | undefined> {
  gpu ??= createBackend('webgpu').catch(() => undefined);
  return gpu;
}

/** [name, backend] for every backend present; CI installs SwiftShader so webgpu is always there. */
export async function presentBackends(): Promise<[string, Backend][]> {
  const list: [string, Backend][] = [['cpu', new CpuBackend()]];
  const g = await webgpuBackend();
  if (g) list.push(['webgpu', g]);
  else if (process.env.CI) throw new Error('webgpu backend missing in CI (is SwiftShader installed?)');
  return list;
}
