// Initial parameters: the spec's weights where it gives them, Glorot-uniform weights and zero
// biases from the seed where it does not. Every weight tensor draws from the seeded stream in
// order whether or not it is given, so a tensor's initial values do not depend on the others.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { ModelSpec, SequentialSpec } from '../spec/types.js';
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
  } else if (model.type === 'sequential') {
    model.layers.forEach((l, i) => {
      if (l.type === 'dropout') return;
      const given: [string, number[] | number[][] | undefined][] =
        l.type === 'dense'
          ? [
              ['weight', l.weights],
              ['bias', l.bias],
            ]
          : l.type === 'embedding'
            ? [['weight', l.weights]]
            : [
                ['weight_ih_l0', l.weightIh],
                ['weight_hh_l0', l.weightHh],
                ['bias_ih_l0', l.biasIh],
                ['bias_hh_l0', l.biasHh],
              ];
      for (const [name, w] of given) if (w) m.set(`layers.${i}.${name}`, w.flat());
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
  const bounds = model.type === 'sequential' ? sequentialBounds(model) : undefined;
  for (const p of params) {
    if (bounds) {
      // PyTorch's defaults: every tensor (biases too) uniform in ±bound, drawn whether given or not
      const n = p.rows * p.cols,
        values = given.get(p.name),
        k = bounds.get(p.name)!;
      for (let i = 0; i < n; i++) {
        // 'normal': nn.Embedding's N(0, 1), by Box–Muller from two uniforms (1 − u > 0)
        const r =
          k === 'normal' ? Math.sqrt(-2 * Math.log(1 - uniformFloat64(rng))) * Math.cos(2 * Math.PI * uniformFloat64(rng)) : (2 * uniformFloat64(rng) - 1) * k;
        out[p.off + i] = values ? values[i] : r;
      }
      continue;
    }
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

/**
 * PyTorch's default initialisation bound of each tensor of a sequential model: nn.RNN/LSTM/GRU
 * draw every tensor from U(−1/√H, 1/√H); nn.Linear's kaiming_uniform_(a = √5) weight and its bias
 * both come to U(−1/√in, 1/√in); nn.Embedding's weight is N(0, 1) ('normal').
 */
function sequentialBounds(model: SequentialSpec): Map<string, number | 'normal'> {
  const out = new Map<string, number | 'normal'>();
  let inSize = model.inputSize;
  model.layers.forEach((l, i) => {
    if (l.type === 'dropout') return;
    if (l.type === 'embedding') {
      out.set(`layers.${i}.weight`, 'normal');
      inSize = l.units;
      return;
    }
    const names = l.type === 'dense' ? ['weight', 'bias'] : ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'];
    const k = 1 / Math.sqrt(l.type === 'dense' ? inSize : l.units);
    for (const n of names) out.set(`layers.${i}.${n}`, k);
    inSize = l.units;
  });
  return out;
}
