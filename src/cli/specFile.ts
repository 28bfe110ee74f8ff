import { readFile } from 'node:fs/promises';
import { SpecError } from '../errors.js';

/** Reads and parses a spec file; a missing file or invalid JSON is a SpecError naming the file. */
export async function readSpecFile(path: string | undefined): Promise<unknown> {
  if (!path) throw new SpecError('SPEC', 'expected the path of a run spec (JSON)');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SpecError(path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SpecError(path, `invalid JSON: ${(e as Error).message}`);
  }
}
