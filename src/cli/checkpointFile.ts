// Checkpoint files for the CLI: read and checked (a missing, truncated or foreign file is a
// SpecError naming it), written atomically.
import { readFile } from 'node:fs/promises';
import { SpecError } from '../errors.js';
import { type Checkpoint, decodeCheckpoint } from '../io/checkpoint.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import type { CheckpointOptions } from '../train/checkpointing.js';

export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new SpecError(path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export async function readCheckpointFile(path: string): Promise<Checkpoint> {
  return decodeCheckpoint(await readBytes(path), path);
}

export function checkpointToFile(path: string, every: number): CheckpointOptions {
  return { every, where: path, save: (bytes) => writeFileAtomic(path, bytes) };
}
