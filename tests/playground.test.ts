// The playground's controls, headless (the built dist/web in Debian's Chromium, as in
// tests/browser.test.ts), on the CPU backend so that it stays short: the Train tab's buttons follow
// the state (nothing to stop, resume or download before a run; no second Train during one); Stop
// ends the display at once and says where it stopped, with a checkpoint kept for Resume, and the
// chart's legend shows the latest values rather than "--"; the Story tab shows the stage of the
// example chosen last even when Next stage is pressed while it loads; the Bench tab shows each
// result once, its markdown folded in a box that does not widen the page. Screenshots go to
// test-results/playground-*.png.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { expect, test } from 'vitest';
import { SHOTS, usePlayground } from './browser/playgroundPage.js';

const pg = usePlayground();
const openCpu = pg.openCpu;

type Buttons = Record<'train' | 'stop' | 'resume' | 'download' | 'pytorch', boolean>;
/** Which of the Train tab's buttons are enabled. */
const enabled = (page: Page): Promise<Buttons> =>
  page.$$eval(
    '#train button[data-action]',
    (bs) => Object.fromEntries(bs.map((b) => [(b as HTMLButtonElement).dataset.action, !(b as HTMLButtonElement).disabled])) as Buttons,
  );
const trainStats = (page: Page) => page.$eval('#train .stats', (e) => e.textContent ?? '');

test('Train: the buttons follow the state; Stop ends the display at once, says "Stopped at step N", keeps a checkpoint; the legend shows the latest values', async () => {
  const page = await openCpu('/dist/web/index.html#train');
  await page.waitForFunction(() => document.querySelectorAll('#train .stats')[1]?.textContent === 'No checkpoint of this model in this browser yet.');
  // before any run: only Train
  expect(await enabled(page)).toEqual({ train: true, stop: false, resume: false, download: false, pytorch: false });

  await page.select('#train select:nth-of-type(2)', 'cpu');
  await page.$eval('#train input[type=number]', (e) => {
    (e as HTMLInputElement).value = '1000';
  });
  await page.click('#train button[data-action=train]');
  await page.waitForFunction(() => /· step ([2-9]\d|\d{3,})\/1000 ·/.test(document.querySelector('#train .stats')?.textContent ?? ''), { timeout: 30_000 });
  // during the run: Stop, not Train or Resume (nor a change of model); the downloads once the run has kept a checkpoint (step 100)
  const [during, kept] = await Promise.all([
    enabled(page),
    page.$eval('#train', (t) => t.querySelectorAll('.stats')[1].textContent!.startsWith('Checkpoint in this browser')),
  ]);
  expect(during).toEqual({ train: false, stop: true, resume: false, download: kept, pytorch: kept });
  expect(await page.$eval('#train select', (s) => (s as HTMLSelectElement).disabled)).toBe(true);
  // the page answers while the cpu backend trains (the trainer hands it a turn every few ms), so a click on Stop is taken at once
  const answers: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t = Date.now();
    await page.evaluate(() => 0);
    answers.push(Date.now() - t);
    await new Promise((r) => setTimeout(r, 60));
  }
  console.log(`the page answered in ${answers.join(', ')} ms during the run`);
  expect(Math.max(...answers)).toBeLessThan(400);

  const t0 = Date.now();
  await page.click('#train button[data-action=stop]');
  await page.waitForFunction(() => (document.querySelector('#train .stats')?.textContent ?? '').startsWith('Stopped at step'), { timeout: 10_000 });
  const stoppedIn = Date.now() - t0;
  const said = await trainStats(page);
  const step = Number(/^Stopped at step (\d+) of 1000 \(cpu on /.exec(said)?.[1]);
  expect(said).toMatch(/^Stopped at step \d+ of 1000 \(cpu on .*\) · loss [\d.]+ → [\d.]+\. Its checkpoint is kept in this browser: Resume goes on from it\.$/);
  expect(stoppedIn).toBeLessThan(3000);
  expect(step).toBeGreaterThanOrEqual(20);
  expect(step).toBeLessThan(1000);
  // the checkpoint of the step it stopped at; then Train, Resume and the downloads, not Stop
  await page.waitForFunction((n) => document.querySelectorAll('#train .stats')[1]?.textContent?.startsWith(`Checkpoint in this browser: step ${n},`), {}, step);
  expect(await enabled(page)).toEqual({ train: true, stop: false, resume: true, download: true, pytorch: true });
  // and nothing moves on after it: the status and the chart's legend stay as they are
  const legendValues = () => page.$$eval('#train .u-legend .u-value', (vs) => vs.map((v) => v.textContent));
  const before = [await trainStats(page), await legendValues()];
  await new Promise((r) => setTimeout(r, 1500));
  expect([await trainStats(page), await legendValues()]).toEqual(before);
  // the legend (cursor off the chart): the latest step and training loss, not uPlot's "--"
  const legend = await legendValues();
  expect(legend[0]).toBe(String(step));
  expect(legend[1]).toMatch(/^\d\.\d+$/);
  // the same last loss as the status line: both are roundings of one number (the legend's to its
  // own digits, the status to 3 decimals), so they agree within half of the coarser last digit
  const last = Number(/→ (\d+\.\d+)\./.exec(said)?.[1]);
  const legendDigits = legend[1]!.split('.')[1].length;
  expect(Math.abs(last - Number(legend[1]))).toBeLessThanOrEqual(0.5e-3 + 0.5 * 10 ** -legendDigits + 1e-12);
  await page.screenshot({ path: `${SHOTS}/playground-stopped.png`, fullPage: true });
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 60_000);

const example = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'examples', `${name}.json`), 'utf8')) as { note: string; data: { x: unknown[] } };

