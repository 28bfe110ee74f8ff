// Loads TensorFlow.js (core, CPU backend, WebGPU backend) for the benchmark. In Node the WebGPU
// backend finds its GPU through navigator.gpu, so it is given a Dawn instance on the adapter Miya
// uses before the backend is imported.
import type * as TF from '@tensorflow/tfjs';
import { describeAdapter, gpuForPeers } from '../src/webgpu/device.js';
import type { Contender } from './contender.js';
import { tfjsContender } from './tfjs.js';

let tf: typeof TF | undefined;

export async function tfjsPeer(kind: 'webgpu' | 'cpu'): Promise<Contender> {
  try {
    // the full package: core, the CPU backend and every op's gradient
    tf ??= (await import('@tensorflow/tfjs')) as unknown as typeof TF;
    if (kind === 'webgpu') {
      const gpu = await gpuForPeers();
      if (!('navigator' in globalThis) || !(globalThis.navigator as Navigator).gpu) {
        Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      }
      await import('@tensorflow/tfjs-backend-webgpu');
    }
  } catch (e) {
    throw new Error(`tfjs-${kind}: TensorFlow.js could not be loaded (${(e as Error).message}); it is a development dependency: npm install`);
  }
  if (!(await tf.setBackend(kind))) throw new Error(`tfjs-${kind}: TensorFlow.js could not start its ${kind} backend`);
  await tf.ready();
  let device = 'JavaScript (TF.js cpu backend)';
  if (kind === 'webgpu') {
    const adapter = await (globalThis.navigator as Navigator).gpu.requestAdapter({ powerPreference: 'high-performance' });
    device = adapter ? describeAdapter(adapter) : 'unknown adapter';
  }
  return tfjsContender(tf, `tfjs-${kind}`, device);
}
