// The one place that turns kernel descriptions (kernels.ts) into GPU work: it compiles each
// variant's pipeline once, creates each dispatch's uniform buffer and bind group once (keyed by
// the parameters and the buffers), and records dispatches into a compute pass.
import type { KernelBuffers, KernelName, KernelParams } from '../kernels.js';
import { gpuKernels, type KernelSpec } from './kernels.js';
import { shaderSource } from './shaders.js';
import { BufferUsage } from './flags.js';

export interface GpuBuf {
  id: number;
  gpu: GPUBuffer;
  length: number;
  label: string;
}

interface Prepared {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  uniform: GPUBuffer;
  data: ArrayBuffer;
  /** every buffer given (the key names them all) */
  ids: number[];
  workgroups: [number, number, number];
}

export class KernelRunner {
  private pipelines = new Map<string, GPUComputePipeline>();
  private prepared = new Map<string, Prepared>();
  private lastPass?: GPUComputePassEncoder;
  private lastPipeline?: GPUComputePipeline;
  constructor(private device: GPUDevice) {}

  /** The kernel's variant: its name and the compile-time flags set, e.g. matmul:HAS_BIAS,TILE_BIG. */
  variant<K extends KernelName>(kernel: K, p: KernelParams[K]): string {
    return variantName(kernel, (gpuKernels[kernel] as KernelSpec<K>).flags(p));
  }

  record<K extends KernelName>(pass: GPUComputePassEncoder, kernel: K, p: KernelParams[K], bufs: KernelBuffers<GpuBuf>[K]): void {
    const spec = gpuKernels[kernel] as KernelSpec<K>;
    // A step records the same dispatches every time: the key is built from the parameters and
    // buffers as they are, and only a dispatch not seen before computes flags, variant, bindings
    // and uniforms (14 µs of JavaScript a dispatch on a 2-core machine, against 2 µs with the key).
    const key = dispatchKey(kernel, spec, p, bufs);
    let prep = this.prepared.get(key);
    if (!prep) {
      prep = this.prepare(kernel, spec, p, bufs);
      this.prepared.set(key, prep);
    } else if (spec.dynamic) {
      const data = packUniforms(spec, p);
      if (!sameBytes(prep.data, data)) {
        this.device.queue.writeBuffer(prep.uniform, 0, data);
        prep.data = data;
      }
    }
    // consecutive dispatches of one variant (an RNN's time steps) keep the pass's pipeline
    if (pass !== this.lastPass || prep.pipeline !== this.lastPipeline) pass.setPipeline(prep.pipeline);
    this.lastPass = pass;
    this.lastPipeline = prep.pipeline;
    pass.setBindGroup(0, prep.bindGroup);
    pass.dispatchWorkgroups(prep.workgroups[0], prep.workgroups[1], prep.workgroups[2]);
  }

  private prepare<K extends KernelName>(kernel: K, spec: KernelSpec<K>, p: KernelParams[K], bufs: KernelBuffers<GpuBuf>[K]): Prepared {
    const flags = spec.flags(p);
    const variant = variantName(kernel, flags);
    const given = bufs as Record<string, GpuBuf | undefined>;
    const entries = (spec.used?.(p) ?? Object.keys(spec.bindings)).map((name): [string, GpuBuf] => {
      const b = given[name];
      if (!b) throw new Error(`${kernel}: buffer ${name} is needed by this variant but was not given`);
      return [name, b];
    });
    let pipeline = this.pipelines.get(variant);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label: variant, code: shaderSource(spec.files, flags) });
      pipeline = this.device.createComputePipeline({ label: variant, layout: 'auto', compute: { module, entryPoint: spec.entry } });
      this.pipelines.set(variant, pipeline);
    }
    const data = packUniforms(spec, p);
    const uniform = this.device.createBuffer({ label: variant + ' params', size: data.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    this.device.queue.writeBuffer(uniform, 0, data);
    const bindGroup = this.device.createBindGroup({
      label: variant,
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: uniform } }, ...entries.map(([name, b]) => ({ binding: spec.bindings[name], resource: { buffer: b.gpu } }))],
    });
    const ids = Object.values(given).flatMap((b) => (b ? [b.id] : []));
    return { pipeline, bindGroup, uniform, data, ids, workgroups: spec.workgroups(p) };
  }

  /** How many dispatches are prepared (each with its uniform buffer and bind group). */
  get size(): number {
    return this.prepared.size;
  }

  /** Drops the cached dispatches that bind a buffer about to be destroyed. */
  forget(buf: GpuBuf): void {
    for (const [key, prep] of this.prepared) {
      if (prep.ids.includes(buf.id)) {
        prep.uniform.destroy();
        this.prepared.delete(key);
      }
    }
  }

  dispose(): void {
    for (const p of this.prepared.values()) p.uniform.destroy();
    this.prepared.clear();
  }
}

/**
 * Every parameter (but those written before each submission) and every buffer given, as they
 * are: equal keys mean equal parameters, hence the same variant, uniforms, bindings and dispatch.
 * (Two call sites that list the same parameters in another order only cost a second entry.)
 */
function dispatchKey<K extends KernelName>(kernel: K, spec: KernelSpec<K>, p: KernelParams[K], bufs: KernelBuffers<GpuBuf>[K]): string {
  let key = kernel + '|';
  const params = p as unknown as Record<string, unknown>;
  for (const f in params) if (!spec.dynamic?.includes(f as never)) key += f + '=' + params[f] + ',';
  const given = bufs as Record<string, GpuBuf | undefined>;
  for (const name in given) {
    const b = given[name];
    if (b) key += name + b.id + ',';
  }
  return key;
}

const variantName = (kernel: string, flags: Record<string, boolean>) =>
  kernel +
  ':' +
  Object.keys(flags)
    .filter((f) => flags[f])
    .sort()
    .join(',');

function packUniforms<K extends KernelName>(spec: KernelSpec<K>, p: KernelParams[K]): ArrayBuffer {
  const bytes = Math.ceil((spec.uniforms.length * 4) / 16) * 16;
  const data = new ArrayBuffer(bytes);
  const dv = new DataView(data);
  spec.uniforms.forEach(([name, type], i) => {
    const v = Number(p[name] ?? 0); // optional fields (a matmul's splits) are 0 when absent
    if (type === 'f32') dv.setFloat32(i * 4, v, true);
    else dv.setUint32(i * 4, v, true);
  });
  return data;
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  const x = new Uint32Array(a),
    y = new Uint32Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
