// Checkpoints: one safetensors file holding everything a run needs to continue bit for bit.
//   tensors   the parameters by their PyTorch names (io/stateDict.ts); the optimizer state as
//             `optimizer.<state>.<parameter>` (e.g. optimizer.exp_avg.layers.0.weight); the
//             training losses so far as `train.losses` [step]; the training controls' state
//             (src/train/controls.ts): every step's learning rate `train.lrs` [step] (F64), the
//             held-out evaluations after each epoch `train.evaluations` [k][3] (epoch, loss,
//             accuracy or −1), early stopping's best parameters `early_stopping.best.<parameter>`
//   metadata  format, step, optimizer_t, the run spec (JSON), rng (the generator, seed and epoch
//             that fix the next batches: the epoch order is drawn from seed and epoch alone),
//             controls (JSON: the plateau schedule's rate, best and bad epochs; early stopping's
//             best, best epoch, bad epochs and whether it stopped; absent in older checkpoints),
//             vocabulary (JSON: a text model's characters, token i the i-th; src/data/text.ts),
//             backend and device, and the SHA-256 of the header and the tensor bytes (io/safetensors.ts)
// Values are stored as the backend holds them: F64 from the cpu backend, F32 from webgpu, so a
// restore is exact. Reading checks the file as untrusted input: its layout (io/safetensors.ts),
// a checksum that must be there and cover the header, the format, the step and optimizer_t, every
// shape against the spec, and that no value is NaN or Inf (Miya never writes one).
// Format 2 is format 1 with the checksum over the header too. A format-1 file (an older Miya's)
// is still read, so that no user's run is lost to an upgrade: it must carry its checksum of the
// tensor bytes, and its header passes the same layout checks; the next checkpoint written is
// format 2. What its checksum cannot catch is a deliberate edit of its header that keeps the
// layout valid (two tensors' offsets swapped).
import { nonFiniteText, SpecError } from '../errors.js';
import { layoutSize, paramLayout } from '../nn/layout.js';
import { optimizerConfig, stateNames } from '../optim/optimizer.js';
import type { RunSpec } from '../spec/types.js';
import { validateSpec } from '../spec/validate.js';
import type { SessionState } from '../train/session.js';
import type { ControlState } from '../train/controls.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensors, type Tensor } from './safetensors.js';
import { type Dtype, fromStateDict, toStateDict, typed } from './stateDict.js';

export const CHECKPOINT_FORMAT = 'miya-checkpoint/2';
/** The format of older Miya versions, whose checksum covers the tensor bytes only. */
const FORMAT_1 = 'miya-checkpoint/1';

/** Whether safetensors metadata says the file is a Miya checkpoint (of any version). */
export const isCheckpointMetadata = (m: Record<string, string>): boolean => m.format?.startsWith('miya-checkpoint/') ?? false;

export interface Checkpoint extends SessionState {
  spec: RunSpec;
  /** Steps done. */
  step: number;
  dtype: Dtype;
  backend: string;
  device: string;
  /** A text model's vocabulary (src/data/text.ts): token i is vocabulary[i]; metadata "vocabulary" (JSON), what `miya sample` reads */
  vocabulary?: string[];
}

/** How the run's randomness continues: written to the metadata so a reader can see it. */
function rngNote(spec: RunSpec, step: number, batchesPerEpoch: number) {
  return {
    generator: 'xoroshiro128+ (pure-rand)',
    seed: spec.seed ?? 0,
    shuffle: spec.shuffle ?? false,
    epoch: Math.floor(step / batchesPerEpoch),
    batchInEpoch: step % batchesPerEpoch,
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
  const extra: Record<string, string> = {};
  if (c.controls) {
    const k = c.controls;
    // rates in float64 whatever the backend: they were computed on the host in float64
    if (k.lrs.length > 0) tensors.set('train.lrs', { shape: [k.lrs.length], data: Float64Array.from(k.lrs) });
    if (k.evaluations.length > 0) {
      tensors.set('train.evaluations', {
        shape: [k.evaluations.length, 3],
        data: Float64Array.from(k.evaluations.flatMap((e) => [e.epoch, e.loss, e.accuracy ?? -1])),
      });
    }
    if (k.bestParams) {
      for (const p of paramLayout(c.spec.model))
        tensors.set(`early_stopping.best.${p.name}`, { shape: p.shape, data: typed(c.dtype, k.bestParams.subarray(p.off, p.off + p.rows * p.cols)) });
    }
    extra.controls = JSON.stringify(controlsNote(k));
  }
  return encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(c.step),
    optimizer_t: String(c.optimizerT),
    spec: JSON.stringify(c.spec),
    rng: JSON.stringify(rngNote(c.spec, c.step, batchesPerEpoch)),
    backend: c.backend,
    device: c.device,
    ...extra,
    ...(c.vocabulary ? { vocabulary: JSON.stringify(c.vocabulary) } : {}),
  });
}

