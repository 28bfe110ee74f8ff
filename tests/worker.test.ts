// runInWorker and trainInWorker in headless Chromium, through a page that imports the built
// library (tests/browser/worker-check.html → /dist/miya.js, which starts /dist/miya-worker.js):
// the page's frames keep coming while the cpu backend trains in the worker (and stall when the
// same run trains on the page), the worker's result is the main thread's bit for bit (cpu and
// WebGPU on SwiftShader), Stop ends a run within a second, checkpoints come back to the page's
// save, and errors arrive as the library's own classes with the same messages.
import { cpus, loadavg } from 'node:os';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Headless, startHeadless } from '../src/browser/headless.js';
import type * as Miya from '../src/index.js';

type Check = {
  miya: typeof Miya;
  watchFrames(): () => { worstGapMs: number; frames: number; longestTaskMs: number };
  firstDifference(a: unknown, b: unknown): string | null;
  describeError(e: unknown): { cls: string; name: string; message: string; path?: string; expected?: string; step?: number; tensor?: string };
};
declare const window: { workerCheck: Check };

let h: Headless;
let page: Page;

beforeAll(async () => {
  h = await startHeadless(process.cwd());
  page = await h.open('/tests/browser/worker-check.html');
  await page.waitForFunction(() => !!(window as unknown as { workerCheck?: unknown }).workerCheck, { timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

/** The MNIST MLP of examples/mnist-mlp.json on fewer digits and steps. */
const mnist = (steps: number, train = 2000, test = 500) => ({
  model: {
    type: 'mlp',
    inputSize: 784,
    layers: [
      { units: 128, activation: 'relu' },
      { units: 10, activation: 'softmax' },
    ],
  },
  loss: 'crossEntropy',
  optimizer: { type: 'adam', lr: 0.001 },
  data: { dataset: 'mnist', train, test },
  batchSize: 64,
  shuffle: true,
  steps,
  seed: 1,
});

/** A small MLP on 32 inline samples of three classes. */
const small = (steps: number) => {
  const x = Array.from({ length: 32 }, (_v, i) => Array.from({ length: 6 }, (_w, j) => Math.sin(i * 7 + j)));
  const y = x.map((r) => [0, 1, 2].map((k) => (k === (r[0] > 0.3 ? 0 : r[1] > 0 ? 1 : 2) ? 1 : 0)));
  return {
    model: {
      type: 'mlp',
      inputSize: 6,
      layers: [
        { units: 16, activation: 'tanh' },
        { units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.01 },
    data: { x, y },
    batchSize: 8,
    shuffle: true,
    steps,
    seed: 3,
  };
};

test("while the cpu backend trains in the worker the page's frames keep coming; the same run on the page stalls them; both end with the same bits", async () => {
  const r = await page.evaluate(async (spec) => {
    const { miya, watchFrames, firstDifference } = window.workerCheck;
    const steps: number[][] = [[], []];
    let stop = watchFrames(),
      t0 = performance.now();
    const inWorker = await miya.runInWorker(spec, { backend: 'cpu', reportEvery: 25, onProgress: (p) => steps[0].push(p.step) });
    const worker = { ...stop(), ms: performance.now() - t0 };
    stop = watchFrames();
    t0 = performance.now();
    const onPage = await miya.runSpec(spec, { backend: 'cpu', reportEvery: 25, onProgress: (p) => steps[1].push(p.step) });
    const main = { ...stop(), ms: performance.now() - t0 };
    return {
      worker,
      main,
      steps,
      backend: inWorker.backend,
      losses: inWorker.losses.length,
      accuracy: inWorker.test?.accuracy,
      difference: firstDifference(inWorker, onPage),
    };
  }, mnist(300));
  console.log('frames:', JSON.stringify({ worker: r.worker, main: r.main }));
  expect(r.backend).toBe('cpu');
  expect(r.losses).toBe(300);
  expect(r.accuracy).toBeGreaterThan(0.7);
  expect(r.difference).toBeNull();
  expect(r.steps[0]).toEqual(r.steps[1]);
  expect(r.steps[0].at(-1)).toBe(300);
  // The page's own main thread: no task of 100 ms while the worker trains; on the page the run's
  // tasks (loading the digits, evaluating, training between the trainer's yields) are longer.
  expect(r.worker.longestTaskMs).toBeLessThan(100);
  expect(r.main.longestTaskMs).toBeGreaterThanOrEqual(100);
  // The frames themselves wait for the machine too: with load averages of 10–15 on these 2 cores
  // (other test runs), an idle page's worst frame gap over 8 s was 30–150 ms and a worker run's
  // 190–450 ms with no long task at all. So the frame bound is checked where the machine is not
  // oversubscribed, and said otherwise; the long-task bound above holds either way.
  const load = loadavg()[0],
    cores = cpus().length;
  // a quiet machine: a 1-minute load of at most one per core (a test run beside this one on 2
  // cores held the load at 4–7 and the worker's worst frame gap at 222–226 ms)
  if (load <= cores) {
    expect(r.worker.worstGapMs).toBeLessThan(100);
    expect(r.main.worstGapMs).toBeGreaterThan(r.worker.worstGapMs);
  } else {
    console.warn(
      `frame-gap bound (< 100 ms) not checked: load average ${load.toFixed(1)} on ${cores} cores; worst gaps ${r.worker.worstGapMs.toFixed(0)} ms (worker) and ${r.main.worstGapMs.toFixed(0)} ms (page)`,
    );
  }
  expect(h.errors).toEqual([]);
}, 120_000);

test('Stop (an AbortSignal) ends a run in the worker within a second, after the step in progress, with the steps done', async () => {
  const r = await page.evaluate(async (spec) => {
    const { miya } = window.workerCheck;
    const stop = new AbortController();
    let stoppedAt = 0,
      seen = 0;
    const result = await miya.runInWorker(spec, {
      backend: 'cpu',
      reportEvery: 10,
      signal: stop.signal,
      onProgress: (p) => {
        seen = p.step;
        if (p.step >= 50 && !stoppedAt) {
          stoppedAt = performance.now();
          stop.abort();
        }
      },
    });
    return { ms: performance.now() - stoppedAt, seen, losses: result.losses.length, finite: result.losses.every(Number.isFinite) };
  }, mnist(1500));
  console.log('stop:', JSON.stringify(r));
  expect(r.ms).toBeLessThan(1000);
  expect(r.losses).toBeGreaterThanOrEqual(50);
  expect(r.losses).toBeLessThan(1500);
  expect(r.finite).toBe(true);
}, 60_000);

test("errors in the worker reach the page as the library's classes with the main thread's messages and fields", async () => {
  const diverging = {
    model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, activation: 'identity', weights: [[1]], bias: [0] }] },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 1e200 },
    data: { x: [[1e200]], y: [[0]] },
    steps: 5,
  };
  const badSpec = { ...diverging, model: { ...diverging.model, layers: [{ units: 1, activation: 'identity', weights: [[1, 2]] }] } };
  const r = (await page.evaluate(
    async (specs) => {
      const { miya, describeError } = window.workerCheck;
      const fail = async (run: () => Promise<unknown>) => {
        try {
          await run();
          return null;
        } catch (e) {
          return describeError(e);
        }
      };
      const out: Record<string, unknown> = {};
      for (const [name, spec] of Object.entries(specs)) {
        out[name] = { worker: await fail(() => miya.runInWorker(spec, { backend: 'cpu' })), main: await fail(() => miya.runSpec(spec, { backend: 'cpu' })) };
      }
      out.missingWorker = await fail(() => miya.runInWorker(specs.diverging, { worker: '/no-such-worker.js' }));
      return out;
    },
    { badSpec, diverging },
  )) as Record<string, { worker: unknown; main: unknown }> & { missingWorker: { cls: string; message: string } };
  console.log('errors:', JSON.stringify(r));
  expect(r.badSpec.worker).toEqual(r.badSpec.main);
  expect(r.badSpec.worker).toMatchObject({ cls: 'SpecError', name: 'SpecError', path: 'model.layers[0].weights' });
  expect(r.diverging.worker).toEqual(r.diverging.main);
  expect(r.diverging.worker).toMatchObject({
    cls: 'NonFiniteError',
    name: 'NonFiniteError',
    tensor: 'loss',
    message: expect.stringMatching(/^diverged at step \d: loss is (NaN|\+Inf)$/),
  });
  expect(r.missingWorker).toMatchObject({ cls: 'RunError', message: expect.stringMatching(/^the training worker \(.*\/no-such-worker\.js\) failed/) });
}, 60_000);

test("checkpoints cross to the page's save as the main thread's bytes; a resume in the worker (onStart: step 20) ends where the whole run ends; a failing save fails the run as on the main thread", async () => {
  const r = await page.evaluate(async (spec) => {
    const { miya, firstDifference, describeError } = window.workerCheck;
    const saved: { step: number; bytes: Uint8Array }[][] = [[], []];
    const checkpoint = (into: { step: number; bytes: Uint8Array }[]) => ({
      every: 10,
      where: 'the page',
      save: async (bytes: Uint8Array, step: number) => {
        into.push({ step, bytes });
      },
    });
    const whole = await miya.runInWorker(spec, { backend: 'cpu', checkpoint: checkpoint(saved[0]) });
    // a worker started by the caller (as a page bundling Miya's sources would start its own)
    const started = await miya.runInWorker(spec, { backend: 'cpu', worker: () => new Worker('/dist/miya-worker.js', { type: 'module' }) });
    const onPage = await miya.runSpec(spec, { backend: 'cpu', checkpoint: checkpoint(saved[1]) });
    const sameBytes =
      saved[0].length === saved[1].length &&
      saved[0].every(
        (s, i) => s.step === saved[1][i].step && s.bytes.length === saved[1][i].bytes.length && s.bytes.every((b, j) => b === saved[1][i].bytes[j]),
      );
    const at20 = await miya.decodeCheckpoint(saved[0][1].bytes, 'step 20');
    const starts: unknown[] = [];
    const resumed = await miya.runInWorker(undefined, { backend: 'cpu', resume: { checkpoint: at20, from: 'step 20' }, onStart: (at) => starts.push(at) });
    await miya.runSpec(undefined, { backend: 'cpu', resume: { checkpoint: at20, from: 'step 20' }, onStart: (at) => starts.push(at) });
    let calls = 0;
    const failing = {
      every: 10,
      where: 'a full disk',
      save: async () => {
        if (++calls === 2) throw new Error('no space left');
      },
    };
    const fail = async (run: () => Promise<unknown>) => {
      try {
        await run();
        return null;
      } catch (e) {
        return { ...describeError(e), cause: (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : undefined };
      }
    };
    const failed = await fail(() => miya.runInWorker(spec, { backend: 'cpu', checkpoint: failing }));
    calls = 0;
    const failedOnPage = await fail(() => miya.runSpec(spec, { backend: 'cpu', checkpoint: failing }));
    return {
      steps: saved[0].map((s) => s.step),
      sameBytes,
      sameResult: firstDifference(whole, onPage),
      resumed: firstDifference(resumed, whole),
      started: firstDifference(started, whole),
      starts,
      failed,
      failedOnPage,
    };
  }, small(25));
  expect(r.steps).toEqual([10, 20, 25]);
  expect(r.sameBytes).toBe(true);
  expect(r.sameResult).toBeNull();
  expect(r.resumed).toBeNull();
  expect(r.started).toBeNull();
  expect(r.starts).toEqual([
    { step: 20, steps: 25, epoch: 6, epochs: 7 },
    { step: 20, steps: 25, epoch: 6, epochs: 7 },
  ]);
  expect(r.failed).toEqual(r.failedOnPage);
  expect(r.failed).toMatchObject({ cls: 'RunError', message: 'no space left; the last checkpoint, step 10, is kept in a full disk', cause: 'no space left' });
}, 60_000);

test("trainInWorker trains on the page's own typed arrays (copied, or moved with transfer) with runSpec's result on them; arrays that do not fit the model are a SpecError", async () => {
  const r = await page.evaluate(
    async (spec) => {
      const { miya, firstDifference, describeError } = window.workerCheck;
      // other digits than the spec's own (another shuffle), so that a worker training on the spec's data would differ
      const own = () => miya.loadDataset(miya.validateSpec({ ...spec, seed: 7 }));
      const data = await own(),
        copy = await own();
      const onPage = await miya.runSpec(spec, { backend: 'cpu', data: await own() });
      const specsOwn = await miya.runSpec(spec, { backend: 'cpu' });
      const before = data.train.x.length;
      const moved = await miya.trainInWorker(spec, data, { backend: 'cpu', transfer: true });
      const copied = await miya.trainInWorker(spec, copy, { backend: 'cpu' });
      let bad = null;
      try {
        await miya.trainInWorker(spec, { train: { ...copy.train, features: 28 } }, { backend: 'cpu' });
      } catch (e) {
        bad = describeError(e);
      }
      return {
        before,
        after: [data.train.x.length, data.test!.y.length],
        kept: copy.train.x.length,
        bad,
        moved: firstDifference(moved, onPage),
        copied: firstDifference(copied, onPage),
        differsFromSpecsData: firstDifference(moved, specsOwn) !== null,
      };
    },
    mnist(20, 300, 100),
  );
  expect(r.before).toBe(300 * 784);
  expect(r.after).toEqual([0, 0]); // moved
  expect(r.kept).toBe(300 * 784); // copied
  expect(r.moved).toBeNull();
  expect(r.copied).toBeNull();
  expect(r.differsFromSpecsData).toBe(true);
  expect(r.bad).toMatchObject({ cls: 'SpecError', message: 'data.train.features: expected 784 (model.inputSize), got 28' });
}, 60_000);

test("on WebGPU (SwiftShader) the worker's run is the main thread's bit for bit", async () => {
  // a small MLP: on SwiftShader the MNIST MLP's 20 steps took 46 s for the two runs, mostly compiling kernels
  const r = await page.evaluate(async (spec) => {
    const { miya, firstDifference } = window.workerCheck;
    const inWorker = await miya.runInWorker(spec, { backend: 'webgpu' });
    const onPage = await miya.runSpec(spec, { backend: 'webgpu' });
    return { backend: inWorker.backend, device: inWorker.device, losses: inWorker.losses.length, difference: firstDifference(inWorker, onPage) };
  }, small(20));
  console.log('webgpu:', JSON.stringify(r));
  expect(r.backend).toBe('webgpu');
  expect(r.losses).toBe(20);
  expect(r.difference).toBeNull();
  expect(h.errors).toEqual([]);
}, 120_000);

test("JobWorker and serveJobs: a job's events and result cross over, Stop aborts its signal, its error comes back as the same class; an unknown job and a worker that fails outside a job are RunErrors, and the next run starts a fresh worker", async () => {
  const r = await page.evaluate(async () => {
    const { miya, describeError } = window.workerCheck;
    // a worker of the caller's own, serving three jobs through the built library
    const source = `import { serveJobs, SpecError } from '${location.origin}/dist/miya.js';
      const tick = () => new Promise((ok) => setTimeout(ok, 2));
      serveJobs({
        count: async ({ n }, { emit, signal }) => { let i = 0; for (; i < n && !signal.aborted; i++) { emit(i); await tick(); } return { counted: i, aborted: signal.aborted }; },
        bad: async () => { throw new SpecError('data.csv', 'a CSV file'); },
        crash: async () => { setTimeout(() => { throw new Error('boom outside a job'); }); return new Promise(() => {}); },
      });`;
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    let started = 0;
    const jobs = new miya.JobWorker(() => {
      started++;
      return new Worker(url, { type: 'module' });
    }, 'the test worker');
    const fail = async (run: Promise<unknown>) => {
      try {
        await run;
        return null;
      } catch (e) {
        return describeError(e);
      }
    };
    const events: number[] = [];
    const counted = await jobs.run('count', { n: 5 }, { onEvent: (e: number) => events.push(e) });
    const stop = new AbortController();
    const stopped = await jobs.run<{ counted: number; aborted: boolean }, number>(
      'count',
      { n: 1e6 },
      {
        signal: stop.signal,
        onEvent: (e) => {
          if (e === 20) stop.abort();
        },
      },
    );
    // two at once in one worker
    const both = await Promise.all([jobs.run('count', { n: 3 }), jobs.run('count', { n: 4 })]);
    const bad = await fail(jobs.run('bad', {}));
    const expected = describeError(new miya.SpecError('data.csv', 'a CSV file'));
    const unknown = await fail(jobs.run('nope', {}));
    const before = started;
    const crashed = await fail(jobs.run('crash', {}));
    const after = await jobs.run('count', { n: 2 });
    jobs.terminate();
    return { events, counted, stopped, both, bad, expected, unknown, crashed, after, workers: [before, started] };
  });
  expect(r.events).toEqual([0, 1, 2, 3, 4]);
  expect(r.counted).toEqual({ counted: 5, aborted: false });
  expect(r.stopped.aborted).toBe(true);
  expect(r.stopped.counted).toBeGreaterThanOrEqual(21);
  expect(r.stopped.counted).toBeLessThan(200);
  expect(r.both).toEqual([
    { counted: 3, aborted: false },
    { counted: 4, aborted: false },
  ]);
  expect(r.bad).toEqual(r.expected);
  expect(r.bad).toMatchObject({ cls: 'SpecError', path: 'data.csv', expected: 'a CSV file' });
  expect(r.unknown).toMatchObject({ cls: 'RunError', message: 'no job named nope in this worker (it has count, bad, crash)' });
  expect(r.crashed).toMatchObject({ cls: 'RunError', message: expect.stringMatching(/^the test worker failed: .*boom outside a job/) });
  expect(r.after).toEqual({ counted: 2, aborted: false });
  expect(r.workers).toEqual([1, 2]); // one worker for every job until it failed, then a fresh one
}, 60_000);
