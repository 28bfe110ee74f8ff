// Race: the same model, data and seed on WebGPU and on the CPU backend, a few steps at a time
// on each in turn; the time per step of each is plotted as they go. The race runs in the
// playground's worker (jobs/race.ts); the page plots.
import { el, select, webgpu } from './backend.js';
import { LineChart } from './chart.js';
import { trainingSpecs } from './examples.js';
import type { RaceResult } from './jobs/race.js';
import { runJob } from './run.js';

export type { RaceResult } from './jobs/race.js';

export function setupRace(root: HTMLElement): { run(rounds?: number, stepsPerRound?: number): Promise<RaceResult> } {
  const model = select([
    ['mnist-mlp', 'MNIST MLP 784-128-10'],
    ['mnist-rnn', 'sequential MNIST RNN'],
  ]);
  const start = el('button', 'Race');
  const controls = el('div', '', 'controls');
  controls.append('Model: ', model, start);
  const stats = el('p', 'Press Race.', 'stats');
  const chartBox = el('div');
  root.append(controls, stats, chartBox);
  const chart = new LineChart(
    chartBox,
    'Time per training step',
    'round',
    [
      { label: 'WebGPU ms/step', color: '#2a7ab9' },
      { label: 'CPU ms/step', color: '#7f8c8d' },
    ],
    [{ scale: 'ms', label: 'ms per step' }],
  );

  async function run(rounds = 10, stepsPerRound = 5): Promise<RaceResult> {
    start.disabled = true; // one race at a time
    try {
      return await race(rounds, stepsPerRound);
    } finally {
      start.disabled = false;
    }
  }
  async function race(rounds: number, stepsPerRound: number): Promise<RaceResult> {
    chart.clear();
    stats.textContent = 'Loading the data…';
    // the page decides whether there is WebGPU (its worker has navigator.gpu even where the page has none)
    const gpu = (await webgpu()) !== undefined;
    return runJob(
      'race',
      { spec: trainingSpecs[model.value], rounds, stepsPerRound, gpu },
      {
        onEvent: (r) => {
          chart.add(r.round, [r.gpuMsPerStep, r.cpuMsPerStep]);
          stats.textContent =
            `round ${r.round}/${rounds}: ` +
            (r.gpuMsPerStep !== undefined ? `WebGPU (${r.gpuDevice}) ${r.gpuMsPerStep.toFixed(2)} ms/step, ` : 'no WebGPU, ') +
            `CPU ${r.cpuMsPerStep.toFixed(2)} ms/step` +
            (r.gpuMsPerStep !== undefined ? ` · losses ${r.sameLosses ? 'agree' : 'DIFFER'}` : '');
        },
      },
    );
  }
  start.onclick = () =>
    void run().catch((e) => {
      stats.textContent = `Stopped: ${(e as Error).message}`;
    });
  return { run };
}