/** The controls' counters as JSON (Infinity, a best not yet seen, as null). */
function controlsNote(k: ControlState) {
  const fin = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    plateau: k.plateau && { lr: k.plateau.lr, best: fin(k.plateau.best), bad: k.plateau.bad },
    earlyStopping: k.earlyStopping && { ...k.earlyStopping, best: fin(k.earlyStopping.best) },
  };
}

/** The controls' state of a checkpoint, checked; an older checkpoint's (no `controls` metadata) is every step at the spec's rate. */
function controlsFrom(tensors: Map<string, Tensor>, m: Record<string, string>, spec: RunSpec, step: number, n: number, what: string): ControlState {
  const at = `${what}: metadata.controls`;
  const lrs = tensors.has('train.lrs') ? Float64Array.from(need(tensors, 'train.lrs', [step], what).data) : new Float64Array(step).fill(spec.optimizer.lr);
  if (m.controls === undefined) return { lrs, evaluations: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(m.controls);
  } catch {
    throw new SpecError(at, 'expected JSON');
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, Record<string, unknown> | undefined>;
  const num = (v: unknown, key: string, ok: (x: number) => boolean, expected: string): number => {
    if (typeof v !== 'number' || !ok(v)) throw new SpecError(`${at}.${key}`, `expected ${expected}, got ${JSON.stringify(v)}`);
    return v;
  };
  const count = (v: unknown, key: string) => num(v, key, (x) => Number.isSafeInteger(x) && x >= 0, 'an integer ≥ 0');
  const best = (v: unknown, key: string) => (v === null ? Infinity : num(v, key, Number.isFinite, 'a finite number or null'));
  const out: ControlState = { lrs, evaluations: [] };
  const ev = tensors.get('train.evaluations');
  if (ev) {
    if (ev.shape.length !== 2 || ev.shape[1] !== 3) throw new SpecError(what, `train.evaluations has shape [${ev.shape.join(', ')}], expected [epochs, 3]`);
    for (let i = 0; i < ev.shape[0]; i++) {
      const [epoch, loss, acc] = [ev.data[3 * i], ev.data[3 * i + 1], ev.data[3 * i + 2]];
      if (!Number.isSafeInteger(epoch) || epoch < 1) throw new SpecError(what, `train.evaluations[${i}][0] is ${epoch}; expected an epoch ≥ 1`);
      out.evaluations.push(acc === -1 ? { epoch, loss } : { epoch, loss, accuracy: acc });
    }
  }
  if (o.plateau) {
    out.plateau = {
      lr: num(o.plateau.lr, 'plateau.lr', (x) => Number.isFinite(x) && x > 0, 'a finite rate > 0'),
      best: best(o.plateau.best, 'plateau.best'),
      bad: count(o.plateau.bad, 'plateau.bad'),
    };
  }
  const es = o.earlyStopping;
  if (es) {
    if (typeof es.stopped !== 'boolean') throw new SpecError(`${at}.earlyStopping.stopped`, `expected true or false, got ${JSON.stringify(es.stopped)}`);
    out.earlyStopping = {
      best: best(es.best, 'earlyStopping.best'),
      bestEpoch: count(es.bestEpoch, 'earlyStopping.bestEpoch'),
      bad: count(es.bad, 'earlyStopping.bad'),
      stopped: es.stopped,
      ...(es.stoppedEpoch === undefined ? {} : { stoppedEpoch: count(es.stoppedEpoch, 'earlyStopping.stoppedEpoch') }),
    };
  }
  const layout = paramLayout(spec.model); // empty for a model of parameterless layers (dropout alone): nothing best to keep
  if (layout.length > 0 && tensors.has(`early_stopping.best.${layout[0].name}`)) {
    const flat = new Float64Array(n);
    for (const p of layout) flat.set(need(tensors, `early_stopping.best.${p.name}`, p.shape, what).data, p.off);
    out.bestParams = flat;
  }
  return out;
}

/** Reads and checks a checkpoint; `what` (the file name) is named in every error. */
export async function decodeCheckpoint(bytes: Uint8Array, what: string): Promise<Checkpoint> {
  return checkpointFrom(await decodeSafetensors(bytes, what), what);
}

/** A decoded safetensors file as a checkpoint, checked; `what` (the file name) is named in every error. */
export function checkpointFrom({ tensors, metadata: m, checksum }: SafeTensors, what: string): Checkpoint {
  if (m.format !== CHECKPOINT_FORMAT && m.format !== FORMAT_1) {
    throw new SpecError(
      what,
      `expected a Miya checkpoint (metadata format "${CHECKPOINT_FORMAT}"), got ${m.format === undefined ? 'a file without one' : JSON.stringify(m.format)}; \`miya import\` reads a PyTorch state dict`,
    );
  }
  if (m.format === FORMAT_1) {
    if (checksum === 'none')
      throw new SpecError(`${what}: metadata.sha256`, 'missing; every Miya checkpoint carries a checksum: the file was edited or damaged');
  } else if (checksum !== 'header+body') {
    // a checkpoint is always written with a checksum over its header and tensors: any other is an edited file
    throw new SpecError(
      `${what}: metadata.sha256`,
      checksum === 'none'
        ? 'missing; every Miya checkpoint carries the checksum of its header and tensors: the file was edited or damaged'
        : 'covers the tensor bytes but not the header: the file was edited',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(m.spec ?? '');
  } catch {
    throw new SpecError(`${what}: metadata.spec`, `expected the run spec as JSON, got ${m.spec === undefined ? 'nothing' : 'something else'}`);
  }
  let spec: RunSpec;
  try {
    spec = validateSpec(raw);
  } catch (e) {
    throw new SpecError(`${what}: metadata.spec`, (e as Error).message);
  }
  const step = count(m, 'step', what);
  // every step advances the optimizer once (Optimizer.t), whichever it is
  const optimizerT = count(m, 'optimizer_t', what);
  if (optimizerT !== step)
    throw new SpecError(`${what}: metadata.optimizer_t`, `expected ${step}, the step (the optimizer counts the steps taken), got ${optimizerT}`);
  for (const [name, t] of tensors) {
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new SpecError(what, `${name}[${bad}] is ${nonFiniteText(t.data[bad])}; Miya never writes a checkpoint with NaN or Inf`);
  }
  const params = fromStateDict(spec.model, tensors, what);
  const n = layoutSize(paramLayout(spec.model));
  const state = stateNames(optimizerConfig(spec.optimizer).type).map((name) => {
    const flat = new Float64Array(n);
    for (const p of paramLayout(spec.model)) flat.set(need(tensors, `optimizer.${name}.${p.name}`, p.shape, what).data, p.off);
    return flat;
  });
  const losses = Float64Array.from(need(tensors, 'train.losses', [step], what).data);
  const dtype: Dtype = tensors.get('train.losses')!.data instanceof Float64Array ? 'F64' : 'F32';
  const controls = controlsFrom(tensors, m, spec, step, n, what);
  const vocabulary = m.vocabulary === undefined ? undefined : vocabularyOf(m.vocabulary, spec, what);
  return {
    spec,
    step,
    dtype,
    params,
    state,
    optimizerT,
    losses,
    controls,
    backend: m.backend ?? '?',
    device: m.device ?? '?',
    ...(vocabulary ? { vocabulary } : {}),
  };
}

/** A metadata count: decimal digits, no sign, no leading zero, a safe integer. */
function count(m: Record<string, string>, key: string, what: string): number {
  const v = m[key];
  if (v === undefined || !/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new SpecError(`${what}: metadata.${key}`, `expected an integer ≥ 0, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  }
  return Number(v);
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
  const mine = paramLayout(spec.model),
    theirs = paramLayout(c.spec.model);
  const shape = (ps: typeof mine) => ps.map((p) => `${p.name} [${p.shape.join(', ')}]`).join(', ');
  if (spec.model.type !== c.spec.model.type || shape(mine) !== shape(theirs)) {
    throw new SpecError(
      what,
      `holds an ${c.spec.model.type.toUpperCase()} with ${shape(theirs)}; the spec describes an ${spec.model.type.toUpperCase()} with ${shape(mine)}`,
    );
  }
  if (spec.optimizer.type !== c.spec.optimizer.type) {
    throw new SpecError(what, `holds ${c.spec.optimizer.type} optimizer state; the spec asks for ${spec.optimizer.type}`);
  }
}

/**
 * Refuses to resume a text model on a text of other characters: token i means the checkpoint's
 * vocabulary[i], so other data would train each id on another character. `what` names the checkpoint.
 */
export function requireSameVocabulary(c: Checkpoint, vocabulary: string[] | undefined, what: string): void {
  if (!c.vocabulary || !vocabulary || c.vocabulary.join('') === vocabulary.join('')) return;
  const chars = (v: string[]) => JSON.stringify(v.join(''));
  throw new SpecError(
    what,
    `holds a text model of the ${c.vocabulary.length} characters ${chars(c.vocabulary)}; data.text has the ${vocabulary.length} characters ${chars(vocabulary)}: resume on the text it was trained on`,
  );
}

/** metadata.vocabulary: a JSON list of distinct single characters, as many as the model's embedding has ids. */
function vocabularyOf(raw: string, spec: RunSpec, what: string): string[] {
  const at = `${what}: metadata.vocabulary`;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new SpecError(at, 'expected a JSON list of characters');
  }
  const first = spec.model.type === 'sequential' ? spec.model.layers[0] : undefined;
  const V = first?.type === 'embedding' ? first.vocab : -1;
  if (!Array.isArray(v) || v.length !== V || !v.every((c) => typeof c === 'string' && Array.from(c).length === 1) || new Set(v).size !== v.length) {
    throw new SpecError(
      at,
      `expected a list of ${V < 0 ? 'characters for a model that starts with an embedding' : `${V} distinct characters (model.layers[0].vocab)`}: the file was edited or damaged`,
    );
  }
  return v as string[];
}
