import { dirname, isAbsolute, resolve } from 'node:path';
import { MAX_FILE_BYTES, readLocalText } from '../data/csv.js';
import { SpecError } from '../errors.js';
import { printable, requireJsonDepth } from '../spec/check.js';

/**
 * Reads and parses a spec file; a missing file, one that is not a regular file (a FIFO, a device)
 * or larger than `maxBytes` (both refused before a byte is read), invalid JSON and JSON nested
 * too deep are SpecErrors naming the file. A relative data.csv is taken from the spec's folder.
 */
export async function readSpecFile(path: string | undefined, maxBytes = MAX_FILE_BYTES): Promise<unknown> {
  if (!path) throw new SpecError('SPEC', 'expected the path of a run spec (JSON)');
  const text = await readLocalText(path, undefined, maxBytes);
  requireJsonDepth(text); // before JSON.parse, which would spend gigabytes on "[[[[…"
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new SpecError(printable(path), `invalid JSON${jsonErrorText(text, (e as Error).message)}`);
  }
  return withCsvBeside(spec, path);
}

/**
 * V8's JSON error as one short line: "at position N" becomes a line and column, and what it quotes
 * of the file (a few characters around the error) has its control characters escaped, so that no
 * byte of the file reaches the terminal as it is.
 */
export function jsonErrorText(text: string, message: string): string {
  const at = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (!at) return `: ${printable(message).slice(0, 200)}`;
  const pos = Number(at[2]);
  let line = 1,
    lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) [line, lineStart] = [line + 1, i + 1];
  const column = pos - lineStart + 1;
  return ` at line ${line}, column ${column}: ${printable(at[1]).slice(0, 200)}`;
}

/** A relative data.csv (or data.text) is the spec file's neighbour (as paths in tsconfig.json are), wherever miya runs from. */
function withCsvBeside(spec: unknown, path: string): unknown {
  const data = (spec as { data?: { csv?: unknown; text?: unknown } } | null)?.data;
  const key = typeof data?.csv === 'string' ? 'csv' : typeof data?.text === 'string' ? 'text' : undefined;
  const file = key && (data![key] as string);
  if (!key || !file || isAbsolute(file)) return spec;
  return { ...(spec as object), data: { ...data, [key]: resolve(dirname(path), file) } };
}
