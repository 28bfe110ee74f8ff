// The benchmark cases: matmul shapes and training-step models, full and --quick sizes.
import type { RunSpec } from '../src/spec/types.js';

export interface MatmulCase { suite: 'matmul'; name: string; M: number; N: number; K: number }
export interface StepCase { suite: 'mlp' | 'rnn' | 'small'; name: string; spec: RunSpec; flopsPerStep: number; steps: number }
export type BenchCase = MatmulCase | StepCase;

const mm = (M: number, N: number, K: number): MatmulCase => ({ suite: 'matmul', name: `${M}x${N}x${K}`, M, N, K });

function mlpCase(inputs: number, hidden: number, depth: number, outputs: number, batch: number): StepCase {
  const layers = [...Array(depth).fill(hidden), outputs].map((units, i) => ({ units, activation: i === depth ? 'identity' : 'sigmoid' }));
  const sizes = [inputs, ...layers.map((l) => l.units)];
  let macs = 0;
  for (let i = 1; i < sizes.length; i++) macs += sizes[i - 1] * sizes[i];
  const x = [Array(inputs).fill(0.5)], y = [Array(outputs).fill(0.1)];
  return {
    suite: 'mlp', name: `${inputs}-${hidden}x${depth}-${outputs} b${batch}`, steps: 10, flopsPerStep: 6 * batch * macs,
    spec: { model: { type: 'mlp', inputSize: inputs, layers } as RunSpec['model'], loss: 'mse', optimizer: { type: 'rmsprop', lr: 1e-3 }, data: { x, y }, batchSize: batch, seed: 1 },
  };
}

function rnnCase(inputs: number, hidden: number, T: number, batch: number): StepCase {
  const macs = T * (inputs * hidden + hidden * hidden) + hidden * 10;
  return {
    suite: 'rnn', name: `in${inputs} h${hidden} T${T} b${batch}`, steps: 5, flopsPerStep: 6 * batch * macs,
    spec: {
      model: { type: 'rnn', inputSize: inputs, hiddenSize: hidden, outputSize: 10, activation: 'tanh', outputActivation: 'identity' },
      loss: 'mse', optimizer: { type: 'rmsprop', lr: 1e-3 }, data: { x: [[Array(inputs).fill(0.5)]], y: [Array(10).fill(0.1)] }, batchSize: batch, seed: 1,
    },
  };
}

export function benchCases(quick: boolean): BenchCase[] {
  const matmul = quick ? [mm(128, 128, 128), mm(256, 256, 256), mm(100, 77, 51)]
    : [256, 512, 1024, 2048, 4096, 8192].map((n) => mm(n, n, n)).concat([mm(1000, 777, 513)]);
  const mlp = quick ? [mlpCase(64, 128, 2, 32, 32)] : [mlpCase(256, 1024, 2, 256, 256), mlpCase(1024, 4096, 3, 1024, 1024)];
  const rnn = quick ? [rnnCase(16, 32, 8, 8)] : [rnnCase(64, 256, 32, 64), rnnCase(256, 1024, 64, 256)];
  const small: StepCase = { ...mlpCase(3, 3, 1, 1, 1), suite: 'small', name: 'worked example 3-3-1, batch 1', steps: quick ? 100 : 1000 };
  return [...matmul, ...mlp, ...rnn, small];
}
