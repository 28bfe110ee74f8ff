// The browser build's stand-in for nodeGpu.ts (tools/browserTwins.ts swaps it in): a page finds its
// GPU through navigator.gpu, and nothing here names a Node module or the `webgpu` package.
import type * as Node from './nodeGpu.js';

export const SWIFTSHADER_ICD: typeof Node.SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const nodeOnly = (): never => {
  throw new Error('Dawn (the `webgpu` package) is for Node; a browser has navigator.gpu');
};
export const loadDawn: typeof Node.loadDawn = async () => nodeOnly();
export const nodeAdapter: typeof Node.nodeAdapter = async () => nodeOnly();
export const nodePeerGpu: typeof Node.nodePeerGpu = async () => nodeOnly();
