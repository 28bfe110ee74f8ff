// The page's backends: WebGPU when the browser has it (said plainly when it does not), and the
// float64 CPU reference always.
import { type Backend, CpuBackend, createBackend } from '../src/index.js';

let gpu: Promise<Backend | undefined> | undefined;

export function webgpu(): Promise<Backend | undefined> {
  gpu ??= ('gpu' in navigator ? createBackend('webgpu') : Promise.reject(new Error('no navigator.gpu'))).catch(() => undefined);
  return gpu;
}

export async function backendNamed(name: string): Promise<Backend> {
  if (name === 'webgpu') {
    const g = await webgpu();
    if (g) return g;
  }
  return new CpuBackend();
}

/** Fills the header's status line; returns whether WebGPU is there. */
export async function showGpuStatus(el: HTMLElement): Promise<boolean> {
  const g = await webgpu();
  if (g) {
    el.textContent = `WebGPU: ${g.device}`;
    return true;
  }
  el.textContent = 'This browser has no WebGPU: everything here runs on the CPU backend (the float64 reference) instead.';
  el.classList.add('missing');
  return false;
}

/** A select element with the given options. */
export function select(options: [string, string][], value?: string): HTMLSelectElement {
  const s = document.createElement('select');
  for (const [v, label] of options) s.add(new Option(label, v, false, v === value));
  return s;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
