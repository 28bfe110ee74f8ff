// Files the CLI reads and the checkpoints it writes. Only regular files are read
// (io/regularFile.ts). A
// safetensors file is read by the sizes its own header gives, the header's bounded, so a wrong
// length can never make Miya allocate more than the file holds. A missing, truncated or foreign
// file is a SpecError naming it.
import { type FileHandle, stat } from 'node:fs/promises';
import { RunError, SpecError } from '../errors.js';
import { checkOutput, writeFileAtomic } from '../io/atomicFile.js';
import { openRegular } from '../io/regularFile.js';
import { type Checkpoint, decodeCheckpoint } from '../io/checkpoint.js';
import { headerLength, parseHeader, requireFileSize } from '../io/safetensors.js';
import type { CheckpointOptions } from '../train/checkpointing.js';

/** A regular file opened for reading (io/regularFile.ts), and its size; errors name the path. */
async function openChecked(path: string): Promise<{ file: FileHandle; size: number }> {
  const { file, stats } = await openRegular(path, { at: path, file: 'the file', subject: '' });
  return { file, size: stats.size };
}

/** `length` bytes from `position` into `into` at `at`: a file that ends sooner is refused. */
async function readExactly(file: FileHandle, into: Uint8Array, at: number, length: number, position: number, path: string): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesRead } = await file.read(into, at + done, length - done, position + done);
    if (bytesRead === 0) throw new SpecError(path, `ended after ${position + done} bytes while being read (truncated meanwhile?)`);
    done += bytesRead;
  }
}

/** A regular file's bytes. */
export async function readBytes(path: string): Promise<Uint8Array> {
  const { file, size } = await openChecked(path);
  try {
    const bytes = new Uint8Array(size);
    await readExactly(file, bytes, 0, size, 0, path);
    return bytes;
  } finally {
    await file.close();
  }
}

/** A safetensors file's bytes, read by the sizes its header gives once the header is checked. */
export async function readSafetensorsFile(path: string): Promise<Uint8Array> {
  const { file, size } = await openChecked(path);
  try {
    const first8 = new Uint8Array(Math.min(8, size));
    await readExactly(file, first8, 0, first8.length, 0, path);
    const headLen = headerLength(first8, size, path);
    const bytes = new Uint8Array(8 + headLen);
    bytes.set(first8);
    await readExactly(file, bytes, 8, headLen, 8, path);
    requireFileSize(headLen, parseHeader(bytes.subarray(8), path), size, path);
    const all = new Uint8Array(size);
    all.set(bytes);
    await readExactly(file, all, bytes.length, size - bytes.length, bytes.length, path);
    return all;
  } finally {
    await file.close();
  }
}

export async function readCheckpointFile(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(await readSafetensorsFile(path), path);
}

/** The files a run reads, [what it is, path], for checkOutput: the spec, its CSV data, the tuning cache. */
export function runInputs(specPath: string | undefined, spec: unknown, tuneCache: string | undefined): [string, string | undefined][] {
  const data = (spec as { data?: { csv?: unknown; text?: unknown } } | undefined)?.data;
  const [csv, text] = [data?.csv, data?.text];
  return [
    ['the run spec', specPath],
    ['the CSV data', typeof csv === 'string' ? csv : undefined],
    ['the text data', typeof text === 'string' ? text : undefined],
    ['the tuning cache', tuneCache],
  ];
}

/**
 * Checkpoints to `path`, checked now, before training: a directory, FIFO or device, a path in a
 * missing folder, or one of the run's `inputs` is refused (SpecError). A checkpoint that cannot be
 * written (a full disk) ends the run (RunError) with the previous checkpoint left whole.
 */
export async function checkpointToFile(
  path: string,
  every: number,
  inputs: [string, string | undefined][] = [],
  notice?: (m: string) => void,
): Promise<CheckpointOptions> {
  await checkOutput(path, `--checkpoint ${path}`, inputs, notice);
  const save = async (bytes: Uint8Array) => {
    try {
      await writeFileAtomic(path, bytes);
    } catch (e) {
      const kept = await stat(path).then(
        (s) => s.isFile(),
        () => false,
      );
      throw new RunError(
        `the checkpoint could not be written to ${path} (${(e as Error).message}); ${kept ? 'the previous checkpoint there is intact' : 'no checkpoint is there'}`,
      );
    }
  };
  return { every, where: path, save };
}
