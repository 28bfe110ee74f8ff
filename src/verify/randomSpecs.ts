// Small random networks that together cover every activation, loss, optimizer and layer kind, for `verify`.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Act, LossKind } from '../kernels.js';
import { readsSequences } from '../spec/sequential.js';
import type { OptimizerSpec, RunSpec, SequentialLayerSpec } from '../spec/types.js';

const HIDDEN: Act[] = ['sigmoid', 'tanh', 'relu', 'square', 'identity', 'softmax'];
const LOSSES: LossKind[] = ['mse', 'halfMse', 'crossEntropy'];
const OPTIMIZERS: OptimizerSpec[] = [
  { type: 'sgd', lr: 0.1 },
  { type: 'momentum', lr: 0.05, momentum: 0.9 },
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
  const batch = int(1, 5),
    outputs = int(1, 4) + (loss === 'crossEntropy' ? 1 : 0);
  const target = () => {
    if (loss !== 'crossEntropy') return Array.from({ length: outputs }, u);
    const row = new Array(outputs).fill(0);
    row[int(0, outputs - 1)] = 1;
    return row;
  };
  const y = Array.from({ length: batch }, target);
  const common = { loss, optimizer, steps: 2, seed: i, note: `random network ${i + 1}` };
  if (i % 2 === 0) {
    const inputSize = int(1, 6),
      depth = int(1, 3);
    const layers = Array.from({ length: depth }, (_, l) => ({
      units: l === depth - 1 ? outputs : int(2, 7),
      activation: l === depth - 1 ? outputActivation(loss, i >> 1) : HIDDEN[(i / 2 + l) % HIDDEN.length],
    }));
    const x = Array.from({ length: batch }, () => Array.from({ length: inputSize }, u));
    return { model: { type: 'mlp', inputSize, layers }, data: { x, y }, ...common };
  }
  const inputSize = int(1, 4),
    hiddenSize = int(2, 6),
    T = int(1, 5);
  const activation = (['tanh', 'sigmoid', 'relu', 'identity', 'square'] as Act[])[(i >> 1) % 5];
  const x = Array.from({ length: batch }, () => Array.from({ length: T }, () => Array.from({ length: inputSize }, u)));
  return {
    model: { type: 'rnn', inputSize, hiddenSize, outputSize: outputs, activation, outputActivation: outputActivation(loss, i >> 1) },
    data: { x, y },
    ...common,
  };
}

/**
 * The i-th network `miya verify --random` draws: in every three, randomSpec's next MLP and RNN,
 * then a random sequential stack, so N networks cover all three kinds in order.
 */
export function randomNetwork(i: number): RunSpec {
  const k = Math.floor(i / 3);
  return i % 3 === 2 ? randomStack(k) : randomSpec(2 * k + (i % 3));
}

const RECURRENT = ['lstm', 'gru', 'rnn'] as const;

/**
 * The k-th random sequential stack: one to three rnn/lstm/gru layers (an embedding of token ids
 * first in every third, a dense layer acting at every step before or between them in some), then
 * a dense output layer; the last recurrent layer
 * returns sequences in every other stack (targets [batch][T][O]), and a recurrent layer that feeds
 * another always does. Dropout before the output layer in every other stack, and after the
 * embedding in some (gradCheck.ts holds the step's masks fixed). Weights are PyTorch's default
 * initialisation from the seed; no random draw depends on the dropout layers, so the other layers
 * and the data are those of the stacks drawn before dropout was. 2 steps, as randomSpec.
 */
export function randomStack(k: number): RunSpec {
  const rng = xoroshiro128plus(5000 + k);
  const int = (lo: number, hi: number) => uniformInt(rng, lo, hi);
  const u = () => 2 * uniformFloat64(rng) - 1;
  const loss = LOSSES[k % LOSSES.length];
  const optimizer = OPTIMIZERS[k % OPTIMIZERS.length];
  const batch = int(1, 4),
    T = int(1, 4),
    inputSize = int(1, 3),
    outputs = int(1, 3) + (loss === 'crossEntropy' ? 1 : 0);
  const recurrent = k % 4 === 3 ? int(2, 3) : int(1, 3),
    sequences = k % 2 === 0; // k % 4 = 3: a dense layer between two
  const layers: SequentialLayerSpec[] = [];
  // k % 3 = 2: token ids through an embedding first (x [batch][T], inputSize 1)
  const vocab = k % 3 === 2 ? int(2, 5) : 0;
  if (vocab) layers.push({ type: 'embedding', vocab, units: int(2, 3) });
  if (k % 6 === 2) layers.push({ type: 'dropout', rate: 0.5 });
  if (k % 4 === 1) layers.push({ type: 'dense', units: int(2, 4), activation: HIDDEN[k % 3] });
  for (let j = 0; j < recurrent; j++) {
    const type = RECURRENT[(k + j) % RECURRENT.length];
    const last = j === recurrent - 1;
    layers.push({
      type,
      units: int(2, 4),
      returnSequences: last ? sequences : true,
      ...(type === 'rnn' ? { activation: (k + j) % 4 === 3 ? 'relu' : 'tanh' } : {}),
    });
    if (!last && k % 4 === 3) layers.push({ type: 'dense', units: int(2, 4), activation: 'tanh' });
  }
  if (k % 2 === 1) layers.push({ type: 'dropout', rate: 0.3 });
  layers.push({ type: 'dense', units: outputs, activation: outputActivation(loss, k) });
  const row = () => {
    if (loss !== 'crossEntropy') return Array.from({ length: outputs }, u);
    const r = new Array(outputs).fill(0);
    r[int(0, outputs - 1)] = 1;
    return r;
  };
  const x = Array.from({ length: batch }, () => Array.from({ length: T }, () => (vocab ? int(0, vocab - 1) : Array.from({ length: inputSize }, u))));
  const y = Array.from({ length: batch }, () => (sequences ? Array.from({ length: T }, row) : row()));
  return {
    model: { type: 'sequential', inputSize: vocab ? 1 : inputSize, layers },
    data: { x, y } as RunSpec['data'],
    loss,
    optimizer,
    steps: 2,
    seed: k,
    note: `random stack ${k + 1}`,
  };
}

export function describeSpec(s: RunSpec): string {
  const m = s.model;
  const arch =
    m.type === 'mlp'
      ? `mlp ${m.inputSize}-${m.layers.map((l) => `${l.units}${l.activation.slice(0, 4)}`).join('-')}`
      : m.type === 'sequential'
        ? `sequential ${m.inputSize}-${m.layers.map((l) => `${l.type}${'units' in l ? l.units : l.rate}${'returnSequences' in l && l.returnSequences ? 'seq' : ''}`).join('-')}${readsSequences(m) ? ` T${(s.data as { x: unknown[][] }).x[0].length}` : ''}`
        : `rnn ${m.inputSize}-${m.hiddenSize}${m.activation.slice(0, 4)}-${m.outputSize}${m.outputActivation.slice(0, 4)} T${(s.data as { x: unknown[][] }).x[0].length}`;
  const o = s.optimizer;
  return `${arch} ${s.loss} ${o.type}${o.type === 'rmsprop' ? (o.epsInsideSqrt === false ? '(eps out)' : '(eps in)') : ''}`;
}
