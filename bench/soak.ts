// A long run for leaks: `steps` training steps of a small MLP on one backend, sampling every
// 1,000 steps the live buffer count, the prepared dispatches and Node's heap and RSS.
// tests/soak.test.ts holds it to constant memory; `miya bench --soak 10000` prints the samples.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Backend } from '../src/backend.js';
import { loadDataset } from '../src/data/load.js';
import { validateSpec } from '../src/spec/validate.js';
import { Trainer } from '../src/train/trainer.js';

export interface SoakSample {
  step: number;
  liveBuffers: number;
  heapUsed: number;
  rss: number;
  /** dispatches the GPU backend has prepared (uniform buffer + bind group each); 0 on the cpu backend */
  dispatches: number;
}
export interface SoakResult {
  samples: SoakSample[];
  losses: Float64Array;
  finalLoss: number;
  liveBefore: number;
  liveAfterDispose: number;
}

const soakSpec = () =>
  validateSpec({
    model: {
      type: 'mlp',
      inputSize: 4,
      layers: [
        { units: 16, activation: 'tanh' },
        { units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.003 },
    data: {
      x: Array.from({ length: 64 }, (_, i) => Array.from({ length: 4 }, (_, j) => Math.sin(i * 4 + j))),
      y: Array.from({ length: 64 }, (_, i) => [0, 1, 2].map((c) => (Math.sin(i * 4) * 3 + 3 >= 2 * c && Math.sin(i * 4) * 3 + 3 < 2 * c + 2 ? 1 : 0))),
    },
    batchSize: 16,
    shuffle: true,
    seed: 7,
  });

/** A full garbage collection before each sample, so that the heap figure is what is still held. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export async function soak(be: Backend, steps: number): Promise<SoakResult> {
  const spec = soakSpec();
  const liveBefore = be.liveBuffers();
  const trainer = new Trainer(be, spec, await loadDataset(spec), steps);
  const samples: SoakSample[] = [];
  const gc = collector();
  const losses = await trainer.train({
    reportEvery: 250,
    afterStep: (step) => {
      if (step % 1000 !== 0) return;
      gc();
      const m = process.memoryUsage();
      samples.push({ step, liveBuffers: be.liveBuffers(), heapUsed: m.heapUsed, rss: m.rss, dispatches: be.preparedDispatches?.() ?? 0 });
    },
  });
  trainer.dispose();
  return { samples, losses, finalLoss: losses[losses.length - 1], liveBefore, liveAfterDispose: be.liveBuffers() };
}
