// The tuning cache for the CLI (`--tune`): a JSON file, by default in the user's cache directory
// ($XDG_CACHE_HOME/miya/tuning.json, else ~/.cache/miya/tuning.json), written atomically.
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { SpecError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import type { TuneStore } from '../tuneStore.js';
import { checkTuneStore } from '../webgpu/tuneCache.js';

export function defaultTuneCachePath(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'miya', 'tuning.json');
}

export function tuneCacheFile(path: string): TuneStore {
  return {
    where: path,
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        // nothing there (yet): the first run writes it, or says why it could not
        if (['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) return undefined;
        throw new SpecError(path, `cannot read the tuning cache (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    },
    async write(text) {
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, new TextEncoder().encode(text));
    },
  };
}

/**
 * `--tune-cache FILE|off` beside `--tune`: the store, or none for `off`. A file that is there but
 * is not a tuning cache is refused now, before a device is opened.
 */
export async function tuneStoreOption(tune: boolean, value: string | undefined): Promise<TuneStore | undefined> {
  if (value !== undefined && !tune) throw new SpecError('--tune-cache', 'expected --tune beside it');
  if (!tune || value === 'off') return undefined;
  if (value === '') throw new SpecError('--tune-cache', 'expected a file name or "off", got ""');
  const store = tuneCacheFile(value ?? defaultTuneCachePath());
  await checkTuneStore(store);
  return store;
}