test("Story: Next stage pressed while another example loads shows that example's stage, never the previous one's", async () => {
  const page = await openCpu('/dist/web/index.html#story');
  await page.waitForFunction((note) => document.querySelector('#story > div:last-child > p')?.textContent === note, {}, example('linear-half-mse').note);
  expect(await page.$eval('#story select', (s) => (s as HTMLSelectElement).value)).toBe('linear-half-mse');
  // choose another example and press Next stage at once, in one go: nothing of the previous one shows
  const atOnce = await page.evaluate(() => {
    const choice = document.querySelector<HTMLSelectElement>('#story select')!;
    choice.value = 'single-neuron-sgd';
    choice.dispatchEvent(new Event('change'));
    document.querySelector<HTMLButtonElement>('#story button')!.click();
    return document.querySelectorAll('#story .stage').length;
  });
  expect(atOnce).toBe(0);
  await page.waitForSelector('#story .stage');
  const shown = () =>
    page.evaluate(() => ({
      note: document.querySelector('#story > div:last-child > p')!.textContent,
      stages: [...document.querySelectorAll('#story .stage h3')].map((e) => e.textContent),
      // the forward stage's first rows: x (input), then y (target)
      x: [...document.querySelectorAll('#story .stage:first-of-type tr')]
        .slice(1, 3)
        .map((tr) => [tr.children[0].textContent, Number(tr.children[2].textContent)]),
    }));
  const sgd = example('single-neuron-sgd');
  expect(await shown()).toMatchObject({
    note: sgd.note,
    stages: ['1. forward'],
    x: [
      ['x (input)', (sgd.data.x as number[][])[0][0]],
      ['y (target)', expect.any(Number)],
    ],
  });
  // three choices in a row, Next stage pressed after each while they load: the last one's first three stages
  await page.evaluate(() => {
    const choice = document.querySelector<HTMLSelectElement>('#story select')!;
    for (const name of ['rnn-3-day-bptt', 'linear-half-mse', 'mlp-3-3-1-sigmoid']) {
      choice.value = name;
      choice.dispatchEvent(new Event('change'));
      document.querySelector<HTMLButtonElement>('#story button')!.click();
    }
  });
  await page.waitForFunction(() => document.querySelectorAll('#story .stage').length >= 3);
  await new Promise((r) => setTimeout(r, 300));
  const mlp = example('mlp-3-3-1-sigmoid');
  expect(await shown()).toMatchObject({
    note: mlp.note,
    stages: ['1. forward', '2. loss', '3. backward'],
    x: [
      ['x (input)', 0.5],
      ['', 0.2],
    ],
  });
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 60_000);

test('Bench: each result shows once (a table row), the markdown folded in a box that does not widen the page; Run is off while it runs', async () => {
  const page = await openCpu('/dist/web/index.html#bench');
  const r = await page.evaluate(async () => {
    const start = [...document.querySelectorAll<HTMLButtonElement>('#bench button')].find((b) => b.textContent === 'Run benchmark')!;
    const going = (
      window as unknown as { playground: { bench: { run(r: object): Promise<{ results: { case: string }[]; markdown: string }> } } }
    ).playground.bench.run({ suite: 'small', quick: true, backends: ['cpu'], reps: 1 });
    const during = start.disabled;
    const out = await going;
    return { during, after: start.disabled, cases: out.results.map((x) => x.case), markdown: out.markdown };
  });
  expect(r).toMatchObject({ during: true, after: false });
  expect(r.cases.length).toBeGreaterThan(0);
  // innerText, not textContent: the text as shown (a result folded in a closed box is not shown)
  // biome-ignore lint/performance/useDomNodeTextContent: the shown text is what is checked
  const visible = await page.$eval('#bench', (e) => (e as HTMLElement).innerText);
  for (const c of r.cases) expect(visible.split(c).length - 1, c).toBe(1);
  expect(await page.$$eval('#bench table tr', (rows) => rows.length)).toBe(1 + r.cases.length);
  // the markdown, opened: all of it, in its box, and the page no wider than the window
  await page.click('#bench details.markdown summary');
  expect(await page.$eval('#bench details.markdown pre', (e) => e.textContent)).toBe(r.markdown);
  const width = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(width[0]).toBeLessThanOrEqual(width[1]);
  await page.screenshot({ path: `${SHOTS}/playground-bench.png`, fullPage: true });
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 60_000);
