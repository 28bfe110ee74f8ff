// Errors across the worker boundary. Structured cloning keeps only an Error's message (and, in
// Chromium, its name for the built-in kinds); Miya's classes and their fields would be lost, so a
// failed run posts its error as data and the page builds the same class again, with the worker's
// message and stack.
import { DeviceLostError, NonFiniteError, RunError, SpecError } from '../errors.js';
import type { ErrorData } from './protocol.js';

export function errorData(e: unknown): ErrorData {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), fields: {} };
  const fields: ErrorData['fields'] = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'name' || k === 'message' || k === 'stack' || k === 'cause') continue;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v as string | number | boolean | null;
  }
  return { name: e.name, message: e.message, stack: e.stack, fields, cause: e.cause === undefined ? undefined : errorData(e.cause) };
}

const builtIn: Record<string, new (message: string) => Error> = { TypeError, RangeError, SyntaxError, ReferenceError };

export function rebuildError(d: ErrorData): Error {
  const f = d.fields;
  const e =
    d.name === 'SpecError'
      ? new SpecError(String(f.path), String(f.expected))
      : d.name === 'NonFiniteError'
        ? new NonFiniteError(Number(f.step), String(f.tensor), NaN)
        : d.name === 'DeviceLostError'
          ? new DeviceLostError('', '')
          : d.name === 'RunError'
            ? new RunError(d.message)
            : new (builtIn[d.name] ?? Error)(d.message);
  // the worker's own words (NonFiniteError's value and DeviceLostError's reason are only in them)
  e.message = d.message;
  if (e.name !== d.name) e.name = d.name;
  Object.assign(e, f);
  if (d.stack) e.stack = d.stack;
  if (d.cause) e.cause = rebuildError(d.cause);
  return e;
}
