// CSV files too large to read whole (ARCHITECTURE.md "Data larger than one buffer"): one pass reads
// the file in chunks, checks every row (the columns of the header, numbers only) and keeps the
// byte offset of every MARK-th data row; samples are then read by offset, a shard at a time, as
// the trainer asks for them (src/train/shards.ts), so memory holds a few shards and never the
// file. The samples are csv.ts's (the same columns, windows and held-out tail); only their reading
// differs. In Node the bytes come from the file; in a page, from a File's slices.
import { SpecError } from '../errors.js';
import { excerpt, printable } from '../spec/check.js';
import type { CsvRef, ModelSpec } from '../spec/types.js';
import { csvDataset, csvLayout } from './csv.js';
import type { ByteFile } from './byteFile.js';
import type { Dataset, Datasets, SampleSource } from './dataset.js';

export { type ByteFile, blobFile } from './byteFile.js';

/** Files larger than this are streamed in Node; smaller ones are read whole (csv.ts), which is faster. */
export const STREAM_FROM_BYTES = 64 * 2 ** 20;
/** Bytes read at a time. */
const CHUNK = 2 ** 20;
/** A row longer than this is refused: a file without line breaks would otherwise be held whole. */
const MAX_LINE_BYTES = 16 * 2 ** 20;
/** The byte offset of every MARK-th data row is kept: reading from row r skips at most MARK − 1 rows. */
const MARK = 1024;
/** Floats of samples two shards of a streamed file hold together (8 MiB as float64): host memory stays a few shards. */
export const STREAM_SHARD_FLOATS = 2 ** 20;
/** Delimiters tried, as Papa Parse tries them for the files csv.ts reads whole. */
const DELIMITERS = [',', '\t', '|', ';'];

/** Node: a regular file (io/regularFile.ts checks it is one); `at` names the spec field in errors (data.text too, textStream.ts). */
export async function nodeFile(path: string, at = 'data.csv'): Promise<ByteFile> {
  const { openRegular } = await import('../io/regularFile.js');
  const { file, stats } = await openRegular(path, { at, file: printable(path), subject: `${printable(path)} ` });
  return {
    size: stats.size,
    read: async (into, at) => (await file.read(into, 0, into.length, at)).bytesRead,
    close: () => file.close(),
  };
}

interface Lines {
  lines: string[];
  starts: number[];
}

/**
 * The file's lines from byte `from` on, a chunk's worth at a time: each line's text (UTF-8, '\r'
 * dropped) and the byte offset where it begins. A '\n' byte never occurs inside a UTF-8 sequence,
 * so the k-th line of the decoded text is the one after the k-th '\n' of the bytes.
 */
async function* linesFrom(f: ByteFile, from: number, file: string): AsyncGenerator<Lines> {
  const dec = new TextDecoder();
  let pos = from,
    rest = new Uint8Array(0);
  while (pos < f.size) {
    const buf = new Uint8Array(rest.length + Math.min(CHUNK, f.size - pos));
    buf.set(rest);
    const got = await f.read(buf.subarray(rest.length), pos);
    if (got === 0) break;
    const data = buf.subarray(0, rest.length + got),
      base = pos - rest.length;
    pos += got;
    const last = data.lastIndexOf(10);
    if (last < 0) {
      if (data.length > MAX_LINE_BYTES)
        throw new SpecError(file, `a row of more than ${MAX_LINE_BYTES} bytes at byte ${base}; expected rows separated by line breaks`);
      rest = data.slice();
      continue;
    }
    const lines = dec.decode(data.subarray(0, last)).split('\n'),
      starts = [base];
    for (let i = data.indexOf(10); i >= 0 && i < last; i = data.indexOf(10, i + 1)) starts.push(base + i + 1);
    yield { lines: lines.map(stripCr), starts };
    rest = data.slice(last + 1);
  }
  if (rest.length > 0) yield { lines: [stripCr(dec.decode(rest))], starts: [pos - rest.length] };
}

const stripCr = (l: string) => (l.endsWith('\r') ? l.slice(0, -1) : l);

/** A line's cells: split at the delimiter, a cell in double quotes taken without them ("" is one "). */
function cellsOf(line: string, delim: string): string[] | undefined {
  if (!line.includes('"')) return line.split(delim);
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (line[i] === '"') {
      for (i++; ; i++) {
        if (i >= line.length) return undefined; // a quote left open: a line break inside quotes, which streaming does not read
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            cell += '"';
            i++;
          } else {
            i++;
            break;
          }
        } else cell += line[i];
      }
      const end = line.indexOf(delim, i);
      cell += line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else {
      const end = line.indexOf(delim, i);
      cell = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    out.push(cell);
    if (i >= line.length) return out;
    i += delim.length;
  }
}

/** The delimiter that splits the header and the first data row into the same number (> 1) of cells; none: one column. */
function guessDelimiter(header: string, first: string): string {
  return DELIMITERS.find((d) => header.includes(d) && header.split(d).length === first.split(d).length) ?? DELIMITERS.find((d) => header.includes(d)) ?? ',';
}

export interface CsvIndex {
  header: string[];
  delimiter: string;
  /** data rows (empty lines are not rows) */
  rows: number;
  /** marks[m]: byte offset of data row m·MARK */
  marks: number[];
  /** the file's size when indexed: a file that changes afterwards is refused when read */
  size: number;
}

