// Text files streamed from disk (src/data/textStream.ts): the vocabulary, windows and held-out tail
// are those text.ts makes of the whole text (multi-byte characters, ones beyond the Basic
// Multilingual Plane and a byte order mark straddling chunk edges); a streamed run trains to the
// losses of the in-memory one; a resumed streamed run ends bit for bit; a text larger than Miya
// reads whole trains its first steps in bounded memory (RSS measured in a child process).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import { blobFile } from '../src/data/byteFile.js';
import type { Datasets } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { MAX_TEXT_BYTES, textDataset, textDatasets, vocabularyOf } from '../src/data/text.js';
import { streamedTextDataset } from '../src/data/textStream.js';
import { SpecError } from '../src/errors.js';
import type { RunSpec, TextRef } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { Trainer } from '../src/train/trainer.js';
import { backendCases, describeBackends } from './backends.js';
import { RSS_BOUND_MIB, trainInChild, writeLarge } from './streamRss.js';

const dir = mkdtempSync(join(tmpdir(), 'miya-text-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** embedding(V) → lstm(4, sequences) → dense V on data.text; `test` goes to data, the rest to the spec. */
const spec = (text: string, V: number, window: number, { test, ...extra }: Record<string, unknown> = {}): RunSpec =>
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
    batchSize: 4,
    steps: 3,
    ...extra,
  });

/** ~2000 characters of 1-, 2-, 3- and 4-byte UTF-8, CRLF, and U+FEFF inside (a character there, not a mark). */
function mixedText(chars = 2000): string {
  const alphabet = ['a', 'b', ' ', '\n', '\r', 'é', 'ß', '中', '文', '😀', '𝄞', '\ufeff', 'z'];
  let s = '',
    r = 7;
  for (let i = 0; i < chars; i++) {
    r = (r * 1103515245 + 12345) % 2 ** 31;
    s += alphabet[r % alphabet.length];
  }
  return s;
}

async function allSamples(d: Datasets['train']) {
  return d.source ? d.source.read(0, d.n) : { x: d.x, y: d.y };
}

test('streamed windows are those text.ts makes of the whole text, for every chunk size and mark spacing, from any window', async () => {
  const body = mixedText();
  for (const [name, text, T, held] of [
    ['mixed.txt', body, 5, 7],
    ['bom.txt', '\ufeff' + body, 3, 0],
    ['short.txt', 'ab😀ab😀ba😀ab😀ab', 3, 1],
  ] as const) {
    const path = file(name, text),
      V = vocabularyOf(text.replace(/^\ufeff/, '')).length;
    const s = spec(path, V, T, held ? { test: held } : {}),
      ref = s.data as TextRef;
    const whole = textDatasets(new TextDecoder().decode(new TextEncoder().encode(text)), ref, s.model); // as the whole-file reader decodes (a leading BOM dropped)
    for (const chunk of [1, 2, 3, 7, 4096]) {
      for (const every of [1, 3, 100]) {
        const streamed = await streamedTextDataset(ref, s.model, undefined, { chunk, every });
        const at = `${name} chunk ${chunk} every ${every}`;
        expect(streamed.train.source, at).toBeDefined();
        expect(streamed.train.x.length).toBe(0); // nothing of the training windows is held
        const shape = (d: Datasets['train']) => [d.n, d.steps, d.features, d.outputs, d.targetSteps, d.classIndex, d.vocabulary];
        expect(shape(streamed.train), at).toEqual(shape(whole.train));
        const got = await allSamples(streamed.train);
        expect(Array.from(got.x), at).toEqual(Array.from(whole.train.x));
        expect(Array.from(got.y), at).toEqual(Array.from(whole.train.y));
        if (whole.test) {
          expect(shape(streamed.test!), at).toEqual(shape(whole.test));
          expect(Array.from(streamed.test!.x), at).toEqual(Array.from(whole.test.x));
          expect(Array.from(streamed.test!.y), at).toEqual(Array.from(whole.test.y));
        } else expect(streamed.test).toBeUndefined();
        // reads from the middle, starting past a mark, by offset
        const n = whole.train.n;
        for (const [from, count] of [
          [1, 1],
          [Math.floor(n / 2), Math.ceil(n / 3)],
          [n - 1, 1],
        ]) {
          const part = await streamed.train.source!.read(from, count);
          expect(Array.from(part.x), `${at} from ${from}`).toEqual(Array.from(whole.train.x.subarray(from * T, (from + count) * T)));
          expect(Array.from(part.y), `${at} from ${from}`).toEqual(Array.from(whole.train.y.subarray(from * T, (from + count) * T)));
        }
      }
    }
  }
});

