// JSON written piece by piece: `train --json` of a 40M-parameter model is ~1.6 GB of text, past
// the longest string V8 can make (JSON.stringify threw "RangeError: Invalid string length").
// The pieces are exactly JSON.stringify's text (tested byte for byte), its arrays of numbers
// stringified a slice at a time, and they go out in chunks of about a megabyte, each waiting for
// the stream to drain, so that a slow reader does not make the whole text pile up in memory.
import type { Writable } from 'node:stream';

/** Elements of an array stringified at once (a slice of numbers is one JSON.stringify call). */
const SLICE = 16_384;

/** The JSON text of `value`, in pieces whose concatenation is JSON.stringify(value). */
export function* jsonPieces(value: unknown, key = ''): Generator<string> {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  if (value === null || typeof value !== 'object') {
    // primitives (and, as in JSON.stringify, undefined/functions, which the callers skip)
    const s = JSON.stringify(value);
    if (s !== undefined) yield s;
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i += SLICE) {
      const slice = value.slice(i, i + SLICE);
      if (i > 0) yield ',';
      if (slice.every((v) => v === null || typeof v !== 'object')) {
        // no objects in it: JSON.stringify writes it as it would inside the whole (undefined → null)
        yield JSON.stringify(slice).slice(1, -1);
      } else {
        for (let j = 0; j < slice.length; j++) {
          if (j > 0) yield ',';
          const v = slice[j];
          if (v === undefined || typeof v === 'function' || typeof v === 'symbol') yield 'null';
          else yield* jsonPieces(v, String(i + j));
        }
      }
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue; // as JSON.stringify leaves them out
    yield `${first ? '' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* jsonPieces(v, k);
  }
  yield '}';
}

/**
 * Writes JSON.stringify(value) (and `end`) through `write` in chunks of about `chunkChars`
 * characters, waiting for each write that returns a promise.
 */
export async function writeJson(value: unknown, write: (chunk: string) => void | Promise<void>, end = '', chunkChars = 1 << 20): Promise<void> {
  let buf: string[] = [],
    size = 0;
  for (const piece of jsonPieces(value)) {
    buf.push(piece);
    size += piece.length;
    if (size >= chunkChars) {
      await write(buf.join(''));
      buf = [];
      size = 0;
    }
  }
  buf.push(end);
  await write(buf.join(''));
}

/** A `write` for writeJson that respects the stream's back-pressure and fails if the stream does. */
export function streamWriter(stream: Writable): (chunk: string) => Promise<void> {
  return (chunk) =>
    new Promise<void>((done, fail) => {
      const onError = (e: Error) => fail(e);
      stream.once('error', onError);
      const settle = () => {
        stream.off('error', onError);
        done();
      };
      if (stream.write(chunk)) settle();
      else stream.once('drain', settle);
    });
}
