// `miya train` with the training controls: --json carries every step's rate (lrs), the per-epoch
// history and the early-stopping outcome; the progress bar and the summary show the rate; a bad
// control is refused with exit 2 naming its JSON path, and nothing is written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { mat, rng, vec } from './oracle/random.js';

const root = join(import.meta.dirname, '..');
const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'miya-controls-cli-'));

function specFile(name: string, extra: Record<string, unknown>): string {
  const r = rng(7);
  const rows = Array.from({ length: 20 }, () => {
    const x = vec(r, 2, 1);
    return [...x, Math.tanh(x[0] * x[1]) + r(-0.3, 0.3)];
  });
  writeFileSync(join(dir, `${name}.csv`), ['a,b,y', ...rows.map((v) => v.join(','))].join('\n') + '\n');
  const spec = {
    model: {
      type: 'mlp',
      inputSize: 2,
      layers: [
        { units: 5, activation: 'tanh', weights: mat(r, 5, 2, 1), bias: vec(r, 5, 0.3) },
        { units: 1, weights: mat(r, 1, 5, 1), bias: [0] },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.8 },
    data: { csv: `${name}.csv`, test: 4 },
    batchSize: 4,
    ...extra,
  };
  const f = join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(spec));
  return f;
}

test("train --json adds lrs (every step's rate), history (per epoch: loss, held-out loss, lr) and the early-stopping outcome", () => {
  const f = specFile('json', { steps: 40, schedule: { type: 'step', every: 8, gamma: 0.5, warmup: 2 }, earlyStopping: { patience: 50 } });
  const r = miya('train', f, '--backend', 'cpu', '--json');
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.lrs).toHaveLength(40);
  expect(out.lrs.slice(0, 3)).toEqual([0.4, 0.8, 0.8]);
  expect(out.lrs[39]).toBe(0.8 * 0.5 ** 4);
  expect(out.history).toHaveLength(10); // 16 training samples in batches of 4
  for (const [e, h] of out.history.entries()) {
    expect(Object.keys(h).sort()).toEqual(['epoch', 'loss', 'lr', 'testLoss']);
    expect(h.epoch).toBe(e + 1);
    expect(h.lr).toBe(out.lrs[4 * e + 3]);
    expect(h.loss).toBeCloseTo(out.losses.slice(4 * e, 4 * e + 4).reduce((a: number, b: number) => a + b) / 4, 12);
  }
  expect(out.earlyStopping.bestLoss).toBe(Math.min(...out.history.map((h: { testLoss: number }) => h.testLoss)));
});

test("the bar shows the rate, the summary the schedule's first and last rate and where early stopping stopped", () => {
  const f = specFile('text', { steps: 400, schedule: { type: 'exponential', gamma: 0.99 }, earlyStopping: { patience: 2, minDelta: 0.01 } });
  const r = miya('train', f, '--backend', 'cpu');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/\| lr 0\.\d{4}/);
  expect(r.stdout).toMatch(/^lr: 0\.8000 \(step 1\) → 0\.\d{4} \(step \d+\)$/m);
  expect(r.stdout).toMatch(
    /^early stopping: stopped after epoch \d+, the held-out loss not improving by more than minDelta; best epoch \d+ \(held-out loss \d\.\d{4}\), its parameters restored$/m,
  );
});

test.each([
  ['clipNorm 0', { optimizer: { type: 'sgd', lr: 0.1, clipNorm: 0 } }, 'optimizer.clipNorm'],
  ['a negative weight decay', { optimizer: { type: 'adamw', lr: 0.1, weightDecay: -1 } }, 'optimizer.weightDecay'],
  ['a step schedule without gamma', { schedule: { type: 'step', every: 3 } }, 'schedule.gamma'],
  ['early stopping patience 0', { earlyStopping: { patience: 0 } }, 'earlyStopping.patience'],
])('%s: exit 2 naming the JSON path, no checkpoint written', (_name, extra, path) => {
  const f = specFile(`bad-${path}`, { steps: 3, ...extra });
  const ckpt = join(dir, `bad-${path}.safetensors`);
  const r = miya('train', f, '--backend', 'cpu', '--checkpoint', ckpt);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(path);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(existsSync(ckpt)).toBe(false);
});

test('plateau without a held-out set: exit 2 naming schedule', () => {
  const f = specFile('noheld', { steps: 3, schedule: { type: 'plateau', factor: 0.5, patience: 2 } });
  const spec = JSON.parse(readFileSync(f, 'utf8'));
  delete spec.data.test;
  writeFileSync(f, JSON.stringify(spec));
  const r = miya('train', f, '--backend', 'cpu');
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^miya train: schedule: the plateau schedule needs a held-out set/m);
});
