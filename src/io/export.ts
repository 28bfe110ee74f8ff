// Hand-off to PyTorch: a checkpoint's parameters as a float32 state dict (model.safetensors, the
// run spec in its metadata) plus miya_model.py, the matching torch.nn module and its loader (MLP,
// RNN, or a sequential model whose layers.i is layer i's own nn.Linear / nn.RNN / nn.LSTM / …), and
// train.py to continue the run there (io/trainPy.ts; float64 throughout with dtype F64); and
// the way back: such a file (trained further in PyTorch or not) as a run spec with its weights.
import { SpecError } from '../errors.js';
import { paramLayout } from '../nn/layout.js';
import type { MlpSpec, RunSpec } from '../spec/types.js';
import { validateSpec } from '../spec/validate.js';
import { shapeParams } from '../train/result.js';
import { type Checkpoint, checkpointFrom, isCheckpointMetadata } from './checkpoint.js';
import torchModule from './pytorch/miya_model.py?raw';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { type Dtype, fromStateDict, toStateDict } from './stateDict.js';
import { trainPyFiles } from './trainPy.js';

export const PYTORCH_FILES = { weights: 'model.safetensors', module: 'miya_model.py' } as const;

/**
 * The files of `miya export --pytorch`, by name: with train.py and its train_state.safetensors
 * (io/trainPy.ts), which continue the run in PyTorch. dtype F64 keeps a cpu checkpoint's float64 values.
 */
export async function pytorchExport(c: Checkpoint, dtype: Dtype = 'F32'): Promise<Map<string, Uint8Array | string>> {
  const weights = await encodeSafetensors(toStateDict(c.spec.model, c.params, dtype), {
    format: 'pytorch',
    spec: JSON.stringify(c.spec),
    step: String(c.step),
    exported_from: `miya ${c.backend} checkpoint`,
  });
  return new Map<string, Uint8Array | string>([[PYTORCH_FILES.weights, weights], [PYTORCH_FILES.module, torchModule], ...(await trainPyFiles(c, dtype))]);
}

/**
 * A run spec carrying the weights of a PyTorch state dict. The spec (model shape, loss, optimizer,
 * data) is `base` if given, else the one in the file's metadata; `what` names the file in errors.
 * A file without a checksum is read (PyTorch writes none), but a Miya checkpoint given here is
 * checked as `--resume` checks it: its checksum must be there, its step must be a step.
 */
export async function importStateDict(bytes: Uint8Array, what: string, base?: unknown): Promise<RunSpec> {
  const file = await decodeSafetensors(bytes, what);
  const { tensors, metadata } = file;
  if (isCheckpointMetadata(metadata)) checkpointFrom(file, what);
  let raw = base;
  if (raw === undefined) {
    if (metadata.spec === undefined) throw new SpecError(what, 'has no Miya spec in its metadata; expected --spec SPEC.json describing the model');
    try {
      raw = JSON.parse(metadata.spec);
    } catch {
      throw new SpecError(`${what}: metadata.spec`, 'expected JSON');
    }
  }
  const spec = validateSpec(raw);
  const flat = fromStateDict(spec.model, tensors, what);
  const layout = paramLayout(spec.model);
  const params = shapeParams(spec.model, layout, flat);
  // an MLP's and a sequential model's params are shaped as their layers ({weights, bias}, {weightIh, …})
  const model =
    spec.model.type !== 'rnn'
      ? { ...spec.model, layers: (spec.model.layers as MlpSpec['layers']).map((l, i) => ({ ...l, ...(params as { layers: MlpSpec['layers'] }).layers[i] })) }
      : { ...spec.model, weights: params };
  return validateSpec({ ...spec, model });
}
