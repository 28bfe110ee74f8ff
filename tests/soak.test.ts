// Soak: 10,000 steps on the webgpu backend (the GPU, or SwiftShader in CI) with constant memory —
// the same number of live GPU buffers and prepared dispatches throughout and no steady growth of the Node heap — no NaN,
// and the same final loss when the run is repeated. bench/soak.ts prints the memory figures.
import { expect } from 'vitest';
import { webgpuTest } from './backends.js';
import { soak } from '../bench/soak.js';

const gpuTest = await webgpuTest();

gpuTest(
  '10,000 webgpu steps: constant live buffers, prepared dispatches and heap, finite losses, the same final loss on a repeat',
  async (be) => {
    const first = await soak(be, 10_000);
    const again = await soak(be, 10_000);
    expect(new Set(first.samples.map((s) => s.liveBuffers)).size).toBe(1);
    // nor do the runner's prepared dispatches (a uniform buffer and a bind group each) grow
    expect(new Set(first.samples.map((s) => s.dispatches)).size).toBe(1);
    expect(first.samples[0].dispatches).toBeGreaterThan(0);
    expect(first.liveAfterDispose).toBe(first.liveBefore);
    // after a full collection, heap at step 1,000 against the end (a leak of 1 KiB a step would
    // add 9 MiB); native memory (Dawn, SwiftShader) moves more, so its bound is looser
    const [a, z] = [first.samples[0], first.samples[first.samples.length - 1]];
    expect(z.heapUsed - a.heapUsed).toBeLessThan(2 ** 20);
    expect(z.rss - a.rss).toBeLessThan(64 * 2 ** 20);
    expect(first.losses.every(Number.isFinite)).toBe(true);
    expect(first.finalLoss).toBe(again.finalLoss);
    expect(first.finalLoss).toBeLessThan(first.losses[0]);
  },
  600_000,
);
