// The playground trains off the main thread (headless Chromium, the built dist/web, on the CPU
// backend): while a few hundred MNIST steps train in its worker the page's frames keep coming,
// where the same run on the page itself ("Run in: this page") stalls them for hundreds of ms, both
// measured here; the two runs end with the same bits (every loss, the held-out evaluation and the
// checkpoint bytes kept in IndexedDB); Stop ends a run in the worker within a second; an error in
// the worker reaches the page as its message; Verify's rows and Race's rounds come from it too.
// (The same on WebGPU, Bench with TF.js, resume and tuning: tests/browser.test.ts drives them.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { expect, test } from 'vitest';
import { usePlayground } from './browser/playgroundPage.js';
import { validateSpec } from '../src/spec/validate.js';

const pg = usePlayground();
const openCpu = pg.openCpu;

interface Frames {
  worstGapMs: number;
  frames: number;
  longestTaskMs: number;
}
interface Run {
  backend: string;
  steps: number;
  losses: number[];
  accuracy?: number;
  testLoss?: number;
  where: string;
  checkpoint: number[];
  frames: Frames;
  ms: number;
}

/**
 * One Train run through the page's API, watched: the longest gap between requestAnimationFrame
 * callbacks, the longest task the page's main thread ran (Long Tasks API, tasks of 50 ms or more),
 * and the checkpoint bytes the run left in IndexedDB (read with IndexedDB's own API).
 */
function watchedRun(page: Page, run: object): Promise<Run> {
  return page.evaluate(async (r) => {
    let last = performance.now(),
      worst = 0,
      frames = 0,
      on = true,
      longestTask = 0;
    const tasks = new PerformanceObserver((list) => {
      for (const t of list.getEntries()) longestTask = Math.max(longestTask, t.duration);
    });
    tasks.observe({ type: 'longtask' });
    const tick = () => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      frames++;
      if (on) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const t0 = performance.now();
    type Train = { run(r: object): Promise<{ backend: string; steps: number; losses: number[]; accuracy?: number; testLoss?: number; where: string }> };
    const out = await (window as unknown as { playground: { train: Train } }).playground.train.run(r);
    const ms = performance.now() - t0;
    on = false;
    worst = Math.max(worst, performance.now() - last);
    for (const t of tasks.takeRecords()) longestTask = Math.max(longestTask, t.duration);
    tasks.disconnect();
    // idb-keyval's store: database keyval-store, object store keyval
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const q = indexedDB.open('keyval-store');
      q.onsuccess = () => ok(q.result);
      q.onerror = () => fail(q.error);
    });
    const stored = await new Promise<{ bytes: Uint8Array }>((ok, fail) => {
      const q = db.transaction('keyval').objectStore('keyval').get('miya-checkpoint:mnist-mlp');
      q.onsuccess = () => ok(q.result);
      q.onerror = () => fail(q.error);
    });
    db.close();
    return { ...out, checkpoint: Array.from(stored.bytes), frames: { worstGapMs: worst, frames, longestTaskMs: longestTask }, ms };
  }, run);
}

