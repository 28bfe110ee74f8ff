// The Train tab with the training controls (README.md "Training controls"), headless (the built
// dist/web in Debian's Chromium, the CPU backend): a user's own spec with a warmed-up step
// schedule, AdamW, clipping and early stopping, chosen from disk with its CSV, trains through the
// Train button; the small chart under the loss shows every step's learning rate, which the test
// computes from the schedule's formula itself; the loss chart marks the epoch early stopping
// stopped after and the best epoch, where the test's own reading of the held-out losses puts
// them, and the page says which epoch's parameters were restored (the held-out loss at the end is
// that epoch's). Every other control (nesterov, weight decay, clipValue, cosine, exponential,
// plateau) goes through the page's API and ends with the numbers Node's runSpec gives the same spec.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { SHOTS, usePlayground } from './browser/playgroundPage.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { csvDataset } from '../src/data/csv.js';
import { runSpec } from '../src/train/runSpec.js';
import { validateSpec } from '../src/spec/validate.js';

const pg = usePlayground();
const openCpu = pg.openCpu;

// 40 rows to train on (y = a/2 − b/4) and 8 held out whose targets have the opposite sign, so the
// held-out loss rises as the model fits: early stopping has something to stop
const rows = Array.from({ length: 48 }, (_v, i) => {
  const a = Math.sin(i),
    b = Math.cos(3 * i),
    y = 0.5 * a - 0.25 * b;
  return `${a.toFixed(6)},${b.toFixed(6)},${(i >= 40 ? -y : y).toFixed(6)}`;
});
const CSV = ['a,b,y', ...rows].join('\n') + '\n';
const base = {
  model: {
    type: 'mlp',
    inputSize: 2,
    layers: [
      { units: 8, activation: 'tanh' },
      { units: 1, activation: 'identity' },
    ],
  },
  loss: 'mse',
  data: { csv: 'ctl.csv', test: 8 },
  batchSize: 10,
  steps: 80,
  seed: 1,
};
const LR = 0.05,
  EVERY = 6,
  GAMMA = 0.5,
  WARMUP = 4,
  PATIENCE = 2;
const stopping = {
  ...base,
  optimizer: { type: 'adamw', lr: LR, weightDecay: 0.01, clipNorm: 1 },
  schedule: { type: 'step', every: EVERY, gamma: GAMMA, warmup: WARMUP },
  earlyStopping: { patience: PATIENCE, restoreBest: true },
};

interface Run {
  steps: number;
  losses: number[];
  lrs: number[];
  testLoss?: number;
  batchesPerEpoch: number;
  history: { epoch: number; testLoss?: number }[];
  earlyStopping?: { stoppedEpoch?: number; bestEpoch: number; bestLoss: number; restored: boolean };
}
interface Shown {
  data: (number | null)[][];
  marks: { x: number; label: string; kind: string }[];
}

