// Initial parameters: the spec's weights where it gives them, Glorot-uniform weights and zero
// biases from the seed where it does not. Every weight tensor draws from the seeded stream in
// order whether or not it is given, so a tensor's initial values do not depend on the others.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { ModelSpec } from '../spec/types.js';
import type { ParamTensor } from './network.js';
import { RNN_PARAM_NAMES } from './rnn.js';

/** The spec's explicit weights, by parameter name, flattened row-major. */
export function givenWeights(model: ModelSpec): Map<string, number[]> {
  const m = new Map<string, number[]>();
  if (model.type === 'mlp') {
    model.layers.forEach((l, i) => {
      if (l.weights) m.set(`layers.${i}.weight`, l.weights.flat());
      if (l.bias) m.set(`layers.${i}.bias`, l.bias);
    });
  } else {
    for (const [key, name] of Object.entries(RNN_PARAM_NAMES)) {
      const w = model.weights?.[key as keyof typeof RNN_PARAM_NAMES];
      if (w) m.set(name, (w as (number | number[])[]).flat());
    }
  }
  return m;
}

export function initialParams(model: ModelSpec, params: ParamTensor[], seed: number): Float64Array {
  const size = params.reduce((s, p) => s + p.rows * p.cols, 0);
  const out = new Float64Array(size);
  const given = givenWeights(model);
  const rng = xoroshiro128plus(seed);
  for (const p of params) {
    const isBias = p.shape.length === 1;
    const limit = Math.sqrt(6 / (p.rows + p.cols));
    const n = p.rows * p.cols;
    const values = given.get(p.name);
    for (let i = 0; i < n; i++) {
      const r = isBias ? 0 : (2 * uniformFloat64(rng) - 1) * limit;
      out[p.off + i] = values ? values[i] : r;
    }
  }
  return out;
}
