// Checkpoints: one safetensors file holding everything a run needs to continue bit for bit.
//   tensors   the parameters by their PyTorch names (io/stateDict.ts); the optimizer state as
//             `optimizer.<state>.<parameter>` (e.g. optimizer.exp_avg.layers.0.weight); the
//             training losses so far as `train.losses` [step]
//   metadata  format, step, optimizer_t, the run spec (JSON), rng (the generator, seed and epoch
//             that fix the next batches: the epoch order is drawn from seed and epoch alone),
//             backend and device, and the SHA-256 of the tensor bytes (io/safetensors.ts)
// Values are stored as the backend holds them: F64 from the cpu backend, F32 from webgpu, so a
// restore is exact. Reading checks the checksum, the format and every shape against the spec.
import { SpecError } from '../errors.js';
import { layoutSize, paramLayout } from '../nn/layout.js';
import { optimizerConfig, stateNames } from '../optim/optimizer.js';
import type { RunSpec } from '../spec/types.js';
import { validateSpec } from '../spec/validate.js';
import type { SessionState } from '../train/session.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';
import { type Dtype, fromStateDict, toStateDict, typed } from './stateDict.js';

export const CHECKPOINT_FORMAT = 'miya-checkpoint/1';

export interface Checkpoint extends SessionState {
  spec: RunSpec;
  /** Steps done. */
  step: number;
  dtype: Dtype;
  backend: string;
  device: string;
}

/** How the run's randomness continues: written to the metadata so a reader can see it. */
function rngNote(spec: RunSpec, step: number, batchesPerEpoch: number) {
  return {
    generator: 'xoroshiro128+ (pure-rand)', seed: spec.seed ?? 0, shuffle: spec.shuffle ?? false,
    epoch: Math.floor(step / batchesPerEpoch), batchInEpoch: step % batchesPerEpoch,
    derivation: 'initial weights from seed; epoch e order from seed * 1000003 + e + 1',
  };
}

export async function encodeCheckpoint(c: Checkpoint, batchesPerEpoch: number): Promise<Uint8Array> {
  const tensors = toStateDict(c.spec.model, c.params, c.dtype);
  stateNames(c.spec.optimizer.type).forEach((state, i) => {
    for (const p of paramLayout(c.spec.model)) {
      tensors.set(`optimizer.${state}.${p.name}`, { shape: p.shape, data: typed(c.dtype, c.state[i].subarray(p.off, p.off + p.rows * p.cols)) });
    }
  });
  tensors.set('train.losses', { shape: [c.losses.length], data: typed(c.dtype, c.losses) });
  return encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT, step: String(c.step), optimizer_t: String(c.optimizerT),
    spec: JSON.stringify(c.spec), rng: JSON.stringify(rngNote(c.spec, c.step, batchesPerEpoch)),
    backend: c.backend, device: c.device,
  });
}

/** Reads and checks a checkpoint; `what` (the file name) is named in every error. */
export async function decodeCheckpoint(bytes: Uint8Array, what: string): Promise<Checkpoint> {
  const { tensors, metadata: m } = await decodeSafetensors(bytes, what);
  if (m.format !== CHECKPOINT_FORMAT) {
    throw new SpecError(what, `expected a Miya checkpoint (metadata format "${CHECKPOINT_FORMAT}"), got ${m.format === undefined ? 'a file without one' : JSON.stringify(m.format)}; \`miya import\` reads a PyTorch state dict`);
  }
  let spec: RunSpec;
  try {
    spec = validateSpec(JSON.parse(m.spec));
  } catch (e) {
    throw new SpecError(`${what}: metadata.spec`, (e as Error).message);
  }
  const step = Number(m.step), optimizerT = Number(m.optimizer_t);
  if (!Number.isInteger(step) || step < 0) throw new SpecError(`${what}: metadata.step`, `expected an integer ≥ 0, got ${JSON.stringify(m.step)}`);
  const params = fromStateDict(spec.model, tensors, what);
  const n = layoutSize(paramLayout(spec.model));
  const state = stateNames(optimizerConfig(spec.optimizer).type).map((name) => {
    const flat = new Float64Array(n);
    for (const p of paramLayout(spec.model)) flat.set(need(tensors, `optimizer.${name}.${p.name}`, p.shape, what).data, p.off);
    return flat;
  });
  const losses = Float64Array.from(need(tensors, 'train.losses', [step], what).data);
  const dtype: Dtype = tensors.get('train.losses')!.data instanceof Float64Array ? 'F64' : 'F32';
  return { spec, step, dtype, params, state, optimizerT, losses, backend: m.backend ?? '?', device: m.device ?? '?' };
}

function need(tensors: Map<string, Tensor>, name: string, shape: number[], what: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new SpecError(what, `has no tensor ${name}`);
  if (t.shape.join() !== shape.join()) throw new SpecError(what, `${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  return t;
}

/**
 * Refuses to resume `spec` from a checkpoint of another model or optimizer. `what` names the
 * checkpoint. (Learning rate and the like may change between runs, as in PyTorch.)
 */
export function requireResumable(c: Checkpoint, spec: RunSpec, what: string): void {
  const mine = paramLayout(spec.model), theirs = paramLayout(c.spec.model);
  const shape = (ps: typeof mine) => ps.map((p) => `${p.name} [${p.shape.join(', ')}]`).join(', ');
  if (spec.model.type !== c.spec.model.type || shape(mine) !== shape(theirs)) {
    throw new SpecError(what, `holds an ${c.spec.model.type.toUpperCase()} with ${shape(theirs)}; the spec describes an ${spec.model.type.toUpperCase()} with ${shape(mine)}`);
  }
  if (spec.optimizer.type !== c.spec.optimizer.type) {
    throw new SpecError(what, `holds ${c.spec.optimizer.type} optimizer state; the spec asks for ${spec.optimizer.type}`);
  }
}
