import type { Backend } from '../backend.js';
import { DeviceLostError } from '../errors.js';
import { kernelWork } from '../kernelWork.js';
import { type KernelBuffers, type KernelName, type KernelParams, MATMUL_TILE_NAMES, type MatmulParams, type MatmulPlan, type MatmulTile } from '../kernels.js';
import { tileBytes } from './kernels.js';
import type { GpuContext } from './device.js';
import { BufferUsage, MapMode } from './flags.js';
import { productKey, type TimedChoice, tunedPlan, tuneWithStore } from './tune.js';
import type { TuneStore } from '../tuneStore.js';
import { type GpuBuf, KernelRunner } from './runner.js';
import { type KernelTime, KernelTimer } from './timer.js';

/**
 * float32 buffers and WGSL kernels. Kernels are recorded into one command encoder (one compute
 * pass) and submitted together at submit(); writes and reads submit pending work first so that
 * their order is the order of the calls.
 */
export class WebGpuBackend implements Backend<GpuBuf> {
  readonly name = 'webgpu' as const;
  readonly precision = 'f32' as const;
  readonly device: string;
  /** The adapter as it describes itself (the tuning cache's key). */
  readonly adapterInfo: GPUAdapterInfo;
  readonly gpu: GPUDevice;
  readonly bufferLimit: { floats: number; what: string };
  private runner: KernelRunner;
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private nextId = 1;
  private live = new Set<GpuBuf>();
  private error?: Error;
  lost = false;
  private timer?: KernelTimer;
  private scratch?: GpuBuf;
  private retired: GpuBuf[] = [];

  /** The tile shapes whose double-buffered workgroup memory this device allows. */
  matmulTiles(): readonly MatmulTile[] {
    return MATMUL_TILE_NAMES.filter((t) => tileBytes(t) <= this.gpu.limits.maxComputeWorkgroupStorageSize);
  }

  /** Variants chosen by tuneProducts, by product (tune.ts); none of them changes a result's bits. */
  readonly tuned = new Map<string, TimedChoice>();
  /** How each product runs (kernels.ts, tune.ts); a test may replace it to split small products too. */
  matmulPlan: (p: MatmulParams) => MatmulPlan = (p) =>
    // every product of every step asks: no key is built unless something was tuned
    tunedPlan(p, this.tuned.size > 0 ? this.tuned.get(productKey(p)) : undefined);

  /** With a store, the choices kept there for this GPU and these kernels are used, and new ones added (tune.ts). */
  tuneProducts(products: MatmulParams[], log?: (line: string) => void, store?: TuneStore): Promise<number> {
    return tuneWithStore(this, products, log, store);
  }
  /** Command buffers submitted so far (a training step is one). */
  submissions = 0;
  /** Kernel launches recorded so far. */
  dispatches = 0;

  constructor(ctx: GpuContext) {
    this.gpu = ctx.device;
    this.device = ctx.description;
    this.adapterInfo = ctx.adapter.info;
    this.runner = new KernelRunner(this.gpu);
    const { maxStorageBufferBindingSize: binding, maxBufferSize: size } = this.gpu.limits;
    this.bufferLimit =
      binding <= size
        ? { floats: Math.floor(binding / 4), what: `this GPU's maxStorageBufferBindingSize of ${binding} bytes` }
        : { floats: Math.floor(size / 4), what: `this GPU's maxBufferSize of ${size} bytes` };
    this.gpu.addEventListener('uncapturederror', (e) => {
      this.error ??= new Error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
    });
    void this.gpu.lost.then((info) => {
      this.lost = true;
      this.error ??= new DeviceLostError(info.reason, info.message);
    });
  }

