// Train: an MNIST MLP or the sequential-MNIST RNN on WebGPU or the CPU backend, with the loss and
// held-out accuracy charted as training goes, and a grid of test digits with their predictions.
import { loadDataset, type Progress, Trainer, validateSpec } from '../src/index.js';
import { backendNamed, el, select, webgpu } from './backend.js';
import { LineChart } from './chart.js';
import { trainingSpecs } from './examples.js';

export interface TrainRun { model: string; backend: string; steps?: number; reportEvery?: number }
export interface TrainResult { backend: string; device: string; steps: number; firstLoss: number; lastLoss: number; accuracy?: number; seconds: number }

function drawDigit(pixels: ArrayLike<number>, rows: number): HTMLCanvasElement {
  const c = el('canvas');
  c.width = 28; c.height = 28;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = 255 - Math.round(255 * Math.min(1, Math.max(0, pixels[i] ?? 0)));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  c.title = `${rows} rows`;
  return c;
}

export function setupTrain(root: HTMLElement): { run(r: TrainRun): Promise<TrainResult> } {
  const model = select([['mnist-mlp', 'MNIST MLP 784-128-10'], ['mnist-rnn', 'sequential MNIST RNN (28 steps of 28 pixels)']]);
  const backend = select([['webgpu', 'WebGPU'], ['cpu', 'CPU (float64)']]);
  const steps = Object.assign(el('input'), { type: 'number', min: '1', placeholder: 'all epochs', style: 'width: 7em' });
  const start = el('button', 'Train'), stop = el('button', 'Stop');
  const controls = el('div', '', 'controls');
  controls.append('Model: ', model, 'Backend: ', backend, 'Steps: ', steps, start, stop);
  const stats = el('p', 'Press Train.', 'stats');
  const chartBox = el('div'), digits = el('div', '', 'digits');
  root.append(controls, stats, chartBox, digits);
  const chart = new LineChart(chartBox, 'Training', 'step', [
    { label: 'training loss', color: '#2a7ab9', scale: 'loss' }, { label: 'test accuracy', color: '#e67e22', scale: 'acc' },
  ], [{ scale: 'loss', label: 'loss' }, { scale: 'acc', label: 'accuracy', side: 1 }]);
  let abort: AbortController | undefined;

  async function run(r: TrainRun): Promise<TrainResult> {
    abort?.abort();
    abort = new AbortController();
    chart.clear();
    digits.replaceChildren();
    const spec = validateSpec(trainingSpecs[r.model]);
    stats.textContent = 'Loading MNIST…';
    const data = await loadDataset(spec);
    const be = await backendNamed(r.backend);
    const trainer = new Trainer(be, spec, data, r.steps);
    const t0 = performance.now();
    try {
      const show = (p: Progress) => {
        chart.add(p.step, [p.loss, p.test?.accuracy]);
        stats.textContent = `${be.name} on ${be.device} · epoch ${p.epoch}/${p.epochs} · step ${p.step}/${p.steps} · loss ${p.loss.toFixed(4)}` +
          (p.test ? ` · test accuracy ${(100 * p.test.accuracy).toFixed(1)}%` : '') + ` · ${p.stepsPerSecond.toFixed(1)} steps/s · ETA ${p.etaSeconds.toFixed(0)} s`;
      };
      const losses = await trainer.train({ onProgress: show, reportEvery: r.reportEvery ?? 10, signal: abort.signal });
      const test = await trainer.evaluate();
      chart.add(trainer.step, [losses[losses.length - 1], test.accuracy]);
      const seconds = (performance.now() - t0) / 1000;
      stats.textContent = `${be.name} on ${be.device} · ${trainer.step} steps in ${seconds.toFixed(1)} s · loss ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)} · test accuracy ${(100 * test.accuracy).toFixed(1)}% on ${test.samples} digits`;
      const yhat = await trainer.predict(24);
      const t = data.test!;
      for (let i = 0; i < 24; i++) {
        const row = (v: ArrayLike<number>, o: number) => { let best = 0; for (let c = 1; c < 10; c++) if (v[o + c] > v[o + best]) best = c; return best; };
        const guess = row(yhat, i * 10), truth = row(t.y, i * 10);
        const cell = el('div', '', guess === truth ? 'digit' : 'digit wrong');
        cell.append(drawDigit(t.x.subarray(i * 784, (i + 1) * 784), t.steps), el('div', `${guess}${guess === truth ? '' : ` (${truth})`}`));
        digits.append(cell);
      }
      return { backend: be.name, device: be.device, steps: trainer.step, firstLoss: losses[0], lastLoss: losses[losses.length - 1], accuracy: test.accuracy, seconds };
    } finally {
      trainer.dispose();
      if (be.name === 'cpu') be.dispose();
    }
  }
  start.onclick = () => void run({ model: model.value, backend: backend.value, steps: steps.value ? Number(steps.value) : undefined })
    .catch((e) => { stats.textContent = `Stopped: ${(e as Error).message}`; });
  stop.onclick = () => abort?.abort();
  void webgpu().then((g) => { if (!g) backend.value = 'cpu'; });
  return { run };
}