test('Train: an own spec with a schedule, AdamW, clipping and early stopping; the rate of every step charted, the early stop and the restored epoch marked and said', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'miya-controls-'));
  writeFileSync(join(dir, 'ctl.csv'), CSV);
  writeFileSync(join(dir, 'ctl.json'), JSON.stringify(stopping));
  const page = await openCpu('/dist/web/index.html#train');
  const chooser = (await page.$('#train input[type=file]'))!;
  await chooser.uploadFile(join(dir, 'ctl.json'), join(dir, 'ctl.csv'));
  await page.waitForFunction(() => (document.querySelector('#train select') as HTMLSelectElement).value === 'own-ctl');
  await page.click('#train button[data-action=train]');
  await page.waitForFunction(() => /steps in|^Stopped/.test(document.querySelector('#train .stats')?.textContent ?? ''), { timeout: 60_000 });
  const said = await page.$eval('#train .stats', (e) => e.textContent ?? '');
  const charts = await page.evaluate(() =>
    (window as unknown as { playground: { train: { charts(): { loss: Shown; lr: Shown } } } }).playground.train.charts(),
  );
  // the run as the page's API returns it (the same spec and CSV again): what the test reads the held-out losses from
  const run = await page.evaluate(
    (spec, csv) =>
      (window as unknown as { playground: { train: { run(r: object): Promise<Run> } } }).playground.train.run({
        model: 'own-ctl',
        spec,
        files: { 'ctl.csv': csv },
        backend: 'cpu',
        reportEvery: 1,
      }),
    stopping,
    CSV,
  );

  // early stopping, read from the held-out losses by a loop of the test's own: the best epoch, and
  // the epoch after which PATIENCE epochs in a row had not beaten it
  let best = Infinity,
    bestEpoch = 0,
    bad = 0,
    stoppedEpoch = 0;
  for (const e of run.history) {
    if (e.testLoss! < best) {
      best = e.testLoss!;
      bestEpoch = e.epoch;
      bad = 0;
    } else if (++bad >= PATIENCE) {
      stoppedEpoch = e.epoch;
      break;
    }
  }
  expect(stoppedEpoch).toBeGreaterThan(bestEpoch);
  expect(run.history).toHaveLength(stoppedEpoch);
  const nb = run.batchesPerEpoch;
  expect(nb).toBe(4); // 40 rows in batches of 10
  expect(run.steps).toBe(stoppedEpoch * nb);
  expect(run.earlyStopping).toEqual({ stoppedEpoch, bestEpoch, bestLoss: best, restored: true });
  // restored: the held-out loss at the end is the best epoch's
  expect(run.testLoss).toBe(best);
  expect(said).toMatch(
    new RegExp(
      `^cpu on .* · ${run.steps} steps in [\\d.]+ s · loss [\\d.]+ → [\\d.]+ · test loss ${best.toFixed(4)} on 8 samples · ` +
        `early stopping after epoch ${stoppedEpoch}: the parameters are epoch ${bestEpoch}'s \\(held-out loss ${best.toPrecision(4)}\\), restored$`,
    ),
  );

  // the rate chart: a point for every step, at the schedule's rate computed here
  const expected = Array.from({ length: run.steps }, (_v, t) => LR * GAMMA ** Math.floor(t / EVERY) * Math.min(1, (t + 1) / WARMUP));
  expect(charts.lr.data[0]).toEqual(expected.map((_v, t) => t + 1));
  const drawn = charts.lr.data[1] as number[];
  expect(drawn).toHaveLength(expected.length);
  drawn.forEach((v, t) => expect(Math.abs(v - expected[t]), `step ${t + 1}`).toBeLessThanOrEqual(1e-15 * expected[t]));
  expect(run.lrs).toEqual(drawn);
  // the loss chart's marks: the early stop after epoch stoppedEpoch, the best epoch (restored)
  expect(charts.loss.marks.map((m) => [m.kind, m.x, m.label])).toEqual([
    ['early-stop', stoppedEpoch * nb, `early stop: epoch ${stoppedEpoch}`],
    ['best-epoch', bestEpoch * nb, `best: epoch ${bestEpoch} (restored)`],
  ]);
  // drawn where those steps are on the x axis (its first point … the last step, left to right over the plot)
  // (in the API's run, which reported every step: the chart's points start at step 1)
  const xs = await page.evaluate(() => (window as unknown as { playground: { train: { charts(): { loss: Shown } } } }).playground.train.charts().loss.data[0]);
  const x0 = xs[0]!,
    x1 = xs.at(-1)!;
  expect([x0, x1]).toEqual([1, run.steps]);
  const placed = await page.$$eval('#train .u-over .mark', (ms) =>
    ms.map((m) => ({
      kind: m.classList[1],
      x: Number((m as HTMLElement).dataset.x),
      left: parseFloat((m as HTMLElement).style.left),
      width: m.parentElement!.clientWidth,
      text: m.textContent,
    })),
  );
  expect(placed).toHaveLength(2);
  for (const m of placed) {
    expect(Math.abs(m.left - (m.width * (m.x - x0)) / (x1 - x0)), m.kind).toBeLessThan(2);
    expect(m.text).toBe(charts.loss.marks.find((k) => k.kind === m.kind)!.label);
  }
  await page.screenshot({ path: `${SHOTS}/playground-controls.png`, fullPage: true });
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 120_000);