  buffer(length: number, label: string): GpuBuf {
    if (length > this.bufferLimit.floats) throw new RangeError(`${label}: ${length} floats (${length * 4} bytes) exceed ${this.bufferLimit.what}`);
    const size = Math.max(16, Math.ceil((length * 4) / 16) * 16);
    const gpu = this.gpu.createBuffer({ label, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    const b = { id: this.nextId++, gpu, length, label };
    this.live.add(b);
    return b;
  }

  write(buf: GpuBuf, data: ArrayLike<number>, offset = 0): void {
    this.submit();
    const f = Float32Array.from(data as ArrayLike<number>);
    this.gpu.queue.writeBuffer(buf.gpu, offset * 4, f.buffer, f.byteOffset, f.byteLength);
  }

  async read(buf: GpuBuf, offset: number, length: number): Promise<Float64Array> {
    this.submit();
    const bytes = Math.ceil((length * 4) / 4) * 4;
    const staging = this.gpu.createBuffer({ size: Math.max(4, bytes), usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const enc = this.gpu.createCommandEncoder();
    if (bytes > 0) enc.copyBufferToBuffer(buf.gpu, offset * 4, staging, 0, bytes);
    this.gpu.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(MapMode.READ);
    } catch (e) {
      this.check();
      throw e;
    }
    const out = Float64Array.from(new Float32Array(staging.getMappedRange(), 0, length));
    staging.unmap();
    staging.destroy();
    this.check();
    return out;
  }

  copy(src: GpuBuf, so: number, dst: GpuBuf, d: number, n: number): void {
    this.endPass();
    this.encoder ??= this.gpu.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src.gpu, so * 4, dst.gpu, d * 4, n * 4);
  }

  workspace(length: number): GpuBuf {
    if (!this.scratch || this.scratch.length < length) {
      // the work recorded so far may use the old one: it goes when that work is submitted, so that
      // growing the workspace mid-step does not split the step's submission
      if (this.scratch) this.retired.push(this.scratch);
      this.scratch = this.buffer(length, 'workspace');
    }
    return this.scratch;
  }

  run<K extends KernelName>(kernel: K, params: KernelParams[K], buffers: KernelBuffers<GpuBuf>[K]): void {
    this.dispatches++;
    this.encoder ??= this.gpu.createCommandEncoder();
    if (this.timer) {
      // profiling: a pass of its own, stamped at its start and end
      this.endPass();
      const pass = this.encoder.beginComputePass({ timestampWrites: this.timer.next(this.runner.variant(kernel, params), kernelWork(kernel, params)) });
      this.runner.record(pass, kernel, params, buffers);
      pass.end();
      return;
    }
    this.pass ??= this.encoder.beginComputePass();
    this.runner.record(this.pass, kernel, params, buffers);
  }

  /** Whether kernels can be timed on this device (the timestamp-query feature). */
  get canTimeKernels(): boolean {
    return this.gpu.features.has('timestamp-query');
  }

  /** Times each kernel recorded from now until stopTiming() (see timer.ts). */
  startTiming(): void {
    if (!this.canTimeKernels) throw new Error(`kernel timing: ${this.device} has no timestamp-query feature`);
    this.submit();
    this.timer = new KernelTimer(this.gpu);
  }

  /** The GPU time of every kernel recorded since startTiming(), in order. */
  async stopTiming(): Promise<KernelTime[]> {
    const timer = this.timer;
    if (!timer) return [];
    this.submit();
    this.timer = undefined;
    const times = await timer.read();
    this.check();
    return times;
  }

  submit(): void {
    this.flush();
    this.check();
  }

  /** Waits for all submitted work. */
  async sync(): Promise<void> {
    this.submit();
    await this.gpu.queue.onSubmittedWorkDone();
    this.check();
  }

  /**
   * Waits for the device to finish what was submitted, and never throws (for `finally` blocks): a
   * process that exits while SwiftShader still runs submitted work can crash in its teardown.
   */
  async idle(): Promise<void> {
    if (this.lost) return;
    try {
      this.flush();
      await this.gpu.queue.onSubmittedWorkDone();
    } catch {
      // the error that matters is already on its way
    }
  }

  // Freeing never throws: it runs in `finally` blocks, after the error that matters.
  free(buf: GpuBuf): void {
    this.flush();
    this.runner.forget(buf);
    buf.gpu.destroy();
    this.live.delete(buf);
  }
  liveBuffers(): number {
    return this.live.size;
  }
  /** Dispatches prepared so far (uniform buffer + bind group each), which a step reuses rather than adds to. */
  preparedDispatches(): number {
    return this.runner.size;
  }
  inventory(): Map<GpuBuf, { label: string; floats: number }> {
    return new Map([...this.live].map((b) => [b, { label: b.label, floats: b.length }]));
  }
  dispose(): void {
    this.flush();
    for (const b of this.live) b.gpu.destroy();
    this.live.clear();
    this.scratch = undefined;
    this.runner.dispose();
  }

  /** Hands the recorded work to the queue, without reporting earlier errors. */
  private flush(): void {
    this.endPass();
    if (this.encoder) {
      this.gpu.queue.submit([this.encoder.finish()]);
      this.submissions++;
    }
    this.encoder = undefined;
    for (const b of this.retired.splice(0)) this.free(b);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }
  private check(): void {
    if (this.error) throw this.error;
  }
}
