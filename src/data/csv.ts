// CSV files with a header row: chosen input and target columns (default: all but the last, and
// the last). With `window` T, samples are sliding windows of T rows (for an RNN) and the target
// is the target columns of the row after each window. With `test` N, the last N samples are held
// out (before any shuffling, as TF.js's validationSplit holds out the last ones).
import Papa from 'papaparse';
import { SpecError } from '../errors.js';
import type { CsvRef, ModelSpec } from '../spec/types.js';
import type { Datasets } from './load.js';

export async function readText(path: string): Promise<string> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const fs = await import('node:fs/promises');
    try {
      return await fs.readFile(path, 'utf8');
    } catch (e) {
      throw new SpecError(`data.csv`, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const r = await fetch(path);
  if (!r.ok) throw new SpecError('data.csv', `cannot fetch ${path}: HTTP ${r.status}`);
  return r.text();
}

export function parseCsv(text: string, file: string): { header: string[]; rows: number[][] } {
  if (text.trim() === '') throw new SpecError(file, 'expected a header row and at least one data row, got an empty file');
  const parsed = Papa.parse<string[]>(text.trim(), { skipEmptyLines: true });
  // A file of one column has no delimiter to detect: that is not an error.
  const errors = parsed.errors.filter((e) => e.code !== 'UndetectableDelimiter');
  if (errors.length > 0) {
    const e = errors[0];
    throw new SpecError(`${file}:${(e.row ?? 0) + 1}`, e.message);
  }
  const [header, ...body] = parsed.data;
  if (!header || body.length === 0) throw new SpecError(file, 'expected a header row and at least one data row, got an empty file');
  const rows = body.map((cells, r) => {
    if (cells.length !== header.length) throw new SpecError(`${file}:${r + 2}`, `expected ${header.length} columns like the header, got ${cells.length}`);
    return cells.map((c, j) => {
      const v = c.trim() === '' ? NaN : Number(c);
      if (!Number.isFinite(v)) throw new SpecError(`${file}:${r + 2}`, `column "${header[j]}": expected a number, got ${c.trim() === '' ? 'an empty cell' : JSON.stringify(c)}`);
      return v;
    });
  });
  return { header: header.map((h) => h.trim()), rows };
}

export async function csvDataset(ref: CsvRef, model: ModelSpec, read: (path: string) => Promise<string> = readText): Promise<Datasets> {
  const { header, rows } = parseCsv(await read(ref.csv), ref.csv);
  const col = (name: string, key: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new SpecError(`data.${key}`, `column "${name}" is not in ${ref.csv} (columns: ${header.join(', ')})`);
    return i;
  };
  const inputs = ref.inputs ? ref.inputs.map((n) => col(n, 'inputs')) : header.slice(0, -1).map((_, i) => i);
  const targets = ref.targets ? ref.targets.map((n) => col(n, 'targets')) : [header.length - 1];
  const T = ref.window ?? 1;
  if (model.type === 'rnn' && ref.window === undefined) throw new SpecError('data.window', 'an RNN on CSV data needs a window of T rows');
  if (model.inputSize !== inputs.length) throw new SpecError('model.inputSize', `expected ${inputs.length} (the input columns of ${ref.csv}), got ${model.inputSize}`);
  const n = model.type === 'rnn' ? rows.length - T : rows.length;
  if (n < 1) throw new SpecError('data.window', `${ref.csv} has ${rows.length} rows, too few for windows of ${T}`);
  const x = new Float64Array(n * T * inputs.length), y = new Float64Array(n * targets.length);
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < T; t++) inputs.forEach((c, j) => { x[(s * T + t) * inputs.length + j] = rows[s + t][c]; });
    const target = model.type === 'rnn' ? rows[s + T] : rows[s];
    targets.forEach((c, j) => { y[s * targets.length + j] = target[c]; });
  }
  const all = { n, x, y, steps: T, features: inputs.length, outputs: targets.length };
  if (ref.test === undefined) return { train: all };
  if (ref.test >= n) throw new SpecError('data.test', `expected fewer than the ${n} samples of ${ref.csv} (some must be left to train on), got ${ref.test}`);
  return { train: samples(all, 0, n - ref.test), test: samples(all, n - ref.test, ref.test) };
}

/** Samples [from, from + count) of a dataset. */
function samples(d: Datasets['train'], from: number, count: number): Datasets['train'] {
  const xs = d.steps * d.features;
  return { ...d, n: count, x: d.x.slice(from * xs, (from + count) * xs), y: d.y.slice(from * d.outputs, (from + count) * d.outputs) };
}
