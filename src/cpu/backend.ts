import type { Backend } from '../backend.js';
import type { KernelBuffers, KernelName, KernelParams } from '../kernels.js';
import { cpuKernels } from './kernels.js';

/** The reference backend: Float64Array buffers, every kernel run at once with plain loops. */
export class CpuBackend implements Backend<Float64Array> {
  readonly name = 'cpu' as const;
  readonly precision = 'f64' as const;
  readonly device = 'CPU (float64 reference)';
  readonly bufferLimit = { floats: 2 ** 29, what: 'a 4 GiB Float64Array' };
  private live = new Map<Float64Array, string>();
  private scratch?: Float64Array;

  buffer(length: number, label: string): Float64Array {
    if (length > this.bufferLimit.floats) throw new RangeError(`${label}: ${length} floats exceed ${this.bufferLimit.what}`);
    const b = new Float64Array(length);
    this.live.set(b, label);
    return b;
  }
  write(buf: Float64Array, data: ArrayLike<number>, offset = 0): void {
    buf.set(data, offset);
  }
  async read(buf: Float64Array, offset: number, length: number): Promise<Float64Array> {
    return buf.slice(offset, offset + length);
  }
  copy(src: Float64Array, so: number, dst: Float64Array, d: number, n: number): void {
    dst.set(src.subarray(so, so + n), d);
  }
  run<K extends KernelName>(kernel: K, params: KernelParams[K], buffers: KernelBuffers<Float64Array>[K]): void {
    (cpuKernels[kernel] as (p: KernelParams[K], b: KernelBuffers<Float64Array>[K]) => void)(params, buffers);
  }
  workspace(length: number): Float64Array {
    if (!this.scratch || this.scratch.length < length) {
      if (this.scratch) this.free(this.scratch);
      this.scratch = this.buffer(length, 'workspace');
    }
    return this.scratch;
  }
  submit(): void {}
  free(buf: Float64Array): void {
    this.live.delete(buf);
  }
  liveBuffers(): number {
    return this.live.size;
  }
  inventory(): Map<Float64Array, { label: string; floats: number }> {
    return new Map([...this.live].map(([b, label]) => [b, { label, floats: b.length }]));
  }
  dispose(): void {
    this.live.clear();
    this.scratch = undefined;
  }
}
