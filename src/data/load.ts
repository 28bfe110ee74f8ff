// Resolves a spec's data to datasets: inline arrays now; CSV files and MNIST by reference.
import { SpecError } from '../errors.js';
import type { RunSpec } from '../spec/types.js';
import type { Datasets } from './dataset.js';
import type { ByteFile } from './byteFile.js';
import { inlineDataset } from './inline.js';
import { outputsOf } from '../nn/layout.js';

export interface LoadOptions {
  /**
   * Reads a CSV file the spec names (default: the file system in Node, fetch in the browser); the
   * playground passes the files a user chose beside their spec.
   */
  readText?: (path: string) => Promise<string>;
  /**
   * Opens a CSV or text file the spec names to stream it (a page's File: `blobFile(file)`, data/byteFile.ts):
   * its training samples are then read in slices, a shard at a time, never whole.
   */
  openFile?: (path: string) => Promise<ByteFile>;
}

export async function loadDataset(spec: RunSpec, opts: LoadOptions = {}): Promise<Datasets> {
  const d = spec.data;
  const sets =
    'x' in d
      ? { train: inlineDataset(d, spec.model) }
      : 'csv' in d
        ? await (await import('./csvStream.js')).loadCsv(d, spec.model, opts.readText, undefined, opts.openFile) // a large file is streamed
        : 'text' in d
          ? await (await import('./text.js')).textDataset(d, spec.model, opts.readText, undefined, opts.openFile) // so is a large text
          : await (await import('./mnist.js')).mnistDataset(d, spec.model, spec.seed ?? 0);
  const m = spec.model;
  const outputs = outputsOf(m);
  requireShape(
    m.type !== 'rnn' ? `model.layers[${m.layers.length - 1}].units` : 'model.outputSize',
    outputs,
    sets.train.outputs,
    "outputs (the data's targets per sample)",
  );
  return sets;
}

export function requireShape(path: string, got: number, want: number, what: string): void {
  if (got !== want) throw new SpecError(path, `expected ${want} ${what}, got ${got}`);
}
