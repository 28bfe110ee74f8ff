// Text data for a character model (issue 14): the vocabulary, windows and next-character targets
// of a small text against a hand computation; the held-out windows; the vocabulary kept in a
// checkpoint; and the bad input (a short text, an empty one, a directory, a wrong vocab size).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import { textDatasets, vocabularyOf } from '../src/data/text.js';
import { SpecError } from '../src/errors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/io/checkpoint.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { checkpointOf } from '../src/train/checkpointing.js';
import { Trainer } from '../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'miya-text-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** embedding(V) → lstm(4, sequences) → dense V, on data.text. */
const spec = (text: string, V: number, window: number, test?: number): RunSpec =>
  validateSpec({
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: V, units: 3 },
        { type: 'lstm', units: 4, returnSequences: true },
        { type: 'dense', units: V },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.01 },
    data: { text, window, ...(test ? { test } : {}) },
    batchSize: 2,
    steps: 3,
  });

test('the vocabulary, the windows and the next-character targets of "hello, world!" with window 4, by hand', async () => {
  const text = 'hello, world!';
  // distinct characters sorted by code point: ' ' ! , d e h l o r w
  expect(vocabularyOf(text)).toEqual([' ', '!', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
  const sets = await loadDataset(spec(file('hello.txt', text), 10, 4));
  const d = sets.train;
  const id = (s: string) => Array.from(s).map((c) => [' ', '!', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w'].indexOf(c));
  // 13 characters: ⌊12 / 4⌋ = 3 windows, "hell" "o, w" "orld", each targeting the text one further
  expect(d.n).toBe(3);
  expect(Array.from(d.x)).toEqual(id('hello, world'));
  expect(Array.from(d.y)).toEqual([...id('ello'), ...id(', wo'), ...id('rld!')]);
  expect([d.steps, d.features, d.outputs, d.targetSteps, d.classIndex]).toEqual([4, 1, 10, 4, true]);
  expect(d.vocabulary).toEqual(vocabularyOf(text));
  expect(sets.test).toBeUndefined();
});

test('data.test holds out the last windows; characters beyond the Basic Multilingual Plane count as one', () => {
  const text = 'ab😀ab😀ba😀ab😀ab'; // 14 code points, 3 distinct: a b 😀
  const s = spec('mem.txt', 3, 3, 1);
  const { train, test: held } = textDatasets(text, s.data as never, s.model, 'mem.txt');
  expect(vocabularyOf(text)).toEqual(['a', 'b', '😀']);
  // ⌊13 / 3⌋ = 4 windows: 3 to train on, the last held out
  expect([train.n, held!.n]).toEqual([3, 1]);
  expect(Array.from(held!.x)).toEqual([0, 1, 2]); // "ab😀" at characters 9..11
  expect(Array.from(held!.y)).toEqual([1, 2, 0]); // "b😀a"
});

test('a text model trains, and its checkpoint keeps the vocabulary (checked when read back)', async () => {
  const text = 'the cat sat on the mat. the cat sat on the hat.';
  const V = vocabularyOf(text).length;
  const s = spec(file('cat.txt', text), V, 5);
  const trainer = new Trainer(new CpuBackend(), s, await loadDataset(s));
  const losses = await trainer.train();
  expect(losses.length).toBe(3);
  const bytes = await encodeCheckpoint(await checkpointOf(trainer), trainer.batchesPerEpoch);
  const back = await decodeCheckpoint(bytes, 'cat.ckpt');
  expect(back.vocabulary).toEqual(vocabularyOf(text));
  trainer.dispose();
  // a vocabulary of the wrong size is refused (the checksum would catch an edit; here it is re-signed)
  const c = await checkpointOf(new Trainer(new CpuBackend(), s, await loadDataset(s)));
  const wrong = await encodeCheckpoint({ ...c, vocabulary: ['a', 'b'] }, 1);
  await expect(decodeCheckpoint(wrong, 'cat.ckpt')).rejects.toThrow(/^cat\.ckpt: metadata\.vocabulary: expected a list of \d+ distinct characters/);
});

async function loadError(s: () => RunSpec): Promise<string> {
  try {
    await loadDataset(s());
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as Error).message;
  }
  return 'loaded';
}

test("bad text data: too short for a window, empty, not a regular file, a vocab that is not the text's, no held-out room", async () => {
  expect(await loadError(() => spec(file('short.txt', 'abcd'), 4, 4))).toMatch(
    /^data\.text: .*short\.txt has 4 characters; expected at least data\.window \+ 1 = 5/,
  );
  expect(await loadError(() => spec(file('empty.txt', ''), 1, 1))).toMatch(/^data\.text: .*empty\.txt is empty; expected text/);
  const sub = join(dir, 'folder');
  mkdirSync(sub, { recursive: true });
  expect(await loadError(() => spec(sub, 2, 1))).toMatch(/^data\.text: .*is a directory; expected a regular file/);
  expect(await loadError(() => spec(join(dir, 'missing.txt'), 2, 1))).toMatch(/^data\.text: cannot read/);
  expect(await loadError(() => spec(file('v.txt', 'abcabcabc'), 4, 2))).toMatch(
    /^model\.layers\[0\]\.vocab: expected 3, the number of distinct characters in .*v\.txt, got 4/,
  );
  expect(await loadError(() => spec(file('t.txt', 'abcabcabc'), 3, 2, 4))).toMatch(/^data\.test: expected fewer than the 4 windows/);
  expect(await loadError(() => spec(file('ok.txt', 'abcabcabc'), 3, 2, 3))).toBe('loaded');
});

test('the spec: text data needs an embedding first, a prediction every step and crossEntropy', () => {
  const err = (edit: (s: Record<string, any>) => void) => {
    const s: Record<string, any> = {
      model: {
        type: 'sequential',
        layers: [
          { type: 'embedding', vocab: 3, units: 3 },
          { type: 'lstm', units: 4, returnSequences: true },
          { type: 'dense', units: 3 },
        ],
      },
      loss: 'crossEntropy',
      optimizer: { type: 'sgd', lr: 0.1 },
      data: { text: 'a.txt', window: 4 },
    };
    edit(s);
    try {
      validateSpec(s);
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      return (e as Error).message;
    }
    return 'accepted';
  };
  expect(err(() => {})).toBe('accepted');
  expect(
    err((s) => {
      s.model.layers[1].returnSequences = false;
    }),
  ).toMatch(/^model\.layers: .*predicts at every step/);
  expect(
    err((s) => {
      s.loss = 'mse';
    }),
  ).toMatch(/^loss: expected "crossEntropy" for text data/);
  expect(
    err((s) => {
      s.model.layers.shift();
      s.model.inputSize = 2;
    }),
  ).toMatch(/^model\.layers\[0\]\.type: expected "embedding" for text data/);
  expect(
    err((s) => {
      delete s.data.window;
    }),
  ).toMatch(/^data\.window/);
  expect(
    err((s) => {
      s.data.window = 0;
    }),
  ).toMatch(/^data\.window/);
  expect(
    err((s) => {
      s.data.text = '';
    }),
  ).toMatch(/^data\.text: expected a file path/);
  expect(
    err((s) => {
      s.data.x = [[1]];
    }),
  ).toMatch(/^data\.x: /);
});

test('held-out accuracy on class-index targets: the fraction of steps whose argmax is the next character (against predict)', async () => {
  const text = 'abcdefg'.repeat(12); // 84 characters: 16 windows of 5, each a different phase of the pattern
  const V = vocabularyOf(text).length;
  const s = { ...spec(file('acc.txt', text), V, 5, 4), steps: 60, optimizer: { type: 'adam', lr: 0.05 } } as RunSpec;
  const be = new CpuBackend();
  const data = await loadDataset(s);
  const trainer = new Trainer(be, s, data);
  await trainer.train();
  const ev = await trainer.evaluate();
  const { predict } = await import('../src/train/predict.js');
  const test = data.test!,
    T = 5;
  const yhat = await predict(be, s, { n: test.n, steps: T, x: test.x }, await trainer.session.readParams());
  let right = 0;
  for (let i = 0; i < test.n * T; i++) {
    const row = Array.from(yhat.subarray(i * V, (i + 1) * V));
    if (row.indexOf(Math.max(...row)) === test.y[i]) right++;
  }
  expect(ev.accuracy).toBe(right / (test.n * T));
  expect(ev.accuracy).toBeGreaterThan(0.6); // it has learnt the pattern: the count is not of one repeated guess
  expect(ev.samples).toBe(4);
  trainer.dispose();
});
