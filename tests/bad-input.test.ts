// Bad data everywhere: each bad CSV, MNIST count or batch size is a SpecError naming the file and
// line or the field, raised before a device is touched; and a run refused for bad input writes
// nothing (an existing checkpoint is left as it was).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { SpecError } from '../src/errors.js';
import { runSpec } from '../src/train/runSpec.js';

const dir = mkdtempSync(join(tmpdir(), 'miya-bad-'));
const csv = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const csvSpec = (file: string, extra: Record<string, unknown> = {}) => ({
  model: { type: 'mlp', inputSize: 2, layers: [{ units: 1 }] },
  loss: 'mse',
  optimizer: { type: 'sgd', lr: 0.1 },
  data: { csv: file, ...extra },
});
const mnistSpec = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: { type: 'mlp', inputSize: 784, layers: [{ units: 10, activation: 'softmax' }] },
  loss: 'crossEntropy',
  optimizer: { type: 'sgd', lr: 0.1 },
  data: { dataset: 'mnist', ...data },
  ...extra,
});

async function refusal(spec: unknown): Promise<string> {
  const e = await runSpec(spec, { backend: 'cpu' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SpecError);
  return (e as Error).message;
}

test.each([
  ['a missing cell', 'a,b,y\n1,2,3\n4,,6\n', /a-missing-cell\.csv:3: column "b": expected a number, got an empty cell/],
  ['a non-numeric cell', 'a,b,y\n1,2,3\n4,five,6\n', /a-non-numeric-cell\.csv:3: column "b": expected a number, got "five"/],
  ['too few columns', 'a,b,y\n1,2,3\n4,5\n', /too-few-columns\.csv:3: expected 3 columns like the header, got 2/],
  ['too many columns', 'a,b,y\n1,2,3,4\n', /too-many-columns\.csv:2: expected 3 columns like the header, got 4/],
  ['an empty file', '', /an-empty-file\.csv: expected a header row and at least one data row, got an empty file/],
  ['a header alone', 'a,b,y\n', /a-header-alone\.csv: expected a header row and at least one data row/],
  ['an unclosed quote', 'a,b,y\n1,"2,3\n', /an-unclosed-quote\.csv:\d+: .*[Qq]uote/],
])('CSV with %s', async (name, text, message) => {
  expect(await refusal(csvSpec(csv(`${name.replace(/ /g, '-')}.csv`, text)))).toMatch(message);
});

test('CSV: a missing file, an unknown column, a window longer than the file', async () => {
  expect(await refusal(csvSpec(join(dir, 'absent.csv')))).toMatch(/data\.csv: cannot read .*absent\.csv \(ENOENT\)/);
  const ok = csv('ok.csv', 'a,b,y\n1,2,3\n4,5,6\n');
  expect(await refusal(csvSpec(ok, { inputs: ['a', 'c'] }))).toMatch(/data\.inputs: column "c" is not in .*ok\.csv \(columns: a, b, y\)/);
  const rnn = { ...csvSpec(ok, { window: 5 }), model: { type: 'rnn', inputSize: 2, hiddenSize: 2, outputSize: 1 } };
  expect(await refusal(rnn)).toMatch(/data\.window: .*ok\.csv has 2 rows, too few for windows of 5/);
});

test('a CSV error quotes at most 20 characters of a cell and of its column, and 40 of the header, escaped', async () => {
  const long = `c${'o'.repeat(60)}l\u001b[31m`;
  const cell = `v${'a'.repeat(18)}\u0007${'l'.repeat(60)}`;
  const m = await refusal(csvSpec(csv('long.csv', `a,${long},y\n1,${cell},3\n`)));
  expect(m).toMatch(/long\.csv:2: column "co{19}…": expected a number, got "va{18}\\u0007…"$/);
  expect(m).not.toMatch(/[\u0000-\u001f]|lll|ooooooooooooooooooooo/);
  const header = Array.from({ length: 12 }, (_v, i) => `column${i}\u001b`).join(',');
  const wide = csv('wide.csv', `${header},y\n${'1,'.repeat(12)}2\n`);
  const missing = await refusal(csvSpec(wide, { inputs: ['nope'] }));
  expect(missing).toMatch(
    /data\.inputs: column "nope" is not in .*wide\.csv \(columns: column0\\x1b, column1\\x1b, column2\\x1b, column3\\x1b, column4\\x1b, … \(13 columns\)\)$/,
  );
});

test.each([
  ['train + test over the 10,000 digits', { train: 9000, test: 2000 }, {}, /data\.train: train \+ test must be at most 10000 .*got 9000 \+ 2000/],
  ['zero training digits', { train: 0 }, {}, /data\.train: expected an integer ≥ 1, got 0/],
  ['a negative test count', { test: -5 }, {}, /data\.test: expected an integer ≥ 1, got -5/],
  ['a fractional count', { train: 10.5 }, {}, /data\.train: expected an integer ≥ 1, got 10\.5/],
  ['a negative batch size', { train: 100 }, { batchSize: -8 }, /batchSize: expected an integer ≥ 1, got -8/],
  ['a fractional batch size', { train: 100 }, { batchSize: 2.5 }, /batchSize: expected an integer ≥ 1, got 2\.5/],
  ['a batch size that is a string', { train: 100 }, { batchSize: '64' }, /batchSize: expected an integer ≥ 1, got "64"/],
  ['negative epochs', { train: 100 }, { epochs: -1 }, /epochs: expected an integer ≥ 1, got -1/],
])('MNIST with %s', async (_, data, extra, message) => {
  expect(await refusal(mnistSpec(data, extra))).toMatch(message);
});

test('a run refused for bad input writes nothing and leaves an existing checkpoint as it was', () => {
  const root = join(import.meta.dirname, '..');
  const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const fresh = join(dir, 'fresh.safetensors');
  const bad = csv('bad-spec.json', JSON.stringify(csvSpec(csv('cells.csv', 'a,b,y\n1,x,3\n'))));
  let r = miya('train', bad, '--backend', 'cpu', '--checkpoint', fresh);
  expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/cells\.csv:2: column "b": expected a number, got "x"/)]);
  expect(existsSync(fresh)).toBe(false);
  const kept = join(dir, 'kept.safetensors');
  expect(miya('train', 'examples/mlp-3-3-1-sigmoid.json', '--backend', 'cpu', '--checkpoint', kept).status).toBe(0);
  const before = readFileSync(kept);
  r = miya('train', bad, '--backend', 'cpu', '--checkpoint', kept);
  expect(r.status).toBe(2);
  expect(readFileSync(kept).equals(before)).toBe(true);
  r = miya('import', kept, '--out', join(dir, 'never.json'), '--spec', bad);
  expect(r.status).toBe(2);
  expect(existsSync(join(dir, 'never.json'))).toBe(false);
});