/** Reads the whole file once, in chunks: checks every row and notes where every MARK-th begins. */
export async function indexCsv(f: ByteFile, path: string): Promise<CsvIndex> {
  const file = printable(path);
  let header: string[] | undefined,
    headerLine = '',
    delimiter = ',',
    rows = 0,
    lineNo = 0;
  const marks: number[] = [];
  for await (const { lines, starts } of linesFrom(f, 0, file)) {
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k];
      lineNo++;
      if (line === '') continue;
      if (header === undefined && headerLine === '') {
        headerLine = line;
        continue;
      }
      if (header === undefined) {
        delimiter = guessDelimiter(headerLine, line);
        header = (cellsOf(headerLine, delimiter) ?? fail(file, 1, 'a quote left open in the header')).map((h) => h.trim());
      }
      const cells = cellsOf(line, delimiter) ?? fail(file, lineNo, 'a quote left open (a line break inside quotes is not read from a streamed file)');
      if (cells.length !== header.length) fail(file, lineNo, `expected ${header.length} columns like the header, got ${cells.length}`);
      for (let j = 0; j < cells.length; j++) numberOf(cells[j], header[j], file, lineNo);
      if (rows % MARK === 0) marks.push(starts[k]);
      rows++;
    }
  }
  if (header === undefined) throw new SpecError(file, 'expected a header row and at least one data row, got an empty file');
  return { header, delimiter, rows, marks, size: f.size };
}

function fail(file: string, line: number, message: string): never {
  throw new SpecError(`${file}:${line}`, message);
}

function numberOf(c: string, column: string, file: string, line: number): number {
  const v = c.trim() === '' ? NaN : Number(c);
  if (!Number.isFinite(v)) fail(file, line, `column ${excerpt(column, 20)}: expected a number, got ${c.trim() === '' ? 'an empty cell' : excerpt(c, 20)}`);
  return v;
}

/**
 * Data rows [from, from + count), columns `cols` of each, into out ([count][cols.length]): from
 * the mark at or before `from`, skipping the rows in between.
 */
async function readRows(f: ByteFile, idx: CsvIndex, path: string, from: number, count: number, cols: number[], out: Float64Array): Promise<void> {
  const file = printable(path);
  if (f.size !== idx.size)
    throw new SpecError(file, `changed since it was read (${idx.size} bytes then, ${f.size} now); expected a file that stays as it is while it trains`);
  const m = Math.floor(from / MARK);
  let row = m * MARK,
    at = 0;
  if (count === 0) return;
  for await (const { lines } of linesFrom(f, idx.marks[m], file)) {
    for (const line of lines) {
      if (line === '') continue;
      if (row >= from) {
        const cells = cellsOf(line, idx.delimiter);
        if (!cells || cells.length !== idx.header.length)
          throw new SpecError(file, `changed since it was read (row ${row + 1} differs); expected a file that stays as it is while it trains`);
        for (const c of cols) out[at++] = numberOf(cells[c], idx.header[c], file, row + 2);
      }
      if (++row === from + count) return;
    }
  }
  throw new SpecError(file, `changed since it was read (it ends before row ${from + count}); expected a file that stays as it is while it trains`);
}

/**
 * The data sets of a CSV read as csv.ts reads it, the training samples streamed: the held-out
 * tail (data.test) is read into memory. `open` opens the file again for each shard read.
 */
export async function streamedCsvDataset(ref: CsvRef, model: ModelSpec, open: (path: string) => Promise<ByteFile> = nodeFile): Promise<Datasets> {
  const first = await open(ref.csv);
  let idx: CsvIndex;
  try {
    idx = await indexCsv(first, ref.csv);
  } finally {
    await first.close();
  }
  const { inputs, targets, T, windows, n } = csvLayout(ref, model, idx.header, idx.rows);
  const I = inputs.length,
    O = targets.length,
    cols = [...inputs, ...targets],
    w = cols.length;

  /** Samples [from, from + count): x [count][T][I], y [count][O], as csv.ts lays them out. */
  const read = async (from: number, count: number) => {
    const span = count + (windows ? T : 0);
    const rows = new Float64Array(span * w);
    const f = await open(ref.csv);
    try {
      await readRows(f, idx, ref.csv, from, span, cols, rows);
    } finally {
      await f.close();
    }
    const x = new Float64Array(count * T * I),
      y = new Float64Array(count * O);
    for (let s = 0; s < count; s++) {
      for (let t = 0; t < T; t++) for (let j = 0; j < I; j++) x[(s * T + t) * I + j] = rows[(s + t) * w + j];
      const target = windows ? s + T : s;
      for (let j = 0; j < O; j++) y[s * O + j] = rows[target * w + I + j];
    }
    return { x, y };
  };
  const source: SampleSource = { read, shardFloats: STREAM_SHARD_FLOATS };
  const shape = { steps: T, features: I, outputs: O };
  const trainN = n - (ref.test ?? 0);
  const train: Dataset = { n: trainN, x: new Float64Array(0), y: new Float64Array(0), ...shape, source };
  if (ref.test === undefined) return { train };
  return { train, test: { n: ref.test, ...(await read(trainN, ref.test)), ...shape } };
}

/**
 * A spec's CSV: streamed where the caller opens it (`open`: a page's File) or where it is larger
 * than STREAM_FROM_BYTES and read from disk (Node); else read whole by csv.ts (also whenever the
 * caller reads the file itself: `read`).
 */
export async function loadCsv(
  ref: CsvRef,
  model: ModelSpec,
  read?: (path: string) => Promise<string>,
  streamFrom = STREAM_FROM_BYTES,
  open?: (path: string) => Promise<ByteFile>,
): Promise<Datasets> {
  if (open) return streamedCsvDataset(ref, model, open);
  const node = typeof process !== 'undefined' && !!process.versions?.node;
  if (read || !node) return csvDataset(ref, model, read);
  const f = await nodeFile(ref.csv);
  const size = f.size;
  await f.close();
  return size > streamFrom ? streamedCsvDataset(ref, model) : csvDataset(ref, model);
}
