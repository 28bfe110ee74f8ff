import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { SpecError } from '../errors.js';

/** Reads and parses a spec file; a missing file or invalid JSON is a SpecError naming the file. A relative data.csv is taken from the spec's folder. */
export async function readSpecFile(path: string | undefined): Promise<unknown> {
  if (!path) throw new SpecError('SPEC', 'expected the path of a run spec (JSON)');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SpecError(path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new SpecError(path, `invalid JSON: ${(e as Error).message}`);
  }
  return withCsvBeside(spec, path);
}

/** A relative data.csv is the spec file's neighbour (as paths in tsconfig.json are), wherever miya runs from. */
function withCsvBeside(spec: unknown, path: string): unknown {
  const data = (spec as { data?: { csv?: unknown } } | null)?.data;
  if (typeof data?.csv !== 'string' || data.csv === '' || isAbsolute(data.csv)) return spec;
  return { ...(spec as object), data: { ...data, csv: resolve(dirname(path), data.csv) } };
}
