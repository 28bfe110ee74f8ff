import type { KernelBuffers, KernelName, KernelParams, MatmulParams, MatmulPlan, MatmulTile } from './kernels.js';
import type { TuneStore } from './tuneStore.js';

/**
 * What nn/ needs of a device: flat float buffers and the kernels of src/kernels.ts.
 * The cpu backend runs each kernel at once in float64; the webgpu backend records it into the
 * current command encoder and submits the whole step at `submit()`.
 */
export interface Backend<B = unknown> {
  readonly name: 'cpu' | 'webgpu';
  /** The arithmetic its kernels compute in: the cpu reference in float64, GPUs in float32. */
  readonly precision: 'f64' | 'f32';
  /** The device in words, e.g. "NVIDIA H100 (vulkan)" or "CPU float64". */
  readonly device: string;
  /** The most floats one buffer may hold, and the limit that says so, in words. */
  readonly bufferLimit: { floats: number; what: string };
  buffer(length: number, label: string): B;
  write(buf: B, data: ArrayLike<number>, offset?: number): void;
  read(buf: B, offset: number, length: number): Promise<Float64Array>;
  copy(src: B, srcOffset: number, dst: B, dstOffset: number, length: number): void;
  run<K extends KernelName>(kernel: K, params: KernelParams[K], buffers: KernelBuffers<B>[K]): void;
  /** The GPU tile shapes this device can run (its workgroup memory); absent: all (the cpu ignores them). */
  matmulTiles?(): readonly MatmulTile[];
  /** How this backend runs a product (split-K, a separate epilogue pass); absent: one pass. */
  matmulPlan?(p: MatmulParams): MatmulPlan;
  /**
   * Times the variants of these products (as matmulPlan was asked about them) that cannot change
   * a result's bits, and keeps the fastest for each (webgpu: see webgpu/tune.ts); `log` is told
   * each choice in words. With a store, choices kept there for this device are used, and new
   * ones added. Returns how many products were timed.
   */
  tuneProducts?(products: MatmulParams[], log?: (line: string) => void, store?: TuneStore): Promise<number>;
  /**
   * A scratch buffer of at least `length` floats that the backend keeps between calls (split-K
   * partial products); what it holds lasts from one kernel to the next, not across steps.
   */
  workspace(length: number): B;
  /** Ends the work recorded so far (one training step) and hands it to the device. */
  submit(): void;
  free(buf: B): void;
  /** GPU backends: waits for submitted work to finish, never throwing (before a process exits on an error). */
  idle?(): Promise<void>;
  /** Number of live buffers (for leak tests). */
  liveBuffers(): number;
  /** GPU backends: dispatches prepared so far, each with its uniform buffer and bind group (for leak tests). */
  preparedDispatches?(): number;
  /** Every live buffer with its label and length in floats (for memory accounting). */
  inventory(): Map<B, { label: string; floats: number }>;
  dispose(): void;
}

/** A matrix inside a flat buffer: `rows` × `cols`, row-major, starting at element `off`. */
export interface View<B = unknown> {
  buf: B;
  off: number;
  rows: number;
  cols: number;
}
export const view = <B>(buf: B, off: number, rows: number, cols: number): View<B> => ({ buf, off, rows, cols });
