// Text from a character model (issue 14): sampleText and `miya sample` on a small model trained
// here — deterministic for a seed, temperature 0 the likeliest character every time (the learnt
// pattern), higher temperatures wilder, the same text on every backend; the draw against
// softmax(z / t) over many draws; bad input exits 2 naming it; and the shipped char-lstm example
// training with its loss falling.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import { SpecError } from '../src/errors.js';
import { encodeCheckpoint } from '../src/io/checkpoint.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { checkpointOf } from '../src/train/checkpointing.js';
import { type CharModel, draw, sampleText } from '../src/train/sample.js';
import { Trainer } from '../src/train/trainer.js';
import { backendCases, testBackends } from './backends.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'miya-sample-'));
const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const backends = await backendCases();

// a text with one pattern to learn: "the cat. " again and again
const TEXT = 'the cat. '.repeat(60);
const textFile = join(dir, 'cat.txt');
writeFileSync(textFile, TEXT);
const spec: RunSpec = validateSpec({
  model: {
    type: 'sequential',
    layers: [
      { type: 'embedding', vocab: 7, units: 8 },
      { type: 'lstm', units: 24, returnSequences: true },
      { type: 'dense', units: 7 },
    ],
  },
  loss: 'crossEntropy',
  optimizer: { type: 'adam', lr: 0.05 },
  data: { text: textFile, window: 7 },
  batchSize: 16,
  steps: 120,
  shuffle: true,
  seed: 2,
});
let model: CharModel;
const ckptFile = join(dir, 'cat.ckpt');

beforeAll(async () => {
  const trainer = new Trainer(new CpuBackend(), spec, await loadDataset(spec));
  await trainer.train();
  const c = await checkpointOf(trainer);
  model = c;
  writeFileSync(ckptFile, await encodeCheckpoint(c, trainer.batchesPerEpoch));
  trainer.dispose();
}, 120_000);

test('draw: temperature 0 takes the largest logit; otherwise the frequencies of softmax(z / t)', () => {
  expect(draw([0.1, 3, -1, 3], 0, () => 0.99)).toBe(1); // the first of equals
  const z = [1, 0, -1, 2];
  let s = 7;
  const u = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  for (const t of [1, 0.5, 3]) {
    const counts = [0, 0, 0, 0],
      N = 40_000;
    for (let i = 0; i < N; i++) counts[draw(z, t, u)]++;
    const e = z.map((v) => Math.exp(v / t)),
      total = e.reduce((a, b) => a + b, 0);
    // each frequency within 5 binomial sds of its probability
    e.forEach((w, i) => {
      const p = w / total;
      expect(Math.abs(counts[i] / N - p), `t ${t}, class ${i}`).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    });
  }
});

test('the same seed gives the same text; another seed other text; temperature 0 continues the pattern learnt', async () => {
  const be = new CpuBackend();
  const a = await sampleText(be, model, { length: 80, prime: 'the', seed: 4 });
  expect(await sampleText(be, model, { length: 80, prime: 'the', seed: 4 })).toBe(a);
  expect(a.startsWith('the')).toBe(true);
  expect(Array.from(a)).toHaveLength(83);
  const wild = await sampleText(be, model, { length: 80, prime: 'the', seed: 5, temperature: 4 });
  expect(wild).not.toBe(await sampleText(be, model, { length: 80, prime: 'the', seed: 6, temperature: 4 }));
  // the likeliest character every time: the text itself, whatever the seed
  const greedy = await sampleText(be, model, { length: 40, prime: 'the c', seed: 1, temperature: 0 });
  expect(greedy).toBe(TEXT.slice(0, 45));
  expect(await sampleText(be, model, { length: 40, prime: 'the c', seed: 99, temperature: 0 })).toBe(greedy);
});

