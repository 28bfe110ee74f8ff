// Command-line parsing (node:util parseArgs) with errors in the house style.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SpecError } from '../errors.js';

export function parse<T extends ParseArgsConfig['options']>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new SpecError('arguments', (e as Error).message.replace(/\. To specify.*$/s, ''));
  }
}

export function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new SpecError(name, `expected an integer ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}
