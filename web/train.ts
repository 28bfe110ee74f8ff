// Train: an MNIST MLP, the sequential-MNIST RNN, the character LSTM or the user's own run spec (with
// its CSV or text) on WebGPU or the CPU backend, with the loss and held-out accuracy charted as
// training goes, the learning rate of every step in a small chart below (the schedule's), and early
// stopping marked on the loss chart (the epoch it stopped after, and the best epoch, whose
// parameters it restored); for MNIST a grid of test digits with their predictions, for a character
// model the text it generates every few steps, for other data a table of targets and predictions.
// With "tune", WebGPU's products are tuned first, the choices kept per GPU in IndexedDB (tuneStore.ts).
// A checkpoint goes to IndexedDB every CHECKPOINT_EVERY steps and at the end; Resume continues
// from it (bit for bit on the same backend), Download saves it as a file for the CLI, and
// Download for PyTorch saves what `miya export --pytorch` writes, but MNIST's 3 MB digits file:
// model.safetensors, miya_model.py, train.py and train_state.safetensors (train.py continues the
// run; it takes --mnist FILE, Miya's dist/mnist-digits.bin.gz), and the page's own text for its
// character model (a user's own data files are on their disk already).
// The buttons follow the state: Train and Resume while no run is going (Resume, Download only with a
// checkpoint to use), Stop during one. Stop ends the run after the step in progress, as Ctrl-C does
// the CLI's: the display stops at once, says "Stopped at step N", and a checkpoint is kept for Resume.
// The run itself (jobs/train.ts) goes on in the playground's worker, so the page stays interactive;
// "Run in: this page" runs the same job on the page instead, to show what the worker spares it.
import { decodeCheckpoint, type EarlyStoppingResult, type EpochRecord, type Evaluation, type Progress, pytorchExport } from '../src/index.js';
import { TRAIN_FILES } from '../src/io/trainPy.js';
import { el, select, webgpu } from './backend.js';
import { download, storedCheckpoint } from './checkpoints.js';
import { LineChart, type Mark } from './chart.js';
import { trainingFiles, trainingSpecs } from './examples.js';
import type { Sample, Shown, TrainEvent } from './jobs/train.js';
import { type OwnSpec, readChosenFiles } from './ownSpec.js';
import { predictionsTable } from './predictions.js';
import { runJob, type Where } from './run.js';

export interface TrainRun {
  /** One of the page's models, or the name of the user's own spec (its checkpoints are kept under it). */
  model: string;
  backend: string;
  steps?: number;
  reportEvery?: number;
  /** The user's own run spec, and the data files it names (by file name). */
  spec?: unknown;
  files?: Record<string, string>;
  /** WebGPU: tune the step's products first (as `miya train --tune`), the choices kept in IndexedDB. */
  tune?: boolean;
  /** Continue from the model's checkpoint in IndexedDB. */
  resume?: boolean;
  checkpointEvery?: number;
  /** Train in the playground's worker (the default, and the "Run in" choice's), or on the page itself. */
  where?: Where;
  /** A character model: a sample every this many steps (and at the end), this many characters long. */
  sampleEvery?: number;
  sampleLength?: number;
}
export interface TrainResult {
  backend: string;
  device: string;
  steps: number;
  firstLoss: number;
  lastLoss: number;
  seconds: number;
  /** Every step's training loss. */
  losses: number[];
  /** Stopped (Stop, or stop()) before its last step: `steps` is where it stopped; no held-out evaluation. */
  stopped?: boolean;
  /** On held-out samples, where the data has them: the loss, and accuracy for one-hot classes. */
  testLoss?: number;
  accuracy?: number;
  /** What tuning chose (or found kept from an earlier run), a line a product. */
  tuned: string[];
  where: Where;
  /** Every step's learning rate; per epoch the mean loss, held-out loss and rate; the steps of an epoch. */
  lrs: number[];
  history: EpochRecord[];
  batchesPerEpoch: number;
  /** With earlyStopping: where it stopped and which epoch's parameters the run ended with. */
  earlyStopping?: EarlyStoppingResult;
  /** A character model's samples as they were shown. */
  samples: Sample[];
}

