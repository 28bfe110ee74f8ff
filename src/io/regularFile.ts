// Node: opening a file that must be a regular one, for every reader of untrusted files (specs,
// CSVs, checkpoints, predict's inputs). It is checked before it is opened: a FIFO would block until
// a writer came, /dev/zero never ends. The open itself does not block either (O_NONBLOCK, should
// the path change in between), and the file opened must be the one checked. readRegularText adds
// the size bound, checked before a byte is read, and names the kind of file whose bound it is.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { SpecError } from '../errors.js';
import { fileKind } from './atomicFile.js';

export interface Naming {
  /** Where an error is said to be (the path, or the spec field that gave it). */
  at: string;
  /** How the file is named in the message: 'the file', or the path when `at` is a field. */
  file: string;
  /** The message's subject before "is a FIFO…": '' when `at` is the path, else the path and a space. */
  subject: string;
}

/** A regular file opened for reading, with its stats; errors are SpecErrors named as `n` says. */
export async function openRegular(path: string, n: Naming): Promise<{ file: FileHandle; stats: Stats }> {
  const cannot = (e: unknown) => new SpecError(n.at, `cannot read ${n.file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  const before = await stat(path).catch((e: unknown) => {
    throw cannot(e);
  });
  if (!before.isFile()) throw new SpecError(n.at, `${n.subject}is ${fileKind(before)}; expected a regular file`);
  const file = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0)).catch((e: unknown) => {
    throw cannot(e);
  });
  const stats = await file.stat();
  if (!stats.isFile() || stats.ino !== before.ino || stats.dev !== before.dev) {
    await file.close();
    throw new SpecError(n.at, `${n.subject}was replaced while being opened; expected a regular file`);
  }
  return { file, stats };
}

const sizeText = (bytes: number) => (bytes < 2 ** 20 ? `${bytes} bytes` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

/**
 * The text of a regular file (openRegular) of at most `maxBytes`, its size checked before a byte
 * is read; `what` names the kind of file in the refusal ("a text file (data.text)"), so that the
 * message says which bound was passed. A file that grows while it is read is refused, not read on.
 */
export async function readRegularText(path: string, n: Naming, maxBytes: number, what: string): Promise<string> {
  const { file, stats } = await openRegular(path, n);
  try {
    if (stats.size > maxBytes) throw new SpecError(n.at, `${n.subject}is ${sizeText(stats.size)}; Miya reads at most ${sizeText(maxBytes)} of ${what}`);
    const bytes = new Uint8Array(stats.size + 1);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await file.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done > stats.size) throw new SpecError(n.at, `${n.subject}grew while it was read; expected a file that stays as it is`);
    return new TextDecoder().decode(bytes.subarray(0, done));
  } finally {
    await file.close();
  }
}