test("Train in the worker: the page's frames keep coming while the CPU backend trains; the same run on the page stalls them; both end with the same bits", async () => {
  const page = await openCpu('/dist/web/index.html#train');
  await page.waitForFunction(() => !!(window as unknown as { playground?: unknown }).playground);
  // the page's MNIST MLP (8000 digits, 2000 held out, evaluated after the first epoch and at the end)
  const run = { model: 'mnist-mlp', backend: 'cpu', steps: 200, reportEvery: 25 };
  const worker = await watchedRun(page, { ...run, where: 'worker' });
  const onPage = await watchedRun(page, { ...run, where: 'page' });
  const { checkpoint: a, ...w } = worker,
    { checkpoint: b, ...p } = onPage;
  console.log('frames:', JSON.stringify({ worker: [w.frames, w.ms], page: [p.frames, p.ms] }));
  expect([w.where, p.where]).toEqual(['worker', 'page']);
  expect(w.backend).toBe('cpu');
  expect(w.steps).toBe(200);
  expect(w.accuracy).toBeGreaterThan(0.7);
  // the same bits: every loss (Object.is: -0 ≠ 0), the held-out loss and accuracy, the checkpoint's bytes
  expect(w.losses).toHaveLength(200);
  expect(w.losses.every((l, i) => Object.is(l, p.losses[i]))).toBe(true);
  expect([w.testLoss, w.accuracy]).toEqual([p.testLoss, p.accuracy]);
  expect(a.length).toBeGreaterThan(100_000 * 8);
  expect(a.length === b.length && a.every((x, i) => x === b[i])).toBe(true);
  // On the page the run's longest stretches of work (loading the digits, evaluating the held-out
  // set; the trainer itself hands the page a turn every 10 ms) are tasks that stop the frames:
  // measured 210–750 ms. In the worker the page's own tasks (drawing the chart, the digits) stay
  // short: no task of 100 ms (the Long Tasks API reports those of 50 ms or more).
  expect(p.frames.longestTaskMs).toBeGreaterThanOrEqual(100);
  expect(p.frames.worstGapMs).toBeGreaterThanOrEqual(100);
  // Both bounds also wait for the machine: with other test runs on these 2 cores (load averages of
  // 10–17) the page's threads are descheduled mid-task, so a 20 ms task can last 150 ms, and the
  // worker takes a core from the page's renderer (an idle page's worst frame gap was 30–150 ms).
  // So the 100 ms bounds are checked where the machine is not oversubscribed; otherwise the long
  // tasks are held to 250 ms (a worker run on the page measured 330–2400 ms there) and it is said.
  const load = loadavg()[0],
    cores = cpus().length;
  // a quiet machine: a 1-minute load of at most one per core (a test run beside this one on 2
  // cores held the load at 4–7 and the worker's worst frame gap at 222–226 ms)
  if (load <= cores) {
    expect(w.frames.longestTaskMs).toBeLessThan(100);
    expect(w.frames.worstGapMs).toBeLessThan(100);
  } else {
    expect(w.frames.longestTaskMs).toBeLessThan(250);
    console.warn(
      `100 ms bounds not checked: load average ${load.toFixed(1)} on ${cores} cores; longest task ${w.frames.longestTaskMs.toFixed(0)} ms and worst frame gap ${w.frames.worstGapMs.toFixed(0)} ms (worker) against ${p.frames.longestTaskMs.toFixed(0)} and ${p.frames.worstGapMs.toFixed(0)} ms (page)`,
    );
  }
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 120_000);

test('Train in the worker: Stop ends the run within a second, at the step it had reached, its checkpoint kept', async () => {
  const page = await openCpu('/dist/web/index.html#train');
  await page.waitForFunction(
    () =>
      document.querySelectorAll('#train .stats')[1]?.textContent?.startsWith('No checkpoint') ||
      document.querySelectorAll('#train .stats')[1]?.textContent?.startsWith('Checkpoint'),
  );
  await page.select('#train select:nth-of-type(2)', 'cpu');
  expect(await page.$eval('#train select:nth-of-type(3)', (s) => (s as HTMLSelectElement).value)).toBe('worker');
  await page.$eval('#train input[type=number]', (e) => {
    (e as HTMLInputElement).value = '2000';
  });
  await page.click('#train button[data-action=train]');
  await page.waitForFunction(() => /· step ([3-9]\d|\d{3,})\/2000 ·|^Stopped/.test(document.querySelector('#train .stats')?.textContent ?? ''), {
    timeout: 60_000,
  });
  expect(await page.$eval('#train .stats', (e) => e.textContent)).toMatch(/· step \d+\/2000 ·/);
  // the page answers at once while the worker trains
  const answers: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = Date.now();
    await page.evaluate(() => 0);
    answers.push(Date.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
  const ms = await page.evaluate(async () => {
    const stats = document.querySelector('#train .stats')!;
    const t0 = performance.now();
    document.querySelector<HTMLButtonElement>('#train button[data-action=stop]')!.click();
    await new Promise<void>((ok) => {
      const watch = new MutationObserver(() => {
        if (stats.textContent!.startsWith('Stopped at step')) {
          watch.disconnect();
          ok();
        }
      });
      watch.observe(stats, { childList: true, characterData: true, subtree: true });
      setTimeout(ok, 10_000); // a run that does not stop: the time said is then 10 s
    });
    return performance.now() - t0;
  });
  const said = await page.$eval('#train .stats', (e) => e.textContent ?? '');
  console.log(`stop: the page answered in ${answers.join(', ')} ms during the run; stopped ${ms.toFixed(0)} ms after the click: ${said}`);
  expect(Math.max(...answers)).toBeLessThan(400);
  expect(ms).toBeLessThan(1000);
  const step = Number(/^Stopped at step (\d+) of 2000 \(cpu on /.exec(said)?.[1]);
  expect(step).toBeGreaterThanOrEqual(30);
  expect(step).toBeLessThan(2000);
  await page.waitForFunction(
    (n) => document.querySelectorAll('#train .stats')[1]?.textContent?.startsWith(`Checkpoint in this browser: step ${n},`),
    { timeout: 10_000 },
    step,
  );
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 120_000);

test('an error in the worker reaches the page as its message: a bad spec chosen from disk, through the Train button and through the API', async () => {
  const bad = {
    model: { type: 'mlp', inputSize: 2, layers: [{ units: 1, activation: 'identity', weights: [[1, 2, 3]] }] },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: { x: [[1, 2]], y: [[0]] },
    steps: 3,
  };
  // the message Node's own validation gives the same spec
  let expected = '';
  try {
    validateSpec(bad);
  } catch (e) {
    expected = (e as Error).message;
  }
  expect(expected).toMatch(/^model\.layers\[0\]\.weights/);
  const dir = mkdtempSync(join(tmpdir(), 'miya-bad-'));
  writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
  const page = await openCpu('/dist/web/index.html#train');
  const chooser = (await page.$('#train input[type=file]'))!;
  await chooser.uploadFile(join(dir, 'bad.json'));
  await page.waitForFunction(() => (document.querySelector('#train select') as HTMLSelectElement).value === 'own-bad');
  await page.click('#train button[data-action=train]');
  await page.waitForFunction(() => /^Stopped: /.test(document.querySelector('#train .stats')?.textContent ?? ''), { timeout: 30_000 });
  expect(await page.$eval('#train .stats', (e) => e.textContent)).toBe(`Stopped: ${expected}`);
  // through the API: the same class and fields as on the page
  const r = await page.evaluate(async (spec) => {
    type Train = { run(r: object): Promise<unknown> };
    const train = (window as unknown as { playground: { train: Train } }).playground.train;
    const fail = async (where: string) => {
      try {
        await train.run({ model: 'own-bad', spec, backend: 'cpu', where });
        return null;
      } catch (e) {
        const x = e as Error & { path?: string };
        return { name: x.name, message: x.message, path: x.path };
      }
    };
    return { worker: await fail('worker'), page: await fail('page') };
  }, bad);
  expect(r.worker).toEqual({ name: 'SpecError', message: expected, path: 'model.layers[0].weights' });
  expect(r.page).toEqual(r.worker);
  // and the page is ready for the next run: Train is back
  expect(await page.$eval('#train button[data-action=train]', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 60_000);

test('Verify and Race in the worker: the rows and rounds reach the page as they come (the CPU backend alone, as on a page without WebGPU)', async () => {
  const page = await openCpu('/dist/web/index.html#verify');
  await page.waitForFunction(() => !!(window as unknown as { playground?: unknown }).playground);
  type Mode = { run(...a: unknown[]): Promise<Record<string, unknown>> };
  const r = await page.evaluate(async () => {
    const pg = (window as unknown as { playground: Record<'verify' | 'race', Mode> }).playground;
    const verify = (await pg.verify.run(1)) as { backend: string; rows: { ok: boolean }[]; passed: number; failed: number };
    const tableRows = document.querySelectorAll('#verify table tr').length;
    const race = await pg.race.run(2, 2);
    return {
      backend: verify.backend,
      rows: verify.rows.length,
      passed: verify.passed,
      failed: verify.failed,
      tableRows,
      race,
      raceStats: document.querySelector('#race .stats')!.textContent,
    };
  });
  expect(r.backend).toBe('cpu');
  expect(r.failed).toBe(0);
  expect(r.rows).toBeGreaterThan(10);
  expect(r.tableRows).toBe(r.rows + 1); // a row each, under the header
  expect(r.race).toMatchObject({ rounds: 2, sameLosses: true });
  expect(r.race.gpuMsPerStep).toBeUndefined();
  expect(r.race.cpuMsPerStep).toBeGreaterThan(0);
  expect(r.raceStats).toMatch(/^round 2\/2: no WebGPU, CPU [\d.]+ ms\/step$/);
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 60_000);
