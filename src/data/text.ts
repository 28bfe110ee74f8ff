// Text data for a character model (`data: {"text": FILE, "window": T, "test"?: N}`): the
// vocabulary is the text's distinct characters (Unicode code points) sorted by code point, token i
// being vocabulary[i]; the text is cut into consecutive, non-overlapping windows of T characters
// (as char-rnn does, so that the data takes 2 numbers a character, not 2T), each window's target
// at step t being the character after its step t: x = ids[sT … sT+T), y = ids[sT+1 … sT+T].
// The last N windows are held out. The vocabulary travels in the Dataset and from there into
// checkpoints (metadata "vocabulary"), where `miya sample` finds it.
import { SpecError } from '../errors.js';
import { printable } from '../spec/check.js';
import type { EmbeddingLayerSpec, ModelSpec, TextRef } from '../spec/types.js';
import type { ByteFile } from './byteFile.js';
import type { Dataset, Datasets } from './dataset.js';

/**
 * The most bytes of a text Miya reads whole (2 floats a character in memory and on the device); a
 * larger file is streamed (textStream.ts), its memory bounded by the shards, not the file.
 */
export const MAX_TEXT_BYTES = 16 * 2 ** 20;

/** The distinct characters (code points) of a text, sorted by code point. */
export function vocabularyOf(text: string): string[] {
  return Array.from(new Set(Array.from(text))).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

/**
 * The checks a text's data sets need (shared with the streamed reader, textStream.ts): a text,
 * long enough for a window, an embedding of its vocabulary's size first, fewer held out than
 * windows; resolves the number of windows n. `chars` counts code points; `name` names the file.
 */
export function textLayout(name: string, chars: number, vocabulary: string[], ref: TextRef, model: ModelSpec): { n: number; held: number } {
  const T = ref.window;
  if (vocabulary.length === 0) throw new SpecError('data.text', `${name} is empty; expected text (its distinct characters are the vocabulary)`);
  if (chars < T + 1) {
    throw new SpecError('data.text', `${name} has ${chars} characters; expected at least data.window + 1 = ${T + 1} (a window and the character after it)`);
  }
  const first = model.type === 'sequential' ? model.layers[0] : undefined;
  if (first?.type !== 'embedding') throw new SpecError('model.layers[0].type', 'expected "embedding" for text data (data.text)');
  const V = vocabulary.length;
  if ((first as EmbeddingLayerSpec).vocab !== V) {
    throw new SpecError('model.layers[0].vocab', `expected ${V}, the number of distinct characters in ${name}, got ${(first as EmbeddingLayerSpec).vocab}`);
  }
  const n = Math.floor((chars - 1) / T);
  const held = ref.test ?? 0;
  if (held >= n)
    throw new SpecError('data.test', `expected fewer than the ${n} windows of ${T} characters in ${name} (some must be left to train on), got ${held}`);
  return { n, held };
}

/** A text's windows as a Dataset (or two, with `test`), checked against the model; `file` names the text in errors. */
export function textDatasets(text: string, ref: TextRef, model: ModelSpec, file = ref.text): Datasets {
  const name = printable(file),
    T = ref.window;
  const chars = Array.from(text);
  const vocabulary = vocabularyOf(text);
  const { n, held } = textLayout(name, chars.length, vocabulary, ref, model);
  const V = vocabulary.length;
  const id = new Map(vocabulary.map((c, i) => [c, i]));
  const ids = chars.map((c) => id.get(c)!);
  const part = (from: number, count: number): Dataset => {
    const x = new Float64Array(count * T),
      y = new Float64Array(count * T);
    for (let s = 0; s < count; s++) {
      for (let t = 0; t < T; t++) {
        x[s * T + t] = ids[(from + s) * T + t];
        y[s * T + t] = ids[(from + s) * T + t + 1];
      }
    }
    return { n: count, x, y, steps: T, features: 1, outputs: V, targetSteps: T, classIndex: true, vocabulary };
  };
  return held > 0 ? { train: part(0, n - held), test: part(n - held, held) } : { train: part(0, n) };
}

/**
 * Reads the spec's text and makes its datasets: streamed (textStream.ts) where the caller opens it
 * (`open`: a page's File) or where it is larger than `streamFrom` (MAX_TEXT_BYTES) on disk (Node);
 * else read whole (Node: a regular file; browser: fetch; or the caller's `read`).
 */
export async function textDataset(
  ref: TextRef,
  model: ModelSpec,
  read?: (path: string) => Promise<string>,
  streamFrom = MAX_TEXT_BYTES,
  open?: (path: string) => Promise<ByteFile>,
): Promise<Datasets> {
  if (open) return (await import('./textStream.js')).streamedTextDataset(ref, model, open);
  if (!read && typeof process !== 'undefined' && process.versions?.node) {
    const { nodeFile } = await import('./csvStream.js');
    const f = await nodeFile(ref.text, 'data.text');
    const size = f.size;
    await f.close();
    if (size > streamFrom) return (await import('./textStream.js')).streamedTextDataset(ref, model);
  }
  return textDatasets(await (read ?? readTextFile)(ref.text), ref, model);
}

async function readTextFile(path: string): Promise<string> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const { readRegularText } = await import('../io/regularFile.js');
    const file = printable(path);
    return readRegularText(path, { at: 'data.text', file, subject: `${file} ` }, MAX_TEXT_BYTES, 'a text file (data.text: 2 floats a character on the device)');
  }
  const r = await fetch(path);
  if (!r.ok) throw new SpecError('data.text', `cannot fetch ${printable(path)}: HTTP ${r.status}`);
  return r.text();
}
