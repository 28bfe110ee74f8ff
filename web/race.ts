// Race: the same model, data and seed on WebGPU and on the CPU backend, a few steps at a time
// on each in turn; the time per step of each is plotted as they go.
import { type Backend, CpuBackend, loadDataset, Trainer, validateSpec } from '../src/index.js';
import { el, select, webgpu } from './backend.js';
import { LineChart } from './chart.js';
import { trainingSpecs } from './examples.js';

export interface RaceResult { rounds: number; gpuMsPerStep?: number; cpuMsPerStep: number; sameLosses: boolean }

async function timeSteps<B>(t: Trainer<B>, from: number, k: number): Promise<{ ms: number; losses: Float64Array }> {
  const s = t.session, nb = s.batches.length;
  const t0 = performance.now();
  for (let i = from; i < from + k; i++) s.step(s.batches[i % nb], i);
  const losses = await s.readLosses(from, k); // waits for the device
  return { ms: (performance.now() - t0) / k, losses };
}

export function setupRace(root: HTMLElement): { run(rounds?: number, stepsPerRound?: number): Promise<RaceResult> } {
  const model = select([['mnist-mlp', 'MNIST MLP 784-128-10'], ['mnist-rnn', 'sequential MNIST RNN']]);
  const start = el('button', 'Race');
  const controls = el('div', '', 'controls');
  controls.append('Model: ', model, start);
  const stats = el('p', 'Press Race.', 'stats');
  const chartBox = el('div');
  root.append(controls, stats, chartBox);
  const chart = new LineChart(chartBox, 'Time per training step', 'round', [
    { label: 'WebGPU ms/step', color: '#2a7ab9' }, { label: 'CPU ms/step', color: '#7f8c8d' },
  ], [{ scale: 'ms', label: 'ms per step' }]);

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
    const spec = validateSpec(trainingSpecs[model.value]);
    const data = await loadDataset(spec);
    const steps = rounds * stepsPerRound;
    const gpu: Backend | undefined = await webgpu();
    const cpu = new CpuBackend();
    const trainers = [gpu ? new Trainer(gpu, spec, data, steps) : undefined, new Trainer(cpu, spec, data, steps)];
    const last: (number | undefined)[] = [undefined, undefined];
    let same = true;
    try {
      for (let r = 0; r < rounds; r++) {
        const results: ({ ms: number; losses: Float64Array } | undefined)[] = [];
        for (const t of trainers) results.push(t ? await timeSteps(t, r * stepsPerRound, stepsPerRound) : undefined);
        results.forEach((x, i) => { last[i] = x?.ms; });
        if (results[0]) same &&= results[0].losses.every((l, i) => Math.abs(l - results[1]!.losses[i]) <= 1e-3 * Math.abs(results[1]!.losses[i]));
        chart.add(r + 1, last);
        stats.textContent = `round ${r + 1}/${rounds}: ` + (gpu ? `WebGPU (${gpu.device}) ${last[0]!.toFixed(2)} ms/step, ` : 'no WebGPU, ') +
          `CPU ${last[1]!.toFixed(2)} ms/step` + (gpu ? ` · losses ${same ? 'agree' : 'DIFFER'}` : '');
      }
      return { rounds, gpuMsPerStep: last[0], cpuMsPerStep: last[1]!, sameLosses: same };
    } finally {
      for (const t of trainers) t?.dispose();
      cpu.dispose();
    }
  }
  start.onclick = () => void run().catch((e) => { stats.textContent = `Stopped: ${(e as Error).message}`; });
  return { run };
}
