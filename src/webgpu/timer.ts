// Per-kernel GPU times from timestamp queries (the `timestamp-query` feature): while timing, each
// kernel runs in its own compute pass whose start and end the GPU stamps into a query set; the
// stamps are resolved and read back when timing stops. For profiling only: one pass per kernel
// and the read-back cost what the fused single-pass step does not.
import type { KernelWork } from '../kernelWork.js';
import { BufferUsage, MapMode } from './flags.js';

export interface KernelTime {
  kernel: string;
  ms: number;
  work: KernelWork;
}

const CAPACITY = 2048; // kernels per timing window (4096 queries, the most a query set may hold); later ones run untimed

export class KernelTimer {
  private querySet: GPUQuerySet;
  private timed: Omit<KernelTime, 'ms'>[] = [];
  constructor(private device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * CAPACITY });
  }

  /** The timestamp writes for the next kernel's pass, or undefined once the window is full. */
  next(kernel: string, work: KernelWork): GPUComputePassTimestampWrites | undefined {
    const i = this.timed.length;
    if (i >= CAPACITY) return undefined;
    this.timed.push({ kernel, work });
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Resolves and reads the stamps of every kernel timed (after the work has been submitted). */
  async read(): Promise<KernelTime[]> {
    const n = 2 * this.timed.length;
    if (n === 0) return [];
    const resolved = this.device.createBuffer({ size: n * 8, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
    const staging = this.device.createBuffer({ size: n * 8, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(this.querySet, 0, n, resolved, 0);
    enc.copyBufferToBuffer(resolved, 0, staging, 0, n * 8);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(MapMode.READ);
    const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    for (const b of [resolved, staging, this.querySet]) b.destroy();
    return this.timed.map((t, i) => ({ ...t, ms: Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6 }));
  }
}
