// Text files too large to read whole (ARCHITECTURE.md "Data larger than one buffer"), read as
// csvStream.ts reads CSVs: one pass reads the file in chunks, collects the vocabulary (the distinct
// code points), counts the characters and keeps the byte offset of every K-th window; the trainer
// then reads windows by offset, a shard at a time (src/train/shards.ts), so memory holds a few
// shards and never the file. The samples are text.ts's (the same vocabulary, windows, targets and
// held-out tail); only their reading differs. In Node the bytes come from the file; in a page,
// from a File's slices (byteFile.ts).
import { SpecError } from '../errors.js';
import { printable } from '../spec/check.js';
import type { ModelSpec, TextRef } from '../spec/types.js';
import type { ByteFile } from './byteFile.js';
import { nodeFile, STREAM_SHARD_FLOATS } from './csvStream.js';
import type { Dataset, Datasets, SampleSource } from './dataset.js';
import { textLayout } from './text.js';

/** Bytes read at a time: the decoded chunk stays a small string (V8's young generation), which kept the peak RSS lower than 1 MiB did. */
const CHUNK = 2 ** 16;
/** Characters between two kept offsets (about): reading from window s decodes at most this many before it. */
const MARK_CHARS = 2 ** 16;
/** One past the largest code point. */
const CODE_POINTS = 0x110000;

export interface TextIndex {
  /** distinct code points, sorted */
  vocabulary: string[];
  /** code points (characters) after the byte order mark, if any */
  chars: number;
  /** the window T, and K, the windows between two marks: marks[m] is the byte offset of character m·K·T */
  window: number;
  every: number;
  marks: number[];
  /** the file's size when indexed: a file that changes afterwards is refused when read */
  size: number;
}

export interface StreamOptions {
  /** bytes read at a time (tests: a few, so characters straddle chunks) */
  chunk?: number;
  /** windows between two kept offsets (tests: a few, so reads start past a mark) */
  every?: number;
}

/**
 * The file's text from byte `from`, a chunk at a time, decoded as UTF-8 with characters whole
 * across chunks (the decoder holds a split sequence until its end arrives). Invalid UTF-8 is
 * refused, not replaced: a replacement character stands for a variable number of bytes, and
 * offsets must count bytes exactly. The byte order mark is the caller's (`from` past it).
 */
async function* textFrom(f: ByteFile, from: number, file: string, chunk: number): AsyncGenerator<{ bytes: Uint8Array; at: number; text: string }> {
  const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const buf = new Uint8Array(chunk);
  const decode = (bytes: Uint8Array, at: number, stream: boolean) => {
    try {
      return dec.decode(bytes, { stream });
    } catch {
      throw new SpecError('data.text', `${file} is not UTF-8 (an invalid byte sequence at or before byte ${at + bytes.length}); expected a UTF-8 text`);
    }
  };
  for (let pos = from; pos < f.size; ) {
    const got = await f.read(buf.subarray(0, Math.min(chunk, f.size - pos)), pos);
    if (got === 0) break;
    const bytes = buf.subarray(0, got);
    yield { bytes, at: pos, text: decode(bytes, pos, true) };
    pos += got;
  }
  decode(new Uint8Array(0), f.size, false); // a sequence cut off by the end of the file
}

/** Bytes of a leading byte order mark (EF BB BF), which the whole-file reader drops too. */
async function bomOf(f: ByteFile): Promise<number> {
  const head = new Uint8Array(3);
  const got = await f.read(head, 0);
  return got === 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
}

