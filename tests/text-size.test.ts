// A text file (data.text) is read whole up to MAX_TEXT_BYTES (readRegularText's bound, exact to
// the byte); past it, it is not refused but streamed (src/data/textStream.ts,
// tests/text-stream.test.ts), so a 17 MiB text is read and checked like any other: here its one
// distinct character against the model's vocab, which `miya train` says in one line with exit 2,
// writing nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadDataset } from '../src/data/load.js';
import { MAX_TEXT_BYTES } from '../src/data/text.js';
import { SpecError } from '../src/errors.js';
import { readRegularText } from '../src/io/regularFile.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'miya-text-size-'));
const raw = (text: string) => ({
  model: {
    type: 'sequential',
    layers: [
      { type: 'embedding', vocab: 3, units: 2 },
      { type: 'lstm', units: 2, returnSequences: true },
      { type: 'dense', units: 3, activation: 'identity' },
    ],
  },
  loss: 'crossEntropy',
  optimizer: { type: 'sgd', lr: 0.1 },
  data: { text, window: 4 },
  steps: 1,
});
test('a 17 MiB text is streamed, not refused: its vocabulary (one character, NUL) is checked against the model', async () => {
  const big = join(dir, 'big.txt');
  writeFileSync(big, '');
  truncateSync(big, 17 * 2 ** 20); // sparse: 17 MiB of NUL, past the whole-read bound
  expect(MAX_TEXT_BYTES).toBe(16 * 2 ** 20);
  const err = await loadDataset(validateSpec(raw(big)) as RunSpec).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpecError);
  expect((err as Error).message).toBe(`model.layers[0].vocab: expected 1, the number of distinct characters in ${big}, got 3`);
});

test("the bound is the file's size: at the bound a text is read, one byte past it is refused", async () => {
  const f = join(dir, 'abc.txt');
  writeFileSync(f, 'abcabcabca'); // 10 bytes
  const n = { at: 'data.text', file: f, subject: `${f} ` };
  await expect(readRegularText(f, n, 10, 'a text file')).resolves.toBe('abcabcabca');
  await expect(readRegularText(f, n, 9, 'a text file')).rejects.toThrow(
    new SpecError('data.text', `${f} is 10 bytes; Miya reads at most 9 bytes of a text file`),
  );
});

test("miya train refuses the 17 MiB text's wrong vocab in one line, exit 2, no checkpoint written", () => {
  const big = join(dir, 'big2.txt');
  writeFileSync(big, '');
  truncateSync(big, 17 * 2 ** 20);
  const spec = join(dir, 'spec.json'),
    ckpt = join(dir, 'never.safetensors');
  writeFileSync(spec, JSON.stringify(raw(big)));
  const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', spec, '--backend', 'cpu', '--checkpoint', ckpt], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trimEnd()).toBe(`miya train: model.layers[0].vocab: expected 1, the number of distinct characters in ${big}, got 3`);
  expect(existsSync(ckpt)).toBe(false);
});