function drawDigit(pixels: ArrayLike<number>, rows: number): HTMLCanvasElement {
  const c = el('canvas');
  c.width = 28;
  c.height = 28;
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

/** The test digits with the model's guesses, or the first samples' targets beside its predictions. */
function showResults(into: HTMLElement, s: Shown): void {
  if (s.kind === 'table') {
    into.append(predictionsTable(s.yhat, s.y, s.rows, s.outputs));
    return;
  }
  s.guesses.forEach((guess, i) => {
    const truth = s.truths[i];
    const cell = el('div', '', guess === truth ? 'digit' : 'digit wrong');
    cell.append(drawDigit(s.pixels.subarray(i * 784, (i + 1) * 784), s.rows), el('div', `${guess}${guess === truth ? '' : ` (${truth})`}`));
    into.append(cell);
  });
}

/** "test accuracy 93.1%" for classes, "test loss 0.0123" otherwise. */
const heldOut = (e: Evaluation) => (e.accuracy !== undefined ? `test accuracy ${(100 * e.accuracy).toFixed(1)}%` : `test loss ${e.loss.toFixed(4)}`);

/** What early stopping did, in words: where it stopped, and whose parameters the model now holds. */
function earlyStoppingText(e: EarlyStoppingResult, restoreBest: boolean): string {
  const best = `epoch ${e.bestEpoch}'s (held-out loss ${e.bestLoss.toPrecision(4)})`;
  const why = restoreBest ? "a run shorter than its spec's steps keeps its last parameters, for Resume" : 'restoreBest is false';
  const params = e.restored ? `the parameters are ${best}, restored` : `the best was ${best}, not restored (${why})`;
  return e.stoppedEpoch !== undefined ? `early stopping after epoch ${e.stoppedEpoch}: ${params}` : `early stopping did not stop the run; ${params}`;
}

/** The loss chart's marks for early stopping: the step it stopped after, and the best epoch's last step. */
function earlyStoppingMarks(e: EarlyStoppingResult, batchesPerEpoch: number): Mark[] {
  const marks: Mark[] = [];
  if (e.stoppedEpoch !== undefined)
    marks.push({ x: e.stoppedEpoch * batchesPerEpoch, label: `early stop: epoch ${e.stoppedEpoch}`, color: '#c0392b', kind: 'early-stop' });
  marks.push({
    x: e.bestEpoch * batchesPerEpoch,
    label: `best: epoch ${e.bestEpoch}${e.restored ? ' (restored)' : ''}`,
    color: '#27ae60',
    dashed: true,
    kind: 'best-epoch',
  });
  return marks;
}

/** A character model's sample, as the samples box shows it. */
function sampleView(s: Sample): HTMLElement {
  const box = el('div', '', 'sample');
  box.dataset.step = String(s.step);
  box.append(el('div', `after step ${s.step}${s.restored ? " (the best epoch's parameters, restored)" : ''}:`), el('pre', s.text));
  return box;
}

export interface TrainMode {
  run(r: TrainRun): Promise<TrainResult>;
  /** Stops the run in progress after its current step (the Stop button). */
  stop(): void;
  /** The step of the model's stored checkpoint, if there is one. */
  saved(model: string): Promise<number | undefined>;
  /** Downloads the model's stored checkpoint; returns the file name. */
  download(model: string): Promise<string>;
  /** Downloads the stored checkpoint as PyTorch files (model.safetensors, miya_model.py, train.py, train_state.safetensors); returns their names. */
  downloadPytorch(model: string): Promise<string[]>;
  /** What the charts show: the loss chart's and the rate chart's points (x first) and the loss chart's marks. */
  charts(): { loss: ReturnType<LineChart['shown']>; lr: ReturnType<LineChart['shown']> };
}

export function setupTrain(root: HTMLElement): TrainMode {
  const model = select([
    ['mnist-mlp', 'MNIST MLP 784-128-10'],
    ['mnist-rnn', 'sequential MNIST RNN (28 steps of 28 pixels)'],
    ['char-lstm', 'character LSTM on the GNU GPL (text)'],
  ]);
  const backend = select([
    ['webgpu', 'WebGPU'],
    ['cpu', 'CPU (float64)'],
  ]);
  const steps = Object.assign(el('input'), { type: 'number', min: '1', placeholder: 'all epochs', style: 'width: 7em' });
  const start = el('button', 'Train'),
    stop = el('button', 'Stop');
  start.dataset.action = 'train';
  stop.dataset.action = 'stop';
  const tune = Object.assign(el('input'), {
    type: 'checkbox',
    checked: false,
    title: "time each product's variants on this GPU first, as miya train --tune; the choices are kept in this browser",
  });
  const resume = el('button', 'Resume'),
    save = el('button', 'Download checkpoint'),
    torch = el('button', 'Download for PyTorch');
  resume.dataset.action = 'resume';
  save.dataset.action = 'download';
  torch.dataset.action = 'pytorch';
  const where = select([
    ['worker', 'a worker (the page stays responsive)'],
    ['page', 'this page (for comparison: its frames stall)'],
  ]);
  where.title = "where the training runs: the playground's worker, or the page itself for comparison";
  const chooser = Object.assign(el('input'), {
    type: 'file',
    multiple: true,
    accept: '.json,.csv,.txt',
    title: 'a run spec (.json) and the CSV or text file it names',
  });
  const controls = el('div', '', 'controls'),
    ownControls = el('div', '', 'controls');
  const tuneLabel = el('label');
  tuneLabel.append(tune, ' tune');
  controls.append('Model: ', model, 'Backend: ', backend, tuneLabel, 'Steps: ', steps, 'Run in: ', where, start, stop, resume, save, torch);
  ownControls.append('Or your own run spec (the .json and the CSV or text file it names): ', chooser);
  const stats = el('p', 'Press Train.', 'stats');
  const saved = el('p', '', 'stats');
  const chartBox = el('div'),
    lrBox = el('div', '', 'lr-chart'),
    digits = el('div', '', 'digits'),
    tuneLog = el('pre');
  const samples = el('div', '', 'samples');
  root.append(controls, ownControls, stats, saved, tuneLog, chartBox, lrBox, samples, digits);
  const chart = new LineChart(
    chartBox,
    'Training',
    'step',
    [
      { label: 'training loss', color: '#2a7ab9', scale: 'loss' },
      { label: 'test accuracy', color: '#e67e22', scale: 'acc' },
      { label: 'test loss', color: '#8e44ad', scale: 'loss' },
    ],
    [
      { scale: 'loss', label: 'loss' },
      { scale: 'acc', label: 'accuracy', side: 1 },
    ],
  );
  const lrChart = new LineChart(
    lrBox,
    'Learning rate',
    'step',
    [{ label: 'learning rate', color: '#16a085', scale: 'lr' }],
    [{ scale: 'lr', label: 'lr' }],
    170,
  );
  let abort: AbortController | undefined;
  /** The run in progress (a new one waits for it to stop), and whether the chosen model has a stored checkpoint. */
  let current: Promise<unknown> | undefined,
    stopping = false,
    hasCheckpoint = false;
  function refresh(): void {
    const running = current !== undefined;
    start.disabled = running;
    stop.disabled = !running || stopping;
    resume.disabled = running || !hasCheckpoint;
    save.disabled = torch.disabled = !hasCheckpoint;
    for (const c of [model, backend, tune, steps, where, chooser]) c.disabled = running;
  }
  function stopRun(): void {
    if (!current || !abort || abort.signal.aborted) return;
    abort.abort();
    stopping = true;
    stats.textContent = 'Stopping after the step in progress…';
    refresh();
  }

  async function run(r: TrainRun): Promise<TrainResult> {
    // one run at a time: a second one stops the first and waits for it (its checkpoint saved)
    while (current) {
      abort?.abort();
      await current.catch(() => undefined);
    }
    if (model.value !== r.model && [...model.options].some((o) => o.value === r.model)) {
      model.value = r.model; // the page shows what runs
      void showSaved(r.model);
    }
    const going = train(r);
    current = going;
    stopping = false;
    refresh();
    try {
      return await going;
    } finally {
      current = undefined;
      stopping = false;
      refresh();
    }
  }

  async function train(r: TrainRun): Promise<TrainResult> {
    abort = new AbortController();
    const signal = abort.signal;
    chart.clear();
    lrChart.clear();
    digits.replaceChildren();
    samples.replaceChildren();
    tuneLog.textContent = '';
    const spec = r.spec ?? trainingSpecs[r.model];
    if (spec === undefined) throw new Error(`no model named ${r.model}`);
    const files = r.files ?? trainingFiles[r.model];
    const runIn = r.where ?? (where.value as Where);
    where.value = runIn;
    // the page decides: a worker has navigator.gpu even where the page has none
    const gpu = r.backend === 'webgpu' && (await webgpu()) !== undefined;
    let be = { backend: '', device: '' };
    const show = (p: Progress) => {
      chart.add(p.step, [p.loss, p.test?.accuracy, p.test?.loss]);
      lrChart.add(p.step, [p.lr]);
      stats.textContent =
        `${be.backend} on ${be.device} · epoch ${p.epoch}/${p.epochs} · step ${p.step}/${p.steps} · loss ${p.loss.toFixed(4)}` +
        (p.test ? ` · ${heldOut(p.test)}` : '') +
        ` · ${p.stepsPerSecond.toFixed(1)} steps/s · ETA ${p.etaSeconds.toFixed(0)} s`;
    };
    const onEvent = (e: TrainEvent) => {
      if (e.type === 'saved') void showSaved(r.model);
      else if (signal.aborted)
        return; // stopped: the display stops now, not when the run catches up
      else if (e.type === 'status') stats.textContent = e.text;
      else if (e.type === 'tuned') tuneLog.textContent += e.line + '\n';
      else if (e.type === 'start') be = e;
      else if (e.type === 'sample') samples.append(sampleView(e.sample));
      else show(e.progress);
    };
    const o = await runJob(
      'train',
      {
        model: r.model,
        spec,
        backend: gpu ? 'webgpu' : 'cpu',
        steps: r.steps,
        reportEvery: r.reportEvery,
        files,
        tune: r.tune,
        resume: r.resume,
        checkpointEvery: r.checkpointEvery,
        sampleEvery: r.sampleEvery,
        sampleLength: r.sampleLength,
      },
      { onEvent, signal },
      runIn,
    );
    const losses = o.losses,
      first = losses[0] ?? NaN,
      last = losses[losses.length - 1] ?? NaN;
    const result: TrainResult = {
      backend: o.backend,
      device: o.device,
      steps: o.steps,
      firstLoss: first,
      lastLoss: last,
      losses,
      seconds: o.seconds,
      tuned: o.tuned,
      where: runIn,
      lrs: o.lrs,
      history: o.history,
      batchesPerEpoch: o.batchesPerEpoch,
      earlyStopping: o.earlyStopping,
      samples: o.samples,
    };
    // every step's rate, now that the run has them all (the progress reports drew one every few steps)
    lrChart.set(
      o.lrs.map((_v, i) => i + 1),
      [o.lrs],
    );
    if (o.stopped) {
      if (losses.length === 0) {
        // stopped before its first step: nothing to show or keep
        stats.textContent = `Stopped before its first step (${o.backend} on ${o.device}).`;
        return { ...result, stopped: true };
      }
      chart.add(o.steps, [last, undefined, undefined]);
      stats.textContent =
        `Stopped at step ${o.steps} of ${o.totalSteps} (${o.backend} on ${o.device}, ${o.seconds.toFixed(1)} s) · loss ${first.toFixed(3)} → ${last.toFixed(3)}. ` +
        'Its checkpoint is kept in this browser: Resume goes on from it.';
      return { ...result, stopped: true };
    }
    const test = o.test;
    chart.add(o.steps, [last, test?.accuracy, test?.loss]);
    const es = o.earlyStopping;
    if (es) for (const m of earlyStoppingMarks(es, o.batchesPerEpoch)) chart.mark(m);
    stats.textContent =
      `${o.backend} on ${o.device} · ${o.steps} steps in ${o.seconds.toFixed(1)} s · loss ${first.toFixed(3)} → ${last.toFixed(3)}` +
      (test ? ` · ${heldOut(test)} on ${test.samples} ${o.mnist ? 'digits' : 'samples'}` : '') +
      (es ? ` · ${earlyStoppingText(es, (spec as { earlyStopping?: { restoreBest?: boolean } }).earlyStopping?.restoreBest !== false)}` : '');
    if (o.shown) showResults(digits, o.shown);
    return { ...result, accuracy: test?.accuracy, testLoss: test?.loss };
  }
  async function showSaved(name: string): Promise<number | undefined> {
    const c = await storedCheckpoint(name);
    if (name !== model.value) return c?.step; // the choice has moved on since
    hasCheckpoint = c !== undefined;
    refresh();
    saved.textContent = c
      ? `Checkpoint in this browser: step ${c.step}, saved ${new Date(c.savedAt).toLocaleString()} (${(c.bytes.length / 1024).toFixed(0)} KiB).`
      : 'No checkpoint of this model in this browser yet.';
    return c?.step;
  }
  async function requireStored(name: string) {
    const c = await storedCheckpoint(name);
    if (!c) throw new Error(`no checkpoint of ${name} in this browser yet`);
    return c;
  }
  async function downloadSaved(name: string): Promise<string> {
    const c = await requireStored(name);
    return download(c.bytes, `${name}-step-${c.step}.safetensors`);
  }
  async function downloadPytorch(name: string): Promise<string[]> {
    const c = await requireStored(name);
    const files = await pytorchExport(await decodeCheckpoint(c.bytes, `the stored ${name} checkpoint`));
    files.delete(TRAIN_FILES.mnist); // 3 MB the user need not download again: train.py --mnist takes Miya's copy
    for (const [file, text] of Object.entries(trainingFiles[name] ?? {})) files.set(file, text);
    return [...files].map(([file, content]) => download(typeof content === 'string' ? new TextEncoder().encode(content) : content, file));
  }
  // the user's own spec, once chosen, is the model select's last option, its value own-NAME (the
  // name its checkpoints are kept and downloaded under)
  let own: OwnSpec | undefined;
  chooser.onchange = () =>
    void readChosenFiles(chooser.files ?? [])
      .then((o) => {
        own = o;
        let option = [...model.options].find((x) => x.dataset.own);
        if (!option) {
          option = new Option();
          option.dataset.own = 'yes';
        }
        Object.assign(option, { value: `own-${o.name}`, text: `your spec: ${o.name}` });
        model.add(option);
        model.value = option.value;
        stats.textContent = `Chosen: ${o.name}.json${Object.keys(o.files).length ? ` with ${Object.keys(o.files).join(', ')}` : ''}. Press Train.`;
        return showSaved(model.value);
      })
      .catch((e) => {
        stats.textContent = (e as Error).message;
      });
  const ownRun = () => (own && model.value === `own-${own.name}` ? { spec: own.spec, files: own.files } : {});
  const go = (resumeRun: boolean) =>
    void run({
      model: model.value,
      ...ownRun(),
      backend: backend.value,
      tune: tune.checked,
      steps: steps.value ? Number(steps.value) : undefined,
      resume: resumeRun,
    }).catch((e) => {
      stats.textContent = `Stopped: ${(e as Error).message}`;
    });
  start.onclick = () => go(false);
  resume.onclick = () => go(true);
  save.onclick = () =>
    void downloadSaved(model.value).catch((e) => {
      saved.textContent = (e as Error).message;
    });
  torch.onclick = () =>
    void downloadPytorch(model.value).catch((e) => {
      saved.textContent = (e as Error).message;
    });
  model.onchange = () => void showSaved(model.value);
  stop.onclick = stopRun;
  void webgpu().then((g) => {
    if (!g) backend.value = 'cpu';
  });
  refresh();
  void showSaved(model.value);
  const charts = () => ({ loss: chart.shown(), lr: lrChart.shown() });
  return { run, stop: stopRun, saved: showSaved, download: downloadSaved, downloadPytorch, charts };
}