test("Train: every other control through the page (nesterov, weight decay, clipValue; cosine, exponential, plateau schedules) ends with Node's numbers", async () => {
  const specs: (typeof base & {
    optimizer: { type: string; [k: string]: unknown };
    schedule?: { type: string; [k: string]: unknown };
    earlyStopping?: object;
  })[] = [
    {
      ...base,
      optimizer: { type: 'momentum', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.001, clipValue: 0.5 },
      schedule: { type: 'cosine', steps: 20, min: 0.001, warmup: 3 },
      steps: 24,
    },
    { ...base, optimizer: { type: 'rmsprop', lr: 0.01, weightDecay: 0.01, clipNorm: 0.5 }, schedule: { type: 'exponential', gamma: 0.95 }, steps: 20 },
    { ...base, optimizer: { type: 'adam', lr: 0.05, weightDecay: 0.001 }, schedule: { type: 'plateau', factor: 0.5, patience: 1 }, steps: 24 },
    { ...base, optimizer: { type: 'sgd', lr: 0.1 }, earlyStopping: { patience: 1, restoreBest: false }, steps: 40 },
  ];
  const page = await openCpu('/dist/web/index.html#train');
  await page.waitForFunction(() => !!(window as unknown as { playground?: unknown }).playground);
  const rates: number[][] = [];
  for (const spec of specs) {
    const got = await page.evaluate(
      (sp, csv) =>
        (window as unknown as { playground: { train: { run(r: object): Promise<Run> } } }).playground.train.run({
          model: 'own-ctl',
          spec: sp,
          files: { 'ctl.csv': csv },
          backend: 'cpu',
        }),
      spec,
      CSV,
    );
    const s = validateSpec(spec);
    const data = await csvDataset(s.data as { csv: string; test: number }, s.model, async () => CSV);
    const node = await runSpec(s, { backend: new CpuBackend(), data });
    const what = `${spec.optimizer.type} ${spec.schedule?.type ?? 'early stopping'}`;
    expect(got.losses.length, what).toBe(node.losses.length);
    // Chromium's JavaScript engine is not Node's: Math.tanh and ** may differ in the last bit, and
    // a run amplifies it (a cosine run differed by 2e-17 at step 22); the same engine gives the
    // same bits (tests/playground-worker.test.ts)
    const near = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-12 * Math.max(1, Math.abs(b[i])));
    expect(near(got.losses, node.losses), what).toBe(true);
    expect(near(got.lrs, node.lrs), what).toBe(true);
    expect(got.earlyStopping === undefined, what).toBe(node.earlyStopping === undefined);
    if (node.earlyStopping) {
      const { bestLoss, ...rest } = node.earlyStopping;
      expect(got.earlyStopping, what).toMatchObject(rest);
      expect(got.earlyStopping!.bestLoss).toBeCloseTo(bestLoss, 12);
    }
    // the rate chart shows the run's rates
    const lr = await page.evaluate(() => (window as unknown as { playground: { train: { charts(): { lr: Shown } } } }).playground.train.charts().lr.data[1]);
    expect(lr, what).toEqual(got.lrs);
    rates.push(node.lrs);
  }
  // the schedules did act: the cosine reached its floor, the exponential decayed, the plateau lowered the rate
  expect(rates[0].at(-1)).toBe(0.001);
  expect(rates[1].at(-1)).toBeCloseTo(0.01 * 0.95 ** 19, 15);
  expect(Math.min(...rates[2])).toBeLessThan(0.05);
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 120_000);
