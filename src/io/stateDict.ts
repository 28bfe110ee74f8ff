// A model's parameters as a PyTorch state dict (name → tensor) and back. The names and shapes are
// those of the torch.nn module in pytorch/miya_model.py: `layers.i.weight` [out][in] and
// `layers.i.bias` for an MLP; `rnn.weight_ih_l0`, `rnn.weight_hh_l0`, `rnn.bias_ih_l0`,
// `rnn.bias_hh_l0`, `head.weight`, `head.bias` for an RNN; `layers.i.<name>` for a sequential
// model, each layer kind's names as its torch.nn module has them (src/nn/layout.ts, LAYER_PARAMS).
// Miya's RNN has one hidden bias; it is written as bias_ih_l0 with bias_hh_l0 zero, and on reading
// the two are added (PyTorch trains both). A sequential model's recurrent layers have both.
import { SpecError } from '../errors.js';
import { layoutSize, paramLayout } from '../nn/layout.js';
import type { ModelSpec } from '../spec/types.js';
import type { Tensor } from './safetensors.js';

const EXTRA_RNN_BIAS = 'rnn.bias_hh_l0';

export type Dtype = 'F32' | 'F64';
/** Values as a tensor of the given dtype. */
export const typed = (dtype: Dtype, v: ArrayLike<number>) => (dtype === 'F64' ? Float64Array.from(v) : Float32Array.from(v));

/** flat: every parameter in Miya's layout order. */
export function toStateDict(model: ModelSpec, flat: Float64Array, dtype: Dtype): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const p of paramLayout(model)) {
    out.set(p.name, { shape: p.shape, data: typed(dtype, flat.subarray(p.off, p.off + p.rows * p.cols)) });
    if (model.type === 'rnn' && p.name === 'rnn.bias_ih_l0') out.set(EXTRA_RNN_BIAS, { shape: p.shape, data: typed(dtype, new Float64Array(p.cols)) });
  }
  return out;
}

/** The flat parameters of `model` from a state dict; `what` names the file in errors. */
export function fromStateDict(model: ModelSpec, tensors: Map<string, Tensor>, what: string): Float64Array {
  const layout = paramLayout(model);
  const flat = new Float64Array(layoutSize(layout));
  for (const p of layout) {
    const t = tensors.get(p.name);
    if (!t) throw new SpecError(what, `has no tensor ${p.name} (the model needs ${layout.map((q) => q.name).join(', ')})`);
    requireShape(what, p.name, t.shape, p.shape);
    flat.set(t.data, p.off);
    if (model.type === 'rnn' && p.name === 'rnn.bias_ih_l0') {
      const hh = tensors.get(EXTRA_RNN_BIAS);
      if (hh) {
        requireShape(what, EXTRA_RNN_BIAS, hh.shape, p.shape);
        for (let i = 0; i < p.cols; i++) flat[p.off + i] += hh.data[i];
      }
    }
  }
  return flat;
}

function requireShape(what: string, name: string, got: number[], want: number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new SpecError(what, `${name} has shape [${got.join(', ')}], but this model's is [${want.join(', ')}]: the file is from a model of another shape`);
  }
}
