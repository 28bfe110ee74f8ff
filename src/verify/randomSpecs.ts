// Small random networks that together cover every activation, loss and optimizer, for `verify`.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Act, LossKind } from '../kernels.js';
import type { OptimizerSpec, RunSpec } from '../spec/types.js';

const HIDDEN: Act[] = ['sigmoid', 'tanh', 'relu', 'square', 'identity', 'softmax'];
const LOSSES: LossKind[] = ['mse', 'halfMse', 'crossEntropy'];
const OPTIMIZERS: OptimizerSpec[] = [
  { type: 'sgd', lr: 0.1 }, { type: 'momentum', lr: 0.05, momentum: 0.9 },
  { type: 'rmsprop', lr: 0.01, rho: 0.9, eps: 1e-8, epsInsideSqrt: true },
  { type: 'rmsprop', lr: 0.01, rho: 0.99, eps: 1e-6, epsInsideSqrt: false },
  { type: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
];

function outputActivation(loss: LossKind, i: number): Act {
  if (loss === 'crossEntropy') return i % 2 === 0 ? 'softmax' : 'identity';
  return (['identity', 'sigmoid', 'tanh', 'softmax'] as Act[])[i % 4];
}

/** The i-th random spec: even i an MLP, odd i an RNN; 2 steps so optimizer state is exercised. */
export function randomSpec(i: number): RunSpec {
  const rng = xoroshiro128plus(1000 + i);
  const int = (lo: number, hi: number) => uniformInt(rng, lo, hi);
  const u = () => 2 * uniformFloat64(rng) - 1;
  const loss = LOSSES[i % LOSSES.length];
  const optimizer = OPTIMIZERS[Math.floor(i / 2) % OPTIMIZERS.length];
  const batch = int(1, 5), outputs = int(1, 4) + (loss === 'crossEntropy' ? 1 : 0);
  const target = () => {
    if (loss !== 'crossEntropy') return Array.from({ length: outputs }, u);
    const row = new Array(outputs).fill(0);
    row[int(0, outputs - 1)] = 1;
    return row;
  };
  const y = Array.from({ length: batch }, target);
  const common = { loss, optimizer, steps: 2, seed: i, note: `random network ${i + 1}` };
  if (i % 2 === 0) {
    const inputSize = int(1, 6), depth = int(1, 3);
    const layers = Array.from({ length: depth }, (_, l) => ({
      units: l === depth - 1 ? outputs : int(2, 7),
      activation: l === depth - 1 ? outputActivation(loss, i >> 1) : HIDDEN[(i / 2 + l) % HIDDEN.length],
    }));
    const x = Array.from({ length: batch }, () => Array.from({ length: inputSize }, u));
    return { model: { type: 'mlp', inputSize, layers }, data: { x, y }, ...common };
  }
  const inputSize = int(1, 4), hiddenSize = int(2, 6), T = int(1, 5);
  const activation = (['tanh', 'sigmoid', 'relu', 'identity', 'square'] as Act[])[(i >> 1) % 5];
  const x = Array.from({ length: batch }, () => Array.from({ length: T }, () => Array.from({ length: inputSize }, u)));
  return {
    model: { type: 'rnn', inputSize, hiddenSize, outputSize: outputs, activation, outputActivation: outputActivation(loss, i >> 1) },
    data: { x, y }, ...common,
  };
}

export function describeSpec(s: RunSpec): string {
  const m = s.model;
  const arch = m.type === 'mlp'
    ? `mlp ${m.inputSize}-${m.layers.map((l) => `${l.units}${l.activation.slice(0, 4)}`).join('-')}`
    : m.type === 'sequential' ? `sequential ${m.inputSize}-${m.layers.map((l) => `${l.type}${l.units}`).join('-')}`
    : `rnn ${m.inputSize}-${m.hiddenSize}${m.activation.slice(0, 4)}-${m.outputSize}${m.outputActivation.slice(0, 4)} T${(s.data as { x: unknown[][] }).x[0].length}`;
  const o = s.optimizer;
  return `${arch} ${s.loss} ${o.type}${o.type === 'rmsprop' ? (o.epsInsideSqrt === false ? '(eps out)' : '(eps in)') : ''}`;
}
