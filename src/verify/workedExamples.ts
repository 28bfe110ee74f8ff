// The hand-worked stories as run specs with their expected numbers (examples/*.json).
import gru from '../../examples/one-gru-step.json';
import linear from '../../examples/linear-half-mse.json';
import lstm from '../../examples/one-lstm-step.json';
import mlp from '../../examples/mlp-3-3-1-sigmoid.json';
import rnn from '../../examples/rnn-3-day-bptt.json';
import rmsprop from '../../examples/single-neuron-rmsprop.json';
import sgd from '../../examples/single-neuron-sgd.json';

/** [tensor, index, the number as a person wrote it] */
export type Printed = [string, number, string];
export interface Expect {
  loss: number;
  tensors?: Record<string, number[]>;
  grads?: Record<string, number[]>;
  params?: Record<string, number[]>;
  state?: Record<string, number[]>;
  printed?: Printed[];
}

export const workedExamples: { name: string; spec: unknown }[] = [
  { name: 'single-neuron-sgd', spec: sgd },
  { name: 'single-neuron-rmsprop', spec: rmsprop },
  { name: 'mlp-3-3-1-sigmoid', spec: mlp },
  { name: 'linear-half-mse', spec: linear },
  { name: 'rnn-3-day-bptt', spec: rnn },
  { name: 'one-lstm-step', spec: lstm },
  { name: 'one-gru-step', spec: gru },
];

/** True when `value` shows as `text` at text's precision (rounded, or cut as the stories sometimes do). */
export function matchesPrinted(value: number, text: string): boolean {
  const decimals = (text.split('.')[1] ?? '').length;
  const unit = 10 ** -decimals;
  return Math.abs(value - Number(text)) < unit * (1 + 1e-9);
}
