// Writes a file so that a crash at any moment leaves either the old file or the new one, never a
// mix: the bytes go to a temporary file beside it, are flushed to disk, and only then renamed over
// the old one (rename is atomic within a directory); the directory is flushed so that the rename
// itself survives a power cut. Node only. The bytes are written in chunks so that a test can stop
// the process part-way (MIYA_TEST_WRITE_PAUSE_MS pauses between chunks; nothing else reads it).
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const CHUNK = 64 * 1024;

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const pause = Number(process.env.MIYA_TEST_WRITE_PAUSE_MS ?? 0);
  const file = await open(tmp, 'w');
  try {
    for (let at = 0; at < bytes.length; at += CHUNK) {
      await file.write(bytes, at, Math.min(CHUNK, bytes.length - at));
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
    await file.sync();
  } catch (e) {
    await file.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await file.close();
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
