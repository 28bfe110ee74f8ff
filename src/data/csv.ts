// CSV files with a header row: chosen input and target columns (default: all but the last, and
// the last). With `window` T, samples are sliding windows of T rows (for an RNN) and the target
// is the target columns of the row after each window. With `test` N, the last N samples are held
// out (before any shuffling, as TF.js's validationSplit holds out the last ones). In Node a file
// past 64 MiB is not read here but streamed (csvStream.ts), into the same samples (csvLayout).
// A CSV path may name any file the user can read, in the spec's folder or not, as a path given to
// PyTorch or Keras may; so a message quotes at most 40 characters of what it read, escaped (a
// bad cell and its column, 20 each; the columns of the header, 40 in all), never a whole line.
import Papa from 'papaparse';
import { SpecError } from '../errors.js';
import { excerpt, printable } from '../spec/check.js';
import type { CsvRef, ModelSpec } from '../spec/types.js';
import type { Datasets } from './dataset.js';
import { readsSequenceData } from '../spec/sequential.js';

/**
 * The most bytes Miya reads of a run spec or a CSV file: room for all of MNIST's 70,000 digits as
 * CSV of integer pixels (about 130 MB), or the mnist package's 10,000 as inline JSON (about 50 MB)
 * five times over; and half the longest string V8 makes (512 MiB), which a file is read into.
 * Past it, parsing alone would take gigabytes; without a bound, /dev/zero or a runaway file is
 * read until memory runs out.
 */
export const MAX_FILE_BYTES = 256 * 2 ** 20;

/**
 * Node: the text of a regular file of at most `maxBytes`, both checked before a byte is read (a
 * FIFO would wait for a writer, a device never end). `where` names the field that gave the path
 * (data.csv); without it the path itself is named. Errors are SpecErrors.
 */
export async function readLocalText(path: string, where?: string, maxBytes = MAX_FILE_BYTES): Promise<string> {
  const { readRegularText } = await import('../io/regularFile.js');
  const at = where ?? printable(path),
    subject = where === undefined ? '' : `${printable(path)} `;
  return readRegularText(path, { at, file: where === undefined ? 'the file' : printable(path), subject }, maxBytes, 'a run spec or CSV file');
}

export async function readText(path: string): Promise<string> {
  if (typeof process !== 'undefined' && process.versions?.node) return readLocalText(path, 'data.csv');
  const r = await fetch(path);
  if (!r.ok) throw new SpecError('data.csv', `cannot fetch ${path}: HTTP ${r.status}`);
  return r.text();
}

export function parseCsv(text: string, path: string): { header: string[]; rows: number[][] } {
  const file = printable(path);
  if (text.trim() === '') throw new SpecError(file, 'expected a header row and at least one data row, got an empty file');
  const parsed = Papa.parse<string[]>(text.trim(), { skipEmptyLines: true });
  // A file of one column has no delimiter to detect: that is not an error.
  const errors = parsed.errors.filter((e) => e.code !== 'UndetectableDelimiter');
  if (errors.length > 0) {
    const e = errors[0];
    throw new SpecError(`${file}:${(e.row ?? 0) + 1}`, printable(e.message)); // Papa's own words, no cell
  }
  const [header, ...body] = parsed.data;
  if (!header || body.length === 0) throw new SpecError(file, 'expected a header row and at least one data row, got an empty file');
  const rows = body.map((cells, r) => {
    if (cells.length !== header.length) throw new SpecError(`${file}:${r + 2}`, `expected ${header.length} columns like the header, got ${cells.length}`);
    return cells.map((c, j) => {
      const v = c.trim() === '' ? NaN : Number(c);
      if (!Number.isFinite(v))
        throw new SpecError(
          `${file}:${r + 2}`,
          `column ${excerpt(header[j].trim(), 20)}: expected a number, got ${c.trim() === '' ? 'an empty cell' : excerpt(c, 20)}`,
        );
      return v;
    });
  });
  return { header: header.map((h) => h.trim()), rows };
}

