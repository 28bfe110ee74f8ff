// The Train tab with a character model, headless (the built dist/web in Debian's Chromium, the
// CPU backend, a few steps): the page's character LSTM (examples/char-lstm.json on
// examples/gpl-3.txt, bundled with the page) shows text it generates while it trains, every few
// steps, each sample drawn by the library's sampleText in the worker from the parameters of that
// step: the samples change as training goes, use only the text's characters, and the last one is
// what sampleText in Node draws from the checkpoint the run kept. A user's own text, chosen from
// disk beside their spec, trains through the Train button, and its samples come to look like the
// text (more of their three-character runs occur in it); with early stopping the last sample is
// drawn from the restored best epoch's parameters and says so; a spec whose text was not chosen
// is refused naming data.text. Screenshots go to test-results/playground-text*.png.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { expect, test } from 'vitest';
import { SHOTS, usePlayground } from './browser/playgroundPage.js';
import { CpuBackend } from '../src/cpu/backend.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import { sampleText } from '../src/train/sample.js';

const pg = usePlayground();
const openCpu = pg.openCpu;

interface Sample {
  step: number;
  text: string;
}
interface Run {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  samples: (Sample & { restored?: boolean })[];
  earlyStopping?: { restored: boolean };
}

/**
 * A Train run through the page's API, watched: each sample the page shows (.sample, its step and
 * text) as it appears, and whether the run was still going then (the status line not yet final).
 */
function watchedRun(page: Page, run: object): Promise<Run & { appeared: (Sample & { during: boolean })[] }> {
  return page.evaluate(async (r) => {
    const appeared: (Sample & { during: boolean })[] = [];
    let done = false;
    const box = document.querySelector('#train .samples')!;
    const watch = new MutationObserver((records) => {
      for (const rec of records) {
        for (const n of rec.addedNodes) {
          const e = n as HTMLElement;
          if (e.classList?.contains('sample')) appeared.push({ step: Number(e.dataset.step), text: e.querySelector('pre')!.textContent!, during: !done });
        }
      }
    });
    watch.observe(box, { childList: true });
    type Train = { run(r: object): Promise<Run> };
    const out = await (window as unknown as { playground: { train: Train } }).playground.train.run(r);
    done = true;
    for (const rec of watch.takeRecords())
      for (const n of rec.addedNodes)
        appeared.push({ step: Number((n as HTMLElement).dataset.step), text: (n as HTMLElement).querySelector('pre')!.textContent!, during: false });
    watch.disconnect();
    return { ...out, appeared };
  }, run);
}

/** The checkpoint a model's run left in IndexedDB (idb-keyval's store), as bytes. */
const storedBytes = (page: Page, model: string) =>
  page.evaluate(async (m) => {
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const q = indexedDB.open('keyval-store');
      q.onsuccess = () => ok(q.result);
      q.onerror = () => fail(q.error);
    });
    const stored = await new Promise<{ bytes: Uint8Array }>((ok, fail) => {
      const q = db.transaction('keyval').objectStore('keyval').get(`miya-checkpoint:${m}`);
      q.onsuccess = () => ok(q.result);
      q.onerror = () => fail(q.error);
    });
    db.close();
    return Array.from(stored.bytes);
  }, model);