test('by hand: "hello, world!" streamed with window 4 and 1-byte chunks', async () => {
  const path = file('hello.txt', 'hello, world!');
  const s = spec(path, 10, 4);
  const d = (await textDataset(s.data as TextRef, s.model, undefined, 0)).train; // streamFrom 0: streamed
  expect(d.source).toBeDefined();
  const v = [' ', '!', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w'],
    id = (t: string) => Array.from(t).map((c) => v.indexOf(c));
  expect(d.vocabulary).toEqual(v);
  const { x, y } = await d.source!.read(0, 3);
  expect(Array.from(x)).toEqual(id('hello, world'));
  expect(Array.from(y)).toEqual([...id('ello'), ...id(', wo'), ...id('rld!')]);
});

test("a text at the whole-read bound is read whole, one past it is streamed (lowered bound); a page's File is read in slices", async () => {
  expect(MAX_TEXT_BYTES).toBe(16 * 2 ** 20);
  const text = mixedText(300),
    path = file('bound.txt', text),
    bytes = statSync(path).size,
    V = vocabularyOf(text).length;
  const s = spec(path, V, 4, { test: 2 }),
    ref = s.data as TextRef;
  expect((await textDataset(ref, s.model, undefined, bytes)).train.source).toBeUndefined();
  const streamed = await textDataset(ref, s.model, undefined, bytes - 1);
  expect(streamed.train.source).toBeDefined();
  const whole = textDatasets(text, ref, s.model);
  expect(Array.from((await allSamples(streamed.train)).x)).toEqual(Array.from(whole.train.x));
  const page = await loadDataset(spec('in-page.txt', V, 4, { test: 2 }), { openFile: async () => blobFile(new Blob([text])) });
  expect(page.train.source).toBeDefined();
  expect(Array.from((await allSamples(page.train)).y)).toEqual(Array.from(whole.train.y));
  expect(Array.from(page.test!.x)).toEqual(Array.from(whole.test!.x));
});

test("bad input: the whole reader's errors, invalid UTF-8 named, a file changed afterwards refused when read", async () => {
  const short = file('s.txt', 'abc'),
    empty = file('e.txt', '');
  await expect(streamedTextDataset({ text: short, window: 3 }, spec(short, 3, 3).model)).rejects.toThrow(
    new SpecError('data.text', `${short} has 3 characters; expected at least data.window + 1 = 4 (a window and the character after it)`),
  );
  await expect(streamedTextDataset({ text: empty, window: 3 }, spec(empty, 3, 3).model)).rejects.toThrow(
    new SpecError('data.text', `${empty} is empty; expected text (its distinct characters are the vocabulary)`),
  );
  await expect(streamedTextDataset({ text: short, window: 1 }, spec(short, 4, 1).model)).rejects.toThrow(
    new SpecError('model.layers[0].vocab', `expected 3, the number of distinct characters in ${short}, got 4`),
  );
  const bad = file('bad.txt', Uint8Array.from([0x61, 0x62, 0xc3, 0x28, 0x61, 0x62])); // 0xC3 then not a continuation byte
  await expect(streamedTextDataset({ text: bad, window: 1 }, spec(bad, 3, 1).model)).rejects.toThrow(
    /^data\.text: .*bad\.txt is not UTF-8 \(an invalid byte sequence at or before byte \d+\); expected a UTF-8 text$/,
  );
  const cut = file('cut.txt', Uint8Array.from([0x61, 0x62, 0xf0, 0x9f])); // a 4-byte character cut off by the end
  await expect(streamedTextDataset({ text: cut, window: 1 }, spec(cut, 2, 1).model)).rejects.toThrow(/cut\.txt is not UTF-8/);
  const text = mixedText(500),
    path = file('changes.txt', text);
  const s = spec(path, vocabularyOf(text).length, 5);
  const d = await streamedTextDataset(s.data as TextRef, s.model);
  writeFileSync(path, text.slice(0, 400));
  await expect(d.train.source!.read(0, 10)).rejects.toThrow(/changed since it was read/);
  writeFileSync(path, text.replace(/a/g, 'q').replace(/b/g, 'a')); // same bytes count, a character not in the vocabulary
  await expect(d.train.source!.read(0, 90)).rejects.toThrow(/changed since it was read \(a character not in it then/);
});

/** Floats of data buffer that cut the training windows into shards (T floats a window, two slots). */
const T = 8,
  DATA_FLOATS = 2 * 30 * T;

async function train(be: Backend, s: RunSpec, data: Datasets, steps?: number, dataFloats: number | undefined = DATA_FLOATS) {
  const t = new Trainer(be, s, data, steps, dataFloats);
  try {
    return {
      losses: await t.train({ reportEvery: 10 }),
      params: await t.session.readParams(),
      shards: t.session.shards?.plan.count,
      state: await t.snapshot(),
    };
  } finally {
    t.dispose();
  }
}

describeBackends(await backendCases(), '%s', (name, be) => {
  const text = mixedText(2000),
    V = vocabularyOf(text).length;
  const path = file(`train-${name}.txt`, text); // ⌊1999 / 8⌋ = 249 windows, 20 held out: 229 to train on
  const runSpec = (shuffle: boolean, steps: number) => spec(path, V, T, { test: 20, batchSize: 8, shuffle, steps, seed: 3 });

  test('a streamed text run without shuffle trains to the losses of the run that reads the file whole', async () => {
    const s = runSpec(false, 40);
    const whole = await train(be, s, textDatasets(text, s.data as TextRef, s.model), undefined, Infinity); // every window resident
    const streamed = await train(be, s, await textDataset(s.data as TextRef, s.model, undefined, 0), undefined); // streamFrom 0: always streamed
    expect(whole.shards).toBeUndefined();
    expect(streamed.shards).toBe(8);
    expect(Array.from(streamed.losses)).toEqual(Array.from(whole.losses));
    expect(Array.from(streamed.params)).toEqual(Array.from(whole.params));
  }, 120_000);

  test('a streamed, shuffled text run resumed mid-epoch ends bit for bit as the run that never stopped', async () => {
    const s = runSpec(true, 70),
      data = await streamedTextDataset(s.data as TextRef, s.model, undefined, { every: 3 });
    const straight = await train(be, s, data);
    const first = await train(be, s, data, 41); // epoch 1 (29 batches an epoch), mid-shard
    const t = new Trainer(be, s, data, undefined, DATA_FLOATS);
    try {
      t.restore(first.state);
      expect(Array.from(await t.train())).toEqual(Array.from(straight.losses));
      expect(Array.from(await t.session.readParams())).toEqual(Array.from(straight.params));
    } finally {
      t.dispose();
    }
  }, 120_000);
});

/**
 * MIYA_TEXT_STREAM_TEST_MB (default 100: six times the 16 MiB Miya reads whole, small enough for a
 * 2-core CI; a larger figure run by hand is in the README) of text, generated here and deleted after.
 */
const BIG_MB = Number(process.env.MIYA_TEXT_STREAM_TEST_MB ?? 100);

test(`a text of ${BIG_MB} MB trains its first steps with the process's peak RSS under ${RSS_BOUND_MIB} MiB`, async () => {
  const big = join(dir, 'big.txt');
  const words = ['the ', 'cat ', 'sat ', 'on ', 'a ', 'mat', '. ', 'café ', '中文 ', '😀 ', '\n'];
  let r = 1;
  await writeLarge(big, BIG_MB, () => {
    let chunk = '';
    for (let k = 0; k < 100_000; k++) {
      r = (r * 1103515245 + 12345) % 2 ** 31;
      chunk += words[r % words.length];
    }
    return chunk;
  });
  const bytes = statSync(big).size;
  expect(bytes).toBeGreaterThan(MAX_TEXT_BYTES);
  const V = vocabularyOf(words.join('')).length;
  const started = Date.now();
  const { losses, maxRssMiB } = trainInChild({
    model: {
      type: 'sequential',
      layers: [
        { type: 'embedding', vocab: V, units: 8 },
        { type: 'lstm', units: 16, returnSequences: true },
        { type: 'dense', units: V },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.01 },
    data: { text: big, window: 32, test: 4 },
    batchSize: 32,
    steps: 20,
    shuffle: true,
    seed: 1,
  });
  rmSync(big, { force: true });
  console.log(`${(bytes / 2 ** 20).toFixed(0)} MiB of text: 20 steps in ${((Date.now() - started) / 1000).toFixed(0)} s, peak RSS ${maxRssMiB.toFixed(0)} MiB`);
  expect(losses).toHaveLength(20);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[19]).toBeLessThan(losses[0]); // it learns: the words repeat
  expect(maxRssMiB).toBeLessThan(RSS_BOUND_MIB);
}, 1_200_000);