test('a lower temperature keeps closer to the text: fewer of its 9-character windows are new', async () => {
  const be = new CpuBackend();
  const novel = (s: string) => {
    let n = 0;
    for (let i = 0; i + 9 <= s.length; i++) if (!TEXT.includes(s.slice(i, i + 9))) n++;
    return n;
  };
  const at = async (t: number) => {
    let n = 0;
    for (const seed of [1, 2, 3]) n += novel(await sampleText(be, model, { length: 100, prime: 'the', seed, temperature: t }));
    return n;
  };
  const [cool, hot] = [await at(0.5), await at(3)];
  expect(cool).toBeLessThan(hot);
  expect(hot).toBeGreaterThan(30);
});

testBackends(backends, "on %s: temperature 0 gives the cpu's text; a seed gives the same text twice", async (_, be) => {
  const cpu = await sampleText(new CpuBackend(), model, { length: 30, prime: 'cat', temperature: 0 });
  expect(await sampleText(be, model, { length: 30, prime: 'cat', temperature: 0 })).toBe(cpu);
  const once = await sampleText(be, model, { length: 30, prime: 'cat', seed: 8 });
  expect(await sampleText(be, model, { length: 30, prime: 'cat', seed: 8 })).toBe(once);
});

test('the library refuses a prime character outside the vocabulary, naming it, and a model without one', async () => {
  const be = new CpuBackend();
  await expect(sampleText(be, model, { prime: 'the dog' })).rejects.toThrow(/^prime: character 5, "d", is not in the model's vocabulary of 7 characters/);
  await expect(sampleText(be, { ...model, vocabulary: undefined })).rejects.toThrow(SpecError);
  await expect(sampleText(be, model, { temperature: -1 })).rejects.toThrow(/^temperature: /);
});

test('miya sample: deterministic for a seed, the prime first; bad input exits 2 naming it', () => {
  const r = miya('sample', ckptFile, '--length', '60', '--seed', '3', '--prime', 'the ', '--backend', 'cpu');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout.startsWith('the ')).toBe(true);
  expect(Array.from(r.stdout.trimEnd()).length).toBeGreaterThan(40);
  expect(miya('sample', ckptFile, '--length', '60', '--seed', '3', '--prime', 'the ', '--backend', 'cpu').stdout).toBe(r.stdout);
  expect(miya('sample', ckptFile, '--length', '30', '--temperature', '0', '--prime', 'the c', '--backend', 'cpu').stdout).toBe(TEXT.slice(0, 35) + '\n');
  const bad = (args: string[], message: RegExp) => {
    const b = miya('sample', ...args);
    expect(b.status, b.stderr).toBe(2);
    expect(b.stderr).toMatch(message);
    expect(b.stdout).toBe('');
  };
  bad([ckptFile, '--prime', 'thez'], /^miya sample: --prime: character 4, "z", is not in the model's vocabulary/);
  bad([ckptFile, '--temperature=-1'], /^miya sample: --temperature: expected a number ≥ 0, got "-1"/);
  bad([ckptFile, '--length', 'x'], /^miya sample: --length: expected an integer ≥ 0/);
  bad([], /^miya sample: CHECKPOINT: expected the path of a checkpoint/);
  bad([join(dir, 'missing.ckpt')], /^miya sample: .*missing\.ckpt/);
  expect(miya('sample', '--help').stdout).toMatch(/--temperature t/);
});

test("the char-lstm example (examples/char-lstm.json on the GPL's text) trains: its loss falls in 12 steps", async () => {
  // --json prints every parameter too: more than spawnSync's default 1 MiB of stdout
  const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', 'examples/char-lstm.json', '--backend', 'cpu', '--steps', '12', '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 2 ** 26,
  });
  expect(r.status, r.stderr).toBe(0);
  const losses = (JSON.parse(r.stdout) as { losses: number[] }).losses;
  expect(losses).toHaveLength(12);
  expect(losses[0]).toBeGreaterThan(4); // about ln 76 = 4.33 at the start
  expect(Math.max(...losses.slice(-3))).toBeLessThan(losses[0] - 0.8);
}, 120_000);
