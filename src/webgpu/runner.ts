// The one place that turns kernel descriptions (kernels.ts) into GPU work: it compiles each
// variant's pipeline once, creates each dispatch's uniform buffer and bind group once (keyed by
// the variant, the uniform values and the buffers), and records dispatches into a compute pass.
import type { KernelBuffers, KernelName, KernelParams } from '../kernels.js';
import { gpuKernels, type KernelSpec } from './kernels.js';
import { shaderSource } from './shaders.js';

export interface GpuBuf { id: number; gpu: GPUBuffer; length: number; label: string }

interface Prepared { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; uniform: GPUBuffer; data: ArrayBuffer; ids: number[] }

export class KernelRunner {
  private pipelines = new Map<string, GPUComputePipeline>();
  private prepared = new Map<string, Prepared>();
  constructor(private device: GPUDevice) {}

  /** The kernel's variant: its name and the compile-time flags set, e.g. matmul:HAS_BIAS,TILE_BIG. */
  variant<K extends KernelName>(kernel: K, p: KernelParams[K]): string {
    return variantName(kernel, (gpuKernels[kernel] as KernelSpec<K>).flags(p));
  }

  record<K extends KernelName>(pass: GPUComputePassEncoder, kernel: K, p: KernelParams[K], bufs: KernelBuffers<GpuBuf>[K]): void {
    const spec = gpuKernels[kernel] as KernelSpec<K>;
    const flags = spec.flags(p);
    const variant = variantName(kernel, flags);
    const data = packUniforms(spec, p);
    const given = bufs as Record<string, GpuBuf | undefined>;
    const used = spec.used?.(p) ?? Object.keys(spec.bindings);
    const entries = used.map((name): [string, GpuBuf] => {
      const b = given[name];
      if (!b) throw new Error(`${kernel}: buffer ${name} is needed by this variant but was not given`);
      return [name, b];
    });
    const dynamic = new Set<string>(spec.dynamic ?? []);
    const staticValues = spec.uniforms.filter(([u]) => !dynamic.has(u)).map(([u]) => String(p[u]));
    const key = `${variant}|${staticValues.join(',')}|${entries.map(([n, b]) => n + b.id).join(',')}`;
    let prep = this.prepared.get(key);
    if (!prep) {
      prep = this.prepare(spec, variant, flags, entries, data);
      this.prepared.set(key, prep);
    } else if (dynamic.size > 0 && !sameBytes(prep.data, data)) {
      this.device.queue.writeBuffer(prep.uniform, 0, data);
      prep.data = data;
    }
    pass.setPipeline(prep.pipeline);
    pass.setBindGroup(0, prep.bindGroup);
    const [x, y, z] = spec.workgroups(p);
    pass.dispatchWorkgroups(x, y, z);
  }

  private prepare<K extends KernelName>(spec: KernelSpec<K>, variant: string, flags: Record<string, boolean>,
    entries: [string, GpuBuf][], data: ArrayBuffer): Prepared {
    let pipeline = this.pipelines.get(variant);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label: variant, code: shaderSource(spec.files, flags) });
      pipeline = this.device.createComputePipeline({ label: variant, layout: 'auto', compute: { module, entryPoint: spec.entry } });
      this.pipelines.set(variant, pipeline);
    }
    const uniform = this.device.createBuffer({ label: variant + ' params', size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(uniform, 0, data);
    const bindGroup = this.device.createBindGroup({
      label: variant,
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: uniform } },
        ...entries.map(([name, b]) => ({ binding: spec.bindings[name], resource: { buffer: b.gpu } }))],
    });
    return { pipeline, bindGroup, uniform, data, ids: entries.map(([, b]) => b.id) };
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

const variantName = (kernel: string, flags: Record<string, boolean>) => kernel + ':' + Object.keys(flags).filter((f) => flags[f]).sort().join(',');

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
  const x = new Uint32Array(a), y = new Uint32Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
