// Headless Chromium against the built playground (dist/web) on a free localhost port: `verify`
// in the page on WebGPU, a few MNIST steps whose loss must fall, the Story and Race modes, the
// browser library (dist/miya.js) imported by a page of our own; any console error fails the
// suite. Screenshots of each mode go to test-results/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Headless, startHeadless } from '../src/browser/headless.js';

const SHOTS = 'test-results';
let h: Headless;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  h = await startHeadless(process.cwd());
}, 300_000);

afterAll(async () => {
  await h?.close();
});

type Playground = Record<string, { run(...a: unknown[]): Promise<unknown> }> & { show(m: string): void; gpu: Promise<boolean> };

test('the playground finds WebGPU, and verify passes in the page on it', async () => {
  const page = await h.open('/dist/web/index.html#verify');
  expect(await page.evaluate(() => (window as unknown as { playground: Playground }).playground.gpu)).toBe(true);
  expect(await page.$eval('#gpu-status', (e) => e.textContent)).toMatch(/^WebGPU: /);
  const r = await page.evaluate(
    () =>
      (window as unknown as { playground: Playground }).playground.verify.run(4) as Promise<{
        backend: string;
        passed: number;
        failed: number;
        rows: { check: string }[];
      }>,
  );
  await page.screenshot({ path: `${SHOTS}/verify.png`, fullPage: true });
  expect(r.backend).toBe('webgpu');
  expect(r.failed).toBe(0);
  expect(r.passed).toBeGreaterThan(40);
  expect(new Set(r.rows.map((x) => x.check)).size).toBeGreaterThanOrEqual(10); // 5 worked examples, the kernels, 4 random networks
  expect(r.rows.filter((x) => x.check === 'kernel')).toHaveLength(61); // 4 tiles × (3 transpositions + vec4 reads + fused backward), split-K, reduce; 39 of the other kernels (src/verify/kernelCases.ts)
  await page.close();
  expect(h.errors).toEqual([]);
}, 600_000);

test('Story shows a worked example with CPU and GPU numbers that agree', async () => {
  const page = await h.open('/dist/web/index.html#story');
  const r = await page.evaluate(
    () =>
      (window as unknown as { playground: Playground }).playground.story.run('mlp-3-3-1-sigmoid') as Promise<{
        stages: number;
        worstRelativeDifference: number;
        gpu: boolean;
      }>,
  );
  await page.screenshot({ path: `${SHOTS}/story.png`, fullPage: true });
  expect(r).toMatchObject({ stages: 4, gpu: true });
  expect(r.worstRelativeDifference).toBeLessThan(1e-5);
  expect(await page.$$eval('.stage table tr', (rows) => rows.length)).toBeGreaterThan(20);
  await page.close();
  expect(h.errors).toEqual([]);
}, 300_000);

test('Train: a few MNIST steps on WebGPU lower the loss and show digits with predictions', async () => {
  const page = await h.open('/dist/web/index.html#train');
  const r = await page.evaluate(
    () =>
      (window as unknown as { playground: Playground }).playground.train.run({ model: 'mnist-mlp', backend: 'webgpu', steps: 30, reportEvery: 5 }) as Promise<{
        backend: string;
        steps: number;
        firstLoss: number;
        lastLoss: number;
        accuracy: number;
      }>,
  );
  await page.screenshot({ path: `${SHOTS}/train.png`, fullPage: true });
  expect(r.backend).toBe('webgpu');
  expect(r.steps).toBe(30);
  expect(r.lastLoss).toBeLessThan(0.8 * r.firstLoss);
  expect(r.accuracy).toBeGreaterThan(0.3); // ten classes: chance is 0.1
  expect(await page.$$eval('.digit canvas', (c) => c.length)).toBe(24);
  await page.close();
  expect(h.errors).toEqual([]);
}, 600_000);

