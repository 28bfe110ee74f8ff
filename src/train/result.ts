// Shapes flat parameter buffers back into the spec's form, and the non-finite guard.
import { NonFiniteError } from '../errors.js';
import type { ParamTensor } from '../nn/network.js';
import { RNN_PARAM_NAMES } from '../nn/rnn.js';
import type { ModelSpec } from '../spec/types.js';

export type Shaped = number[] | number[][];
export type ParamsJson =
  | { layers: { weights: number[][]; bias: number[] }[] }
  | Record<string, Shaped>
  /** a sequential model's: each layer's tensors under its spec keys ({weights, bias} or {weightIh, weightHh, biasIh, biasHh}) */
  | { layers: Record<string, Shaped>[] };

export function tensorValues(flat: Float64Array, p: ParamTensor): Shaped {
  const v = Array.from(flat.subarray(p.off, p.off + p.rows * p.cols));
  if (p.shape.length === 1) return v;
  return Array.from({ length: p.rows }, (_, r) => v.slice(r * p.cols, (r + 1) * p.cols));
}

/** MLP: {layers: [{weights, bias}]}, like model.layers; RNN: {inputWeights, …}, like model.weights. */
export function shapeParams(model: ModelSpec, params: ParamTensor[], flat: Float64Array): ParamsJson {
  const byName = new Map(params.map((p) => [p.name, tensorValues(flat, p)]));
  if (model.type === 'sequential') {
    const keys = { weight: 'weights', bias: 'bias', weight_ih_l0: 'weightIh', weight_hh_l0: 'weightHh', bias_ih_l0: 'biasIh', bias_hh_l0: 'biasHh' };
    return {
      layers: model.layers.map((_, i) =>
        Object.fromEntries(
          Object.entries(keys).flatMap(([torch, key]) => {
            const v = byName.get(`layers.${i}.${torch}`);
            return v ? [[key, v]] : [];
          }),
        ),
      ),
    };
  }
  if (model.type === 'mlp') {
    return {
      layers: model.layers.map((_, i) => ({ weights: byName.get(`layers.${i}.weight`) as number[][], bias: byName.get(`layers.${i}.bias`) as number[] })),
    };
  }
  return Object.fromEntries(Object.entries(RNN_PARAM_NAMES).map(([k, name]) => [k, byName.get(name)!]));
}

/** Throws NonFiniteError for the first NaN/Inf in a tensor of `flat`. */
export function guardFinite(step: number, params: ParamTensor[], flat: Float64Array, suffix = ''): void {
  for (const p of params) {
    for (let i = p.off; i < p.off + p.rows * p.cols; i++) {
      if (!Number.isFinite(flat[i])) throw new NonFiniteError(step, p.name + suffix, flat[i]);
    }
  }
}
