// Continuing a run in PyTorch (ARCHITECTURE.md, "Continuing in PyTorch"): what `miya export
// --pytorch DIR` adds beside model.safetensors and miya_model.py. train.py (pytorch/train.py, plain
// Python) is the same for every run; what is particular to the run is in train_state.safetensors:
//   tensors   the optimizer's state under torch.optim's names, `state.<parameter>.<exp_avg |
//             exp_avg_sq | momentum_buffer | square_avg>`; the losses so far `train.losses`; as the
//             checkpoint keeps them (io/checkpoint.ts), every step's rate `train.lrs`, the held-out
//             evaluations `train.evaluations` [k][3] (epoch, loss, accuracy or −1) and early
//             stopping's best parameters `early_stopping.best.<parameter>`
//   metadata  step, optimizer_t (Adam's and RMSprop's `step`), dtype, params (the trained
//             parameters' names in Miya's layout order: the optimizer's param list), controls (the
//             plateau's and early stopping's counters, null for a best not yet seen)
// For MNIST data the digits file Miya reads (data/mnist.ts) is copied beside them, so that DIR is
// whole on another machine. The batches' order is not written: train.py draws it as Miya does.
import { MNIST_FILE, mnistFileBytes } from '../data/mnistFile.js';
import { paramLayout } from '../nn/layout.js';
import { stateNames } from '../optim/optimizer.js';
import type { Checkpoint } from './checkpoint.js';
import trainScript from './pytorch/train.py?raw';
import { encodeSafetensors, type Tensor } from './safetensors.js';
import { type Dtype, typed } from './stateDict.js';

export const TRAIN_FILES = { script: 'train.py', state: 'train_state.safetensors', mnist: MNIST_FILE } as const;

export const TRAIN_STATE_FORMAT = 'miya-train-state/1';

/** Miya's optimizer state names (src/optim/optimizer.ts stateNames) as torch.optim's. */
const TORCH_STATE: Record<string, string> = { velocity: 'momentum_buffer', square_avg: 'square_avg', exp_avg: 'exp_avg', exp_avg_sq: 'exp_avg_sq' };

function torchStateName(miya: string): string {
  const name = TORCH_STATE[miya];
  if (!name) throw new Error(`train.py: no torch.optim name for the optimizer state "${miya}"`);
  return name;
}

/** train.py and train_state.safetensors for checkpoint `c`, its values written in `dtype`. */
export async function trainPyFiles(c: Checkpoint, dtype: Dtype): Promise<Map<string, Uint8Array | string>> {
  const layout = paramLayout(c.spec.model);
  const tensors = new Map<string, Tensor>();
  stateNames(c.spec.optimizer.type).forEach((miya, i) => {
    for (const p of layout) {
      tensors.set(`state.${p.name}.${torchStateName(miya)}`, { shape: p.shape, data: typed(dtype, c.state[i].subarray(p.off, p.off + p.rows * p.cols)) });
    }
  });
  tensors.set('train.losses', { shape: [c.losses.length], data: typed(dtype, c.losses) });
  const metadata: Record<string, string> = {
    format: TRAIN_STATE_FORMAT,
    step: String(c.step),
    optimizer_t: String(c.optimizerT),
    dtype,
    params: JSON.stringify(layout.map((p) => p.name)),
    exported_from: `miya ${c.backend} checkpoint`,
  };
  const k = c.controls;
  if (k) {
    // the rates in float64 whatever the dtype: Miya computes them on the host in float64
    if (k.lrs.length > 0) tensors.set('train.lrs', { shape: [k.lrs.length], data: Float64Array.from(k.lrs) });
    if (k.evaluations.length > 0) {
      tensors.set('train.evaluations', {
        shape: [k.evaluations.length, 3],
        data: Float64Array.from(k.evaluations.flatMap((e) => [e.epoch, e.loss, e.accuracy ?? -1])),
      });
    }
    if (k.bestParams) {
      for (const p of layout)
        tensors.set(`early_stopping.best.${p.name}`, { shape: p.shape, data: typed(dtype, k.bestParams.subarray(p.off, p.off + p.rows * p.cols)) });
    }
    const fin = (v: number) => (Number.isFinite(v) ? v : null);
    metadata.controls = JSON.stringify({
      plateau: k.plateau && { ...k.plateau, best: fin(k.plateau.best) },
      earlyStopping: k.earlyStopping && { ...k.earlyStopping, best: fin(k.earlyStopping.best) },
    });
  }
  const files = new Map<string, Uint8Array | string>([
    [TRAIN_FILES.script, trainScript],
    [TRAIN_FILES.state, await encodeSafetensors(tensors, metadata)],
  ]);
  if ('dataset' in c.spec.data && c.spec.data.dataset === 'mnist') files.set(TRAIN_FILES.mnist, await mnistFileBytes());
  return files;
}