export async function csvDataset(ref: CsvRef, model: ModelSpec, read: (path: string) => Promise<string> = readText): Promise<Datasets> {
  const { header, rows } = parseCsv(await read(ref.csv), ref.csv);
  const { inputs, targets, T, windows, n } = csvLayout(ref, model, header, rows.length);
  const x = new Float64Array(n * T * inputs.length),
    y = new Float64Array(n * targets.length);
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < T; t++)
      inputs.forEach((c, j) => {
        x[(s * T + t) * inputs.length + j] = rows[s + t][c];
      });
    const target = windows ? rows[s + T] : rows[s];
    targets.forEach((c, j) => {
      y[s * targets.length + j] = target[c];
    });
  }
  const all = { n, x, y, steps: T, features: inputs.length, outputs: targets.length };
  if (ref.test === undefined) return { train: all };
  return { train: samples(all, 0, n - ref.test), test: samples(all, n - ref.test, ref.test) };
}

/** What a spec's CSV makes of a file's columns and rows: the columns read, the window, and the samples. */
export interface CsvLayout {
  inputs: number[];
  targets: number[];
  T: number;
  windows: boolean;
  n: number;
}

/**
 * The columns (by index into `header`) and samples of a file of `rowCount` data rows, checked
 * against the spec's data and model: the one reading of data.csv for csv.ts and csvStream.ts.
 */
export function csvLayout(ref: CsvRef, model: ModelSpec, header: string[], rowCount: number): CsvLayout {
  const file = printable(ref.csv);
  const col = (name: string, key: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new SpecError(`data.${key}`, `column ${excerpt(name, 20)} is not in ${file} (columns: ${columnList(header)})`);
    return i;
  };
  const inputs = ref.inputs ? ref.inputs.map((n) => col(n, 'inputs')) : header.slice(0, -1).map((_, i) => i);
  const targets = ref.targets ? ref.targets.map((n) => col(n, 'targets')) : [header.length - 1];
  const T = ref.window ?? 1;
  // a model with a recurrent layer (an RNN, or a sequential model with one) reads windows of T rows, x [n][T][I]; one of dense layers reads rows, x [n][I]
  const windows = readsSequenceData(model);
  if (windows && ref.window === undefined)
    throw new SpecError('data.window', `${model.type === 'rnn' ? 'an RNN' : 'a model with a recurrent layer'} on CSV data needs a window of T rows`);
  if (model.inputSize !== inputs.length)
    throw new SpecError('model.inputSize', `expected ${inputs.length} (the input columns of ${file}), got ${model.inputSize}`);
  const n = windows ? rowCount - T : rowCount;
  if (n < 1) throw new SpecError('data.window', `${file} has ${rowCount} rows, too few for windows of ${T}`);
  if (ref.test !== undefined && ref.test >= n)
    throw new SpecError('data.test', `expected fewer than the ${n} samples of ${file} (some must be left to train on), got ${ref.test}`);
  return { inputs, targets, T, windows, n };
}

/** A header's column names for a message: whole names (cut at 20 characters) while they add up to 40 characters, then how many there are. */
export function columnList(header: string[]): string {
  const shown: string[] = [];
  let used = 0;
  for (const h of header) {
    const chars = Array.from(h),
      name = chars.length > 20 ? chars.slice(0, 20).join('') + '…' : h;
    used += Math.min(chars.length, 21);
    if (used > 40) break;
    shown.push(printable(name));
  }
  return shown.length === header.length ? shown.join(', ') : `${shown.join(', ')}, … (${header.length} columns)`;
}

/** Samples [from, from + count) of a dataset. */
function samples(d: Datasets['train'], from: number, count: number): Datasets['train'] {
  const xs = d.steps * d.features;
  return { ...d, n: count, x: d.x.slice(from * xs, (from + count) * xs), y: d.y.slice(from * d.outputs, (from + count) * d.outputs) };
}