test('Train keeps checkpoints in IndexedDB: after a reload, Resume runs only the steps after the checkpoint and ends where an uninterrupted run ends; Download saves the file, and the PyTorch files', async () => {
  type Train = {
    run(r: object): Promise<{ steps: number; firstLoss: number; lastLoss: number }>;
    saved(m: string): Promise<number | undefined>;
    download(m: string): Promise<string>;
    downloadPytorch(m: string): Promise<string[]>;
  };
  const train = (page: Page) => page.evaluateHandle(() => (window as unknown as { playground: { train: Train } }).playground.train);
  let page = await h.open('/dist/web/index.html#train');
  const whole = await (await train(page)).evaluate((t) => t.run({ model: 'mnist-mlp', backend: 'webgpu', steps: 24, reportEvery: 4 }));
  const cut = await (await train(page)).evaluate((t) => t.run({ model: 'mnist-mlp', backend: 'webgpu', steps: 16, reportEvery: 4, checkpointEvery: 8 }));
  expect(cut.steps).toBe(16);
  await page.close();
  page = await h.open('/dist/web/index.html#train'); // a new page: only IndexedDB remembers
  expect(await (await train(page)).evaluate((t) => t.saved('mnist-mlp'))).toBe(16);
  // the steps the resumed run reports as it goes (the page's "step N/24" line, read as it changes):
  // only 20 and 24, after the checkpoint's 16 (a run started again from step 0 reports 4, 8, … and,
  // from the same seed, ends with the same losses)
  const resumed = await (await train(page)).evaluate(async (t) => {
    const reported: number[] = [];
    const stats = document.querySelector('#train .stats')!;
    const seen = (records: MutationRecord[]) => {
      for (const r of records) {
        for (const n of [...r.addedNodes, ...(r.type === 'characterData' ? [r.target] : [])]) {
          const m = /· step (\d+)\/\d+ ·/.exec(n.textContent ?? '');
          if (m) reported.push(Number(m[1]));
        }
      }
    };
    const watch = new MutationObserver(seen);
    watch.observe(stats, { childList: true, characterData: true, subtree: true });
    const r = await t.run({ model: 'mnist-mlp', backend: 'webgpu', steps: 24, reportEvery: 4, resume: true });
    seen(watch.takeRecords());
    watch.disconnect();
    return { ...r, reported };
  });
  expect(resumed.reported).toEqual([20, 24]);
  expect(resumed).toMatchObject({ steps: 24, firstLoss: whole.firstLoss, lastLoss: whole.lastLoss });
  const downloads = mkdtempSync(join(tmpdir(), 'miya-downloads-'));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  const name = await (await train(page)).evaluate((t) => t.download('mnist-mlp'));
  expect(name).toBe('mnist-mlp-step-24.safetensors');
  const file = join(downloads, name);
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  const ckpt = await decodeCheckpoint(new Uint8Array(readFileSync(file)), name);
  expect([ckpt.step, ckpt.backend, ckpt.dtype]).toEqual([24, 'webgpu', 'F32']);
  expect(Math.fround(ckpt.losses[23])).toBe(Math.fround(whole.lastLoss));
  // what `miya export --pytorch` writes, train.py included, but MNIST's 3 MB digits file (train.py --mnist takes Miya's copy)
  const torchFiles = await (await train(page)).evaluate((t) => t.downloadPytorch('mnist-mlp'));
  expect(torchFiles).toEqual(['model.safetensors', 'miya_model.py', 'train.py', 'train_state.safetensors']);
  for (let i = 0; i < 200 && !torchFiles.every((f) => existsSync(join(downloads, f))); i++) await new Promise((r) => setTimeout(r, 50));
  const exported = await decodeSafetensors(new Uint8Array(readFileSync(join(downloads, 'model.safetensors'))), 'model.safetensors');
  expect([...exported.tensors.keys()]).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
  expect(Array.from(exported.tensors.get('layers.1.bias')!.data)).toEqual(Array.from(ckpt.params.subarray(ckpt.params.length - 10)));
  expect(readFileSync(join(downloads, 'miya_model.py'), 'utf8')).toMatch(/class MiyaMLP\(nn\.Module\)/);
  expect(readFileSync(join(downloads, 'train.py'), 'utf8')).toMatch(/add_argument\("--mnist"/);
  const state = await decodeSafetensors(new Uint8Array(readFileSync(join(downloads, 'train_state.safetensors'))), 'train_state.safetensors');
  expect(state.metadata.step).toBe('24');
  expect(Array.from(state.tensors.get('train.losses')!.data)).toEqual(Array.from(ckpt.losses, Math.fround));
  expect(existsSync(join(downloads, 'mnist-digits.bin.gz'))).toBe(false);
  await page.close();
  expect(h.errors).toEqual([]);
}, 600_000);

test('Race: the same steps on WebGPU and CPU give the same losses', async () => {
  const page = await h.open('/dist/web/index.html#race');
  const r = await page.evaluate(
    () =>
      (window as unknown as { playground: Playground }).playground.race.run(3, 2) as Promise<{
        rounds: number;
        gpuMsPerStep: number;
        cpuMsPerStep: number;
        sameLosses: boolean;
      }>,
  );
  await page.screenshot({ path: `${SHOTS}/race.png`, fullPage: true });
  expect(r.rounds).toBe(3);
  expect(r.sameLosses).toBe(true);
  expect(r.gpuMsPerStep).toBeGreaterThan(0);
  expect(r.cpuMsPerStep).toBeGreaterThan(0);
  await page.close();
  expect(h.errors).toEqual([]);
}, 600_000);

test("Train: a user's own run spec and the CSV it names, chosen from disk, train in the page; without the CSV the page says which file is missing", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'miya-own-'));
  const rows = Array.from({ length: 40 }, (_v, i) => {
    const a = Math.sin(i),
      b = Math.cos(3 * i);
    return `${a},${b},${(0.5 * a - 0.25 * b).toFixed(6)}`;
  });
  writeFileSync(join(dir, 'points.csv'), ['a,b,y', ...rows].join('\n') + '\n');
  writeFileSync(
    join(dir, 'points.json'),
    JSON.stringify({
      model: {
        type: 'mlp',
        inputSize: 2,
        layers: [
          { units: 8, activation: 'tanh' },
          { units: 1, activation: 'identity' },
        ],
      },
      loss: 'mse',
      optimizer: { type: 'adam', lr: 0.05 },
      data: { csv: 'points.csv', test: 8 },
      steps: 40,
      seed: 1,
    }),
  );
  const page = await h.open('/dist/web/index.html#train');
  const stats = () => page.$eval('#train .stats', (e) => e.textContent ?? '');
  const chooser = (await page.$('#train input[type=file]'))!;
  const train = async () => {
    await page.$$eval('#train button', (bs) => (bs.find((b) => b.textContent === 'Train') as HTMLButtonElement).click());
    await page.waitForFunction(() => /steps in|Stopped/.test(document.querySelector('#train .stats')?.textContent ?? ''), { timeout: 120_000 });
    return stats();
  };
  await chooser.uploadFile(join(dir, 'points.json'), join(dir, 'points.csv'));
  await page.waitForFunction(() => (document.querySelector('#train select') as HTMLSelectElement).value === 'own-points');
  expect(await stats()).toBe('Chosen: points.json with points.csv. Press Train.');
  const done = await train();
  // the last 8 rows held out: their loss, and no accuracy for a regression
  const m = /^webgpu on .* · 40 steps in [\d.]+ s · loss ([\d.]+) → ([\d.]+) · test loss \d\.\d{4} on 8 samples$/.exec(done);
  expect(m, done).not.toBeNull();
  expect(Number(m![2])).toBeLessThan(Number(m![1]) / 2);
  expect(await page.$$eval('#train .digit', (d) => d.length)).toBe(0);
  // the first samples' targets beside the trained model's predictions, which are near them
  await page.waitForSelector('#train table.predictions');
  const table = await page.$$eval('#train table.predictions tr', (trs) =>
    trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))),
  );
  expect(table).toHaveLength(8);
  for (const [sample, target, prediction] of table) expect(Math.abs(prediction - target), `sample ${sample}`).toBeLessThan(0.2);
  expect(table[0][1]).toBeCloseTo(0.5 * Math.sin(0) - 0.25 * Math.cos(0), 3);
  await page.screenshot({ path: `${SHOTS}/train-own-spec.png`, fullPage: true });
  // tuned first (the page's Train API, as the tune box does): the same losses, the choices said and kept
  type Run = { firstLoss: number; lastLoss: number; tuned: string[] };
  const csvText = readFileSync(join(dir, 'points.csv'), 'utf8'),
    spec = JSON.parse(readFileSync(join(dir, 'points.json'), 'utf8'));
  const api = (tune: boolean) =>
    page.evaluate(
      (t, sp, csv) =>
        (window as unknown as { playground: { train: { run(r: object): Promise<Run> } } }).playground.train.run({
          model: 'own-points',
          spec: sp,
          files: { 'points.csv': csv },
          backend: 'webgpu',
          steps: 10,
          tune: t,
        }),
      tune,
      spec,
      csvText,
    );
  const plain = await api(false),
    tuned = await api(true);
  expect(plain.tuned).toEqual([]);
  expect(tuned.tuned.filter((l) => /^tuned .* ms\)$/.test(l)).length).toBeGreaterThan(0);
  expect(tuned.tuned.at(-1)).toMatch(/^tune: \d+ choices for this GPU kept in this browser's IndexedDB, key miya-tuning$/);
  expect([tuned.firstLoss, tuned.lastLoss]).toEqual([plain.firstLoss, plain.lastLoss]);

  await chooser.uploadFile(join(dir, 'points.csv'));
  await page.waitForFunction(() => /^the files chosen/.test(document.querySelector('#train .stats')?.textContent ?? ''));
  expect(await stats()).toBe('the files chosen: expected one .json file (the run spec), got 0');
  await chooser.uploadFile(join(dir, 'points.json'));
  await page.waitForFunction(() => /^Chosen: points\.json\. /.test(document.querySelector('#train .stats')?.textContent ?? ''));
  expect(await train()).toBe('Stopped: data.csv: points.csv is not among the files chosen with the spec: choose it too');
  await page.close();
  expect(h.errors).toEqual([]);
}, 300_000);

