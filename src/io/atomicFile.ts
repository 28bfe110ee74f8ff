// Writing files so that nothing is lost. Node only.
// - A crash at any moment leaves either the old file or the new one, never a mix: the bytes go to
//   a temporary file beside it (`.<name>.<pid>.tmp`), are flushed to disk, and only then renamed
//   over the old one (rename is atomic within a directory); the directory is flushed so that the
//   rename itself survives a power cut.
// - Every byte is written or the write fails: a short write (a nearly full disk) is continued
//   until the disk refuses (ENOSPC), and then the temporary file is removed and the old file is
//   left as it was.
// - Only regular files are replaced. A directory, FIFO, device or socket at the path is refused
//   (renaming over /dev/null as root would replace the device); a symbolic link to a regular file
//   is written through: its target is replaced and the link stays.
// - Temporary files left by killed writers (their pid is no live process on this machine) are
//   removed by the next write to the same path; a live writer's is left alone.
// The bytes are written in chunks so that a test can stop the process part-way
// (MIYA_TEST_WRITE_PAUSE_MS pauses between chunks; nothing else reads it).
import type { Stats } from 'node:fs';
import { type FileHandle, lstat, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SpecError } from '../errors.js';

const CHUNK = 64 * 1024;

/** A non-regular file in words, for messages. */
export function fileKind(s: Stats): string {
  return s.isDirectory()
    ? 'a directory'
    : s.isFIFO()
      ? 'a FIFO (named pipe)'
      : s.isCharacterDevice()
        ? 'a character device'
        : s.isBlockDevice()
          ? 'a block device'
          : s.isSocket()
            ? 'a socket'
            : 'not a regular file';
}

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

async function statOrNone(path: string, how: typeof stat | typeof lstat, what: string): Promise<Stats | undefined> {
  try {
    return await how(path);
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw new SpecError(what, `cannot look at the file (${code(e)})`);
  }
}

export interface OutputTarget {
  /** The file that is replaced: the path itself, or the target of the symbolic link at the path. */
  target: string;
  /** The path is a symbolic link (written through to `target`). */
  viaLink: boolean;
  /** A file is there now (it will be replaced). */
  exists: boolean;
}

/**
 * Where writing `path` goes. Refused (SpecError naming `what`): anything there but a regular file
 * or a link to one, a link to nothing, a path in a folder that does not exist.
 */
export async function outputTarget(path: string, what = path): Promise<OutputTarget> {
  if (path === '' || path.endsWith('/')) throw new SpecError(what, 'expected the path of a file, not of a folder');
  const link = await statOrNone(path, lstat, what);
  let target = path;
  if (link?.isSymbolicLink()) {
    try {
      target = await realpath(path);
    } catch (e) {
      throw new SpecError(what, `is a symbolic link that leads nowhere (${code(e)}); expected a regular file or a link to one`);
    }
  }
  const s = link && (link.isSymbolicLink() ? await statOrNone(target, stat, what) : link);
  if (s && !s.isFile())
    throw new SpecError(
      what,
      `is ${fileKind(s)}${target !== path ? ` (through the link to ${target})` : ''}; expected a regular file, or the path of a new one`,
    );
  if (!s) {
    const folder = await statOrNone(dirname(target), stat, what);
    if (!folder?.isDirectory()) throw new SpecError(what, `its folder ${dirname(target)} does not exist`);
  }
  return { target, viaLink: target !== path, exists: !!s };
}

/** Whether a and b are the same file (device and inode: also through links and hard links). */
export async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // one of them is not there: not the same file
  }
}

/**
 * The checks a command makes on an output before it does anything: the file is one it may
 * replace (outputTarget), it is none of the command's inputs ([what it is, path]), and a write
 * through a symbolic link is said on stderr (notice). `what` names the output in messages.
 */
export async function checkOutput(
  path: string,
  what: string,
  inputs: [string, string | undefined][] = [],
  notice?: (m: string) => void,
): Promise<OutputTarget> {
  const out = await outputTarget(path, what);
  for (const [role, input] of inputs) {
    if (input !== undefined && (await sameFile(path, input))) {
      throw new SpecError(what, `is ${role} (${input}) too, which writing it would destroy; expected another file`);
    }
  }
  if (out.viaLink) notice?.(`${what} is a symbolic link: writing its target, ${out.target}`);
  return out;
}

/** Writes all of `bytes` at the start of `file`: a short write is continued, one that writes nothing fails. */
export async function writeAll(file: Pick<FileHandle, 'write'>, bytes: Uint8Array, pauseMs = 0): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, at, Math.min(CHUNK, bytes.length - at), at);
    if (!(bytesWritten > 0)) throw Object.assign(new Error('ENOSPC: no space left on device (a write wrote nothing)'), { code: 'ENOSPC' });
    at += bytesWritten;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return code(e) === 'EPERM'; // there, but another user's
  }
};

/** Removes `.<name>.<pid>.tmp` files in `dir` whose writer is gone (killed mid-write). */
async function removeStaleTemps(dir: string, name: string): Promise<void> {
  const prefix = `.${name}.`;
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const f of files) {
    if (!f.startsWith(prefix) || !f.endsWith('.tmp')) continue;
    const pid = f.slice(prefix.length, -'.tmp'.length);
    if (!/^[1-9][0-9]*$/.test(pid) || Number(pid) === process.pid || alive(Number(pid))) continue;
    await rm(join(dir, f), { force: true }).catch(() => undefined); // not ours to fail over
  }
}

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { target } = await outputTarget(path);
  const dir = dirname(target);
  await removeStaleTemps(dir, basename(target));
  const tmp = join(dir, `.${basename(target)}.${process.pid}.tmp`);
  const pause = Number(process.env.MIYA_TEST_WRITE_PAUSE_MS ?? 0);
  let file: FileHandle | undefined;
  try {
    await rm(tmp, { force: true }); // our own, from a process that had our pid before
    file = await open(tmp, 'wx');
    await writeAll(file, bytes, pause);
    await file.sync();
    await file.close();
    file = undefined;
    await rename(tmp, target);
  } catch (e) {
    await file?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