/** Reads the whole file once, in chunks: its vocabulary, its characters, and where every K-th window begins. */
export async function indexText(f: ByteFile, path: string, window: number, opts: StreamOptions = {}): Promise<TextIndex> {
  const file = printable(path);
  const every = opts.every ?? Math.max(1, Math.floor(MARK_CHARS / window));
  const stride = every * window;
  const seen = new Uint8Array(CODE_POINTS),
    marks: number[] = [];
  let chars = 0,
    toMark = 0; // characters until the next mark
  for await (const { bytes, at, text } of textFrom(f, await bomOf(f), file, opts.chunk ?? CHUNK)) {
    // A character begins at every byte that is not a continuation byte (10xxxxxx): exact, the text being valid UTF-8.
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] & 0xc0) === 0x80) continue;
      if (toMark === 0) {
        marks.push(at + i);
        toMark = stride;
      }
      toMark--;
      chars++;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00) {
        seen[text.codePointAt(i)!] = 1;
        i++;
      } else seen[c] = 1; // a pair never splits across chunks: the decoder emits whole characters
    }
  }
  const vocabulary: string[] = [];
  for (let cp = 0; cp < CODE_POINTS; cp++) if (seen[cp]) vocabulary.push(String.fromCodePoint(cp));
  return { vocabulary, chars, window, every, marks, size: f.size };
}

/** Character ids [first, first + count) of the text into out, decoding from the mark at or before `first`. */
async function readIds(f: ByteFile, idx: TextIndex, ids: Int32Array, path: string, first: number, out: Int32Array, chunk: number): Promise<void> {
  const file = printable(path);
  const changed = (how: string) =>
    new SpecError('data.text', `${file} changed since it was read (${how}); expected a file that stays as it is while it trains`);
  if (f.size !== idx.size) throw changed(`${idx.size} bytes then, ${f.size} now`);
  const stride = idx.every * idx.window;
  const m = Math.floor(first / stride);
  let skip = first - m * stride,
    at = 0;
  if (out.length === 0) return;
  for await (const { text } of textFrom(f, idx.marks[m], file, chunk)) {
    for (let i = 0; i < text.length; i++) {
      let cp = text.charCodeAt(i);
      if (cp >= 0xd800 && cp < 0xdc00) {
        cp = text.codePointAt(i)!;
        i++;
      }
      if (skip > 0) {
        skip--;
        continue;
      }
      const id = ids[cp];
      if (id < 0) throw changed(`a character not in it then, at character ${first + at}`);
      out[at++] = id;
      if (at === out.length) return;
    }
  }
  throw changed(`it ends before character ${first + out.length}`);
}

/**
 * The data sets of a text read as text.ts reads it, the training windows streamed: the held-out
 * tail (data.test) is read into memory. `open` opens the file again for each shard read.
 */
export async function streamedTextDataset(
  ref: TextRef,
  model: ModelSpec,
  open: (path: string) => Promise<ByteFile> = (p) => nodeFile(p, 'data.text'),
  opts: StreamOptions = {},
): Promise<Datasets> {
  const T = ref.window,
    chunk = opts.chunk ?? CHUNK;
  const first = await open(ref.text);
  let idx: TextIndex;
  try {
    idx = await indexText(first, ref.text, T, opts);
  } finally {
    await first.close();
  }
  const { vocabulary } = idx,
    V = vocabulary.length;
  const { n, held } = textLayout(printable(ref.text), idx.chars, vocabulary, ref, model);
  const ids = new Int32Array(CODE_POINTS).fill(-1);
  vocabulary.forEach((c, i) => {
    ids[c.codePointAt(0)!] = i;
  });

  /** Windows [from, from + count): x [count][T] the characters' ids, y [count][T] the ids one further. */
  const read = async (from: number, count: number) => {
    const chars = new Int32Array(count === 0 ? 0 : count * T + 1);
    const f = await open(ref.text);
    try {
      await readIds(f, idx, ids, ref.text, from * T, chars, chunk);
    } finally {
      await f.close();
    }
    const x = new Float64Array(count * T),
      y = new Float64Array(count * T);
    for (let i = 0; i < count * T; i++) {
      x[i] = chars[i];
      y[i] = chars[i + 1];
    }
    return { x, y };
  };
  const source: SampleSource = { read, shardFloats: STREAM_SHARD_FLOATS };
  const shape = { steps: T, features: 1, outputs: V, targetSteps: T, classIndex: true, vocabulary };
  const train: Dataset = { n: n - held, x: new Float64Array(0), y: new Float64Array(0), ...shape, source };
  if (held === 0) return { train };
  return { train, test: { n: held, ...(await read(n - held, held)), ...shape } };
}