test('Bench: the benchmark suites run in the page, validated then timed, on WebGPU, the CPU backend and TF.js, with the same table', async () => {
  type Bench = {
    run(r: object): Promise<{
      results: { suite: string; backend: string; validation: string; gflops: number; msPerStep?: number; ms?: number; hostMs?: number }[];
      devices: Record<string, string>;
      markdown: string;
      log: string[];
    }>;
  };
  const page = await h.open('/dist/web/index.html#bench');
  const bench = await page.evaluateHandle(() => (window as unknown as { playground: { bench: Bench } }).playground.bench);
  const small = await bench.evaluate((b) => b.run({ suite: 'small', quick: true, backends: ['webgpu', 'cpu', 'tfjs-webgpu', 'tfjs-cpu'], reps: 1 }));
  expect(small.results.map((r) => r.backend)).toEqual(['webgpu', 'cpu', 'tfjs-webgpu', 'tfjs-cpu']);
  for (const r of small.results) {
    expect(r.validation).toMatch(/vs float64: \d/);
    expect(r.msPerStep).toBeGreaterThan(0);
    // the host's part (recording and submitting) is part of the step's time
    expect(r.hostMs).toBeGreaterThan(0);
    expect(r.hostMs).toBeLessThanOrEqual(r.msPerStep!);
  }
  expect(small.markdown).toMatch(/\| small \| worked example 3-3-1, batch 1 \| webgpu \| [\d.]+ ms\/step \| [\d.]+ ms \| [\d.]+ \| [\d.]+× \|/);
  const mm = await bench.evaluate((b) => b.run({ suite: 'matmul', quick: true, backends: ['webgpu'], reps: 1 }));
  expect(mm.results).toHaveLength(3);
  expect(mm.results.every((r) => r.ms! > 0 && r.gflops > 0)).toBe(true);
  expect(await page.$$eval('#bench table tr', (rows) => rows.length)).toBe(4);
  // tuned: the first run times the step's products and keeps the choices in IndexedDB; after a
  // reload (a new page, its device and in-memory choices gone) the kept choices are used
  const tuned = await bench.evaluate((b) => b.run({ suite: 'small', quick: true, backends: ['webgpu'], reps: 1, tune: true }));
  expect(tuned.results[0].validation).toMatch(/; tuned$/);
  expect(tuned.log.filter((l) => /^tuned .* ms\)$/.test(l)).length).toBeGreaterThan(0);
  // (the count is of all this GPU's choices in the browser, the Train test's included)
  expect(tuned.log.filter((l) => /^tune: \d+ choices for this GPU kept in this browser's IndexedDB, key miya-tuning$/.test(l))).toHaveLength(1);
  await page.reload();
  const again = await page.evaluate(() =>
    (window as unknown as { playground: { bench: Bench } }).playground.bench.run({ suite: 'small', quick: true, backends: ['webgpu'], reps: 1, tune: true }),
  );
  const from = again.log.filter((l) => l.startsWith('tuned '));
  expect(from.length).toBe(tuned.log.filter((l) => l.startsWith('tuned ')).length);
  for (const l of from) expect(l).toMatch(/, from an earlier run \(this browser's IndexedDB, key miya-tuning\)$/);
  expect(again.log.some((l) => l.includes('kept in'))).toBe(false);
  await page.screenshot({ path: `${SHOTS}/bench.png`, fullPage: true });
  await page.close();
  expect(h.errors).toEqual([]);
}, 600_000);

test('without WebGPU the page says so plainly and still trains on the CPU backend', async () => {
  const page = await h.open('/dist/web/index.html#train', (p) =>
    p.evaluateOnNewDocument(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    }),
  );
  expect(await page.evaluate(() => (window as unknown as { playground: Playground }).playground.gpu)).toBe(false);
  expect(await page.$eval('#gpu-status', (e) => e.textContent)).toMatch(/no WebGPU.*CPU backend/);
  const r = await page.evaluate(
    () =>
      (window as unknown as { playground: Playground }).playground.train.run({ model: 'mnist-mlp', backend: 'webgpu', steps: 10, reportEvery: 5 }) as Promise<{
        backend: string;
        firstLoss: number;
        lastLoss: number;
      }>,
  );
  await page.screenshot({ path: `${SHOTS}/no-webgpu.png`, fullPage: true });
  expect(r.backend).toBe('cpu');
  expect(r.lastLoss).toBeLessThan(r.firstLoss);
  await page.close();
  expect(h.errors).toEqual([]);
}, 300_000);

test('a page of our own imports runSpec from /dist/miya.js and reproduces the worked examples on WebGPU', async () => {
  const page = await h.open('/tests/browser/lib-check.html');
  await page.waitForFunction(() => (window as unknown as { libCheck?: unknown }).libCheck, { timeout: 300_000 });
  const r = await page.evaluate(
    () => (window as unknown as { libCheck: { rows?: { name: string; backend: string; error: number }[]; error?: string } }).libCheck,
  );
  expect(r.error).toBeUndefined();
  expect(r.rows!.map((x) => x.name)).toHaveLength(5);
  for (const row of r.rows!) {
    expect(row.backend).toBe('webgpu');
    expect(row.error).toBeLessThan(1e-5);
  }
  await page.close();
  expect(h.errors).toEqual([]);
}, 300_000);

test('miya verify --browser runs the in-page verification and prints its table', () => {
  const r = spawnSync('node', ['bin/miya.js', 'verify', '--browser', '--random', '2'], { encoding: 'utf8', timeout: 300_000 });
  expect(r.stdout).toMatch(/^miya verify in Chromium on webgpu: /);
  expect(r.stdout).toMatch(/mlp-3-3-1-sigmoid/);
  expect(r.stdout).toMatch(/\n(\d+) passed, 0 failed\n$/);
  expect(r.status).toBe(0);
}, 300_000);