test("Train: the character LSTM shows samples as it trains, drawn in the worker; they change with training, and the last is sampleText's from the checkpoint kept", async () => {
  const gpl = readFileSync(join(import.meta.dirname, '..', 'examples', 'gpl-3.txt'), 'utf8');
  const chars = new Set(Array.from(gpl));
  const page = await openCpu('/dist/web/index.html#train');
  await page.waitForFunction(() => !!(window as unknown as { playground?: unknown }).playground);
  expect(await page.$$eval('#train select:first-of-type option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toContain('char-lstm');
  const LENGTH = 60;
  const r = await watchedRun(page, { model: 'char-lstm', backend: 'cpu', steps: 9, reportEvery: 3, sampleEvery: 3, sampleLength: LENGTH });
  console.log(r.samples.map((s) => `${s.step}: ${JSON.stringify(s.text)}`).join('\n'));
  expect(r.steps).toBe(9);
  expect(r.lastLoss).toBeLessThan(r.firstLoss);
  // after steps 3, 6 and 9, shown as they came: the first two while the run went on
  expect(r.samples.map((s) => s.step)).toEqual([3, 6, 9]);
  expect(r.appeared.map(({ step, text }) => ({ step, text }))).toEqual(r.samples);
  expect(r.appeared.slice(0, 2).every((s) => s.during)).toBe(true);
  // the prime (a newline, which the text has) and LENGTH characters of the text's own
  for (const s of r.samples) {
    expect(s.text.startsWith('\n')).toBe(true);
    expect(Array.from(s.text)).toHaveLength(1 + LENGTH);
    expect(
      Array.from(s.text).every((c) => chars.has(c)),
      s.text,
    ).toBe(true);
  }
  // one seed throughout: what changes them is the training
  expect(new Set(r.samples.map((s) => s.text)).size).toBe(3);
  // the last: sampleText in Node on the checkpoint the page kept (the parameters after step 9), the same seed and temperature
  const ckpt = await decodeCheckpoint(new Uint8Array(await storedBytes(page, 'char-lstm')), "the page's char-lstm checkpoint");
  expect(ckpt.step).toBe(9);
  const again = await sampleText(
    new CpuBackend(),
    { spec: ckpt.spec, params: ckpt.params, vocabulary: ckpt.vocabulary },
    { length: LENGTH, temperature: 0.7, seed: 1 },
  );
  expect(again).toBe(r.samples[2].text);
  expect(await page.$$eval('#train .sample', (s) => s.length)).toBe(3);
  await page.screenshot({ path: `${SHOTS}/playground-text.png`, fullPage: true });
  // Download for PyTorch: the export's files and the page's own text, which train.py reads as data.text
  const downloads = mkdtempSync(join(tmpdir(), 'miya-text-downloads-'));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  const names = await page.evaluate(() =>
    (window as unknown as { playground: { train: { downloadPytorch(m: string): Promise<string[]> } } }).playground.train.downloadPytorch('char-lstm'),
  );
  expect(names).toEqual(['model.safetensors', 'miya_model.py', 'train.py', 'train_state.safetensors', 'gpl-3.txt']);
  for (let i = 0; i < 200 && !existsSync(join(downloads, 'gpl-3.txt')); i++) await new Promise((ok) => setTimeout(ok, 50));
  expect(readFileSync(join(downloads, 'gpl-3.txt'), 'utf8')).toBe(gpl);
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 180_000);

/** The share of a sample's three-character runs (after the prime) that occur in the text. */
function trigramsIn(sample: string, text: string): number {
  const s = sample.slice(1);
  let hit = 0,
    all = 0;
  for (let i = 0; i + 3 <= s.length; i++, all++) if (text.includes(s.slice(i, i + 3))) hit++;
  return hit / all;
}

test("Train: a user's own text chosen beside their spec trains through the Train button; its samples come to look like the text; without the text the page names data.text", async () => {
  const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(12);
  const vocab = new Set(Array.from(text)).size;
  const spec = {
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab, units: 8 },
        { type: 'lstm', units: 32, returnSequences: true },
        { type: 'dense', units: vocab },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.02 },
    data: { text: 'cats.txt', window: 16 },
    batchSize: 8,
    steps: 50,
    shuffle: true,
    seed: 3,
  };
  const dir = mkdtempSync(join(tmpdir(), 'miya-text-'));
  writeFileSync(join(dir, 'cats.txt'), text);
  writeFileSync(join(dir, 'cats.json'), JSON.stringify(spec));
  const page = await openCpu('/dist/web/index.html#train');
  const chooser = (await page.$('#train input[type=file]'))!;
  await chooser.uploadFile(join(dir, 'cats.json'), join(dir, 'cats.txt'));
  await page.waitForFunction(() => (document.querySelector('#train select') as HTMLSelectElement).value === 'own-cats');
  expect(await page.$eval('#train .stats', (e) => e.textContent)).toBe('Chosen: cats.json with cats.txt. Press Train.');
  await page.click('#train button[data-action=train]');
  await page.waitForFunction(() => /steps in|^Stopped/.test(document.querySelector('#train .stats')?.textContent ?? ''), { timeout: 120_000 });
  expect(await page.$eval('#train .stats', (e) => e.textContent)).toMatch(/^cpu on .* · 50 steps in [\d.]+ s · loss [\d.]+ → [\d.]+$/);
  // a sample every 25 steps (the page's default), no predictions table for text
  const shown = await page.$$eval('#train .sample', (ss) =>
    ss.map((s) => ({ step: Number((s as HTMLElement).dataset.step), text: s.querySelector('pre')!.textContent! })),
  );
  expect(shown.map((s) => s.step)).toEqual([25, 50]);
  expect(await page.$$eval('#train table.predictions', (t) => t.length)).toBe(0);
  await page.screenshot({ path: `${SHOTS}/playground-text-own.png`, fullPage: true });
  // through the API, a sample every 10 steps: the last's three-character runs occur in the text more often than the first's
  const r = await watchedRun(page, { model: 'own-cats', spec, files: { 'cats.txt': text }, backend: 'cpu', steps: 60, sampleEvery: 10, sampleLength: 80 });
  const share = r.samples.map((s) => trigramsIn(s.text, text));
  console.log(r.samples.map((s, i) => `${s.step} (${share[i].toFixed(2)}): ${JSON.stringify(s.text)}`).join('\n'));
  expect(r.samples.map((s) => s.step)).toEqual([10, 20, 30, 40, 50, 60]);
  expect(share[5]).toBeGreaterThan(share[0] + 0.2);
  expect(share[5]).toBeGreaterThan(0.8);
  // with early stopping (restoreBest) on held-out windows: the run (all of the spec's steps) ends
  // with the best epoch's parameters, and a last sample drawn from them, said so, which is the kept checkpoint's
  const stopping = { ...spec, data: { ...spec.data, test: 5 }, earlyStopping: { patience: 2 }, steps: 40 };
  const es = await watchedRun(page, { model: 'own-cats', spec: stopping, files: { 'cats.txt': text }, backend: 'cpu', sampleEvery: 20, sampleLength: 40 });
  expect(es.earlyStopping?.restored).toBe(true);
  const last = es.samples.at(-1)!;
  expect(last).toMatchObject({ step: es.steps, restored: true });
  expect(es.samples.slice(0, -1).every((x) => !x.restored)).toBe(true);
  expect(await page.$eval('#train .sample:last-child div', (d) => d.textContent)).toBe(`after step ${es.steps} (the best epoch's parameters, restored):`);
  const kept = await decodeCheckpoint(new Uint8Array(await storedBytes(page, 'own-cats')), "the page's own-cats checkpoint");
  expect(
    await sampleText(new CpuBackend(), { spec: kept.spec, params: kept.params, vocabulary: kept.vocabulary }, { length: 40, temperature: 0.7, seed: 3 }),
  ).toBe(last.text);
  // the spec alone: its text is missing, said with its JSON path
  await chooser.uploadFile(join(dir, 'cats.json'));
  await page.waitForFunction(() => /^Chosen: cats\.json\. /.test(document.querySelector('#train .stats')?.textContent ?? ''));
  await page.click('#train button[data-action=train]');
  await page.waitForFunction(() => /^Stopped: /.test(document.querySelector('#train .stats')?.textContent ?? ''), { timeout: 30_000 });
  expect(await page.$eval('#train .stats', (e) => e.textContent)).toBe(
    'Stopped: data.text: cats.txt is not among the files chosen with the spec: choose it too',
  );
  await page.close();
  expect(pg.headless.errors).toEqual([]);
}, 180_000);
