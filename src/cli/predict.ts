// miya predict CHECKPOINT INPUT [--backend cpu|webgpu|auto] [--window T] [--json]
// The model of a checkpoint (miya train --checkpoint) applied to new inputs: a CSV file (the
// columns the spec's CSV data names as inputs, else the first inputSize columns; an RNN reads
// windows of T consecutive rows, T from --window or the spec's data.window) or a JSON file
// ({"x": [...]} or the array alone: [n][inputSize], or [n][T][inputSize] for an RNN).
// Prints CSV (a header of the target names, else y or y1, y2, …) or, with --json, one object.
// A classifier (a softmax output layer, or crossEntropy's logits) also gets its predicted class:
// the 0-based index of its largest output (PyTorch's argmax; the digit, for MNIST), a `class`
// column in CSV and `classes` in JSON.
import { BACKEND_NAMES, type BackendName, createBackend } from '../backends.js';
import { parseCsv } from '../data/csv.js';
import { SpecError } from '../errors.js';
import { oneOf } from '../spec/check.js';
import type { RunSpec } from '../spec/types.js';
import { validateSpec } from '../spec/validate.js';
import { type Inputs, predict } from '../train/predict.js';
import { parse, positiveInt } from './args.js';
import { readBytes, readCheckpointFile } from './checkpointFile.js';
import { outputsOf } from '../nn/layout.js';
import { givesSequences, readsSequences } from '../spec/sequential.js';
import { streamWriter, writeJson } from './jsonOut.js';

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    backend: { type: 'string', default: 'auto' },
    window: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const [ckptPath, inputPath] = positionals;
  if (!ckptPath) throw new SpecError('CHECKPOINT', 'expected the path of a checkpoint written by miya train --checkpoint');
  if (!inputPath) throw new SpecError('INPUT', 'expected the path of the inputs to predict from (.csv or .json)');
  const backend = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const window = positiveInt('--window', values.window);
  const ckpt = await readCheckpointFile(ckptPath);
  const inputs = await readInputs(inputPath, ckpt.spec, window);
  const be = await createBackend(backend, { notice: (m) => process.stderr.write(m + '\n') });
  try {
    const yhat = await predict(be, ckpt.spec, inputs, ckpt.params);
    const names = outputNames(ckpt.spec);
    // one row a sample, or a sample's step for a model that gives sequences (sample by sample, steps in order)
    const rows = Array.from({ length: yhat.length / names.length }, (_v, i) => Array.from(yhat.subarray(i * names.length, (i + 1) * names.length)));
    const classes = isClassifier(ckpt.spec) ? rows.map(argmax) : undefined;
    const write = streamWriter(process.stdout);
    if (values.json) {
      await writeJson({ backend: be.name, device: be.device, outputs: names, predictions: rows, classes }, write, '\n');
    } else {
      const header = classes ? [...names, names.includes('class') ? 'predicted_class' : 'class'] : names;
      await write(header.join(',') + '\n');
      // a few thousand rows at a time: one string of them all could pass V8's longest
      for (let i = 0; i < rows.length; i += 4096) {
        await write(
          rows
            .slice(i, i + 4096)
            .map((r, j) => (classes ? [...r, classes[i + j]] : r).join(',') + '\n')
            .join(''),
        );
      }
    }
    return 0;
  } finally {
    be.dispose();
  }
}

/** Whether the model's outputs are class scores: a softmax output layer, or the logits crossEntropy reads (two or more). */
export function isClassifier(spec: RunSpec): boolean {
  const m = spec.model;
  const top = m.type === 'rnn' ? undefined : m.layers[m.layers.length - 1];
  const last = m.type === 'rnn' ? m.outputActivation : top && 'activation' in top ? top.activation : undefined;
  return outputsOf(m) >= 2 && (last === 'softmax' || spec.loss === 'crossEntropy');
}

/** The index of the largest value (the first, on a tie). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

function outputNames(spec: RunSpec): string[] {
  const m = spec.model;
  const n = outputsOf(m);
  if ('csv' in spec.data && spec.data.targets?.length === n) return spec.data.targets;
  return n === 1 ? ['y'] : Array.from({ length: n }, (_v, i) => `y${i + 1}`);
}

async function readInputs(path: string, spec: RunSpec, window: number | undefined): Promise<Inputs> {
  const text = new TextDecoder().decode(await readBytes(path));
  return path.toLowerCase().endsWith('.json') ? jsonInputs(text, path, spec) : csvInputs(text, path, spec, window);
}

/** {"x": samples} or the samples alone, checked as a spec's data.x is (errors name the file and the element). */
function jsonInputs(text: string, path: string, spec: RunSpec): Inputs {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SpecError(path, `invalid JSON: ${(e as Error).message}`);
  }
  const x = Array.isArray(doc) ? doc : (doc as { x?: unknown } | null)?.x;
  const m = spec.model;
  const outputs = outputsOf(m);
  if (!Array.isArray(x) || x.length === 0) throw new SpecError(path, 'expected {"x": [samples]} or the array of samples alone');
  const n = x.length;
  try {
    const zeros = () => new Array(outputs).fill(0);
    const seqOut = m.type === 'sequential' && givesSequences(m) && Array.isArray(x[0]);
    validateSpec({ ...spec, data: { x, y: Array.from({ length: n }, () => (seqOut ? Array.from({ length: (x[0] as unknown[]).length }, zeros) : zeros())) } });
  } catch (e) {
    if (e instanceof SpecError && e.path.startsWith('data.x')) throw new SpecError(`${path}: ${e.path.slice(5)}`, e.expected);
    throw e;
  }
  const steps = m.type === 'rnn' || (m.type === 'sequential' && readsSequences(m)) ? (x as unknown[][])[0].length : 1;
  return { n, steps, x: Float64Array.from((x as unknown[]).flat(2) as number[]) };
}

/** The input columns of each row (MLP) or of each window of T rows (RNN). */
function csvInputs(text: string, path: string, spec: RunSpec, window: number | undefined): Inputs {
  const { header, rows } = parseCsv(text, path);
  const m = spec.model,
    named = 'csv' in spec.data ? spec.data.inputs : undefined;
  let cols: number[];
  if (named) {
    cols = named.map((name) => {
      const i = header.indexOf(name);
      if (i < 0) throw new SpecError(path, `expected a column "${name}" (an input of the model's spec), got columns ${header.join(', ')}`);
      return i;
    });
  } else {
    if (header.length < m.inputSize) throw new SpecError(path, `expected at least ${m.inputSize} columns (the model's inputSize), got ${header.length}`);
    cols = header.slice(0, m.inputSize).map((_h, i) => i);
  }
  const T = m.type === 'rnn' || (m.type === 'sequential' && readsSequences(m)) ? (window ?? ('csv' in spec.data ? spec.data.window : undefined)) : 1;
  if (T === undefined) throw new SpecError('--window', 'an RNN reads CSV inputs in windows of T rows: give --window T (the spec has no data.window)');
  const n = rows.length - T + 1;
  if (n < 1) throw new SpecError(path, `${rows.length} rows, too few for windows of ${T}`);
  const x = new Float64Array(n * T * cols.length);
  for (let s = 0; s < n; s++)
    for (let t = 0; t < T; t++)
      cols.forEach((c, j) => {
        x[(s * T + t) * cols.length + j] = rows[s + t][c];
      });
  return { n, steps: T, x };
}
