// Tuned choices kept between runs, per GPU (as autotuners keep their logs), so that `--tune`
// times a product once per GPU rather than once per process. The document has one section per
// device key: the adapter's vendor, architecture, device and description, and a digest of the
// matmul kernels' source and tile table, so that choices timed on another GPU, or for kernels
// that have changed since, are never used. Where it lives (a file, IndexedDB) is a TuneStore's
// business; this file only reads, checks and updates the document.
import { SpecError } from '../errors.js';
import { MATMUL_TILE_NAMES, type MatmulTile } from '../kernels.js';
import { MATMUL_TILES } from './kernels.js';
import { shaderFiles } from './shaders.js';
import type { TimedChoice } from './tune.js';
import type { TuneStore } from '../tuneStore.js';

export const TUNE_CACHE_FORMAT = 'miya-tuning';
export interface TuneCache {
  format: typeof TUNE_CACHE_FORMAT;
  version: 1;
  /** device key → product (tune.ts productKey) → choice */
  devices: Record<string, Record<string, TimedChoice>>;
}

export const emptyTuneCache = (): TuneCache => ({ format: TUNE_CACHE_FORMAT, version: 1, devices: {} });

/** The document in `text`, or a SpecError naming `where` if it is not one (it is then left alone, not overwritten). */
export function parseTuneCache(text: string, where: string): TuneCache {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SpecError(where, `not a Miya tuning cache (not JSON: ${(e as Error).message}); delete it to start a new one`);
  }
  const d = doc as Partial<TuneCache> | null;
  if (typeof d !== 'object' || d === null || d.format !== TUNE_CACHE_FORMAT) {
    throw new SpecError(where, `not a Miya tuning cache (expected "format": "${TUNE_CACHE_FORMAT}"); delete it to start a new one`);
  }
  if (d.version !== 1) throw new SpecError(where, `a tuning cache of version ${JSON.stringify(d.version)}; this Miya reads version 1`);
  if (typeof d.devices !== 'object' || d.devices === null || Array.isArray(d.devices)) throw new SpecError(`${where}: devices`, 'expected an object');
  return d as TuneCache;
}

function validChoice(v: unknown, tiles: readonly MatmulTile[]): v is TimedChoice {
  const c = v as Partial<TimedChoice> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    tiles.includes(c.tile as MatmulTile) &&
    typeof c.singleBuffer === 'boolean' &&
    typeof c.separateEpilogue === 'boolean' &&
    typeof c.vec4 === 'boolean' &&
    Number.isFinite(c.ms) &&
    Number.isFinite(c.untunedMs)
  );
}

/**
 * This device's choices. Entries that are not choices this device can run (a tile it lacks, a
 * field missing) are left out and named in `dropped`, so that their products are timed again.
 */
export function choicesFor(cache: TuneCache, device: string, tiles: readonly MatmulTile[]): { choices: Map<string, TimedChoice>; dropped: string[] } {
  const choices = new Map<string, TimedChoice>(),
    dropped: string[] = [];
  const section = cache.devices[device];
  if (typeof section !== 'object' || section === null) return { choices, dropped };
  for (const [product, c] of Object.entries(section)) {
    if (validChoice(c, tiles))
      choices.set(product, {
        tile: c.tile,
        singleBuffer: c.singleBuffer,
        separateEpilogue: c.separateEpilogue,
        vec4: c.vec4,
        ms: c.ms,
        untunedMs: c.untunedMs,
      });
    else dropped.push(product);
  }
  return { choices, dropped };
}

/** The cache with this device's section replaced by `choices`; other devices' sections are kept as they were. */
export function withChoices(cache: TuneCache, device: string, choices: ReadonlyMap<string, TimedChoice>): TuneCache {
  const round = (ms: number) => Math.round(ms * 1e4) / 1e4;
  const section = [...choices]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([product, c]) => [product, { ...c, ms: round(c.ms), untunedMs: round(c.untunedMs) }]);
  return { ...cache, devices: { ...cache.devices, [device]: Object.fromEntries(section) } };
}

/** SHA-256 (Web Crypto, in Node and the browser) of the text, as its first 12 hex digits. */
async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What the matmul variants are made of: a change to any of it makes earlier timings meaningless. */
export const matmulKernelsText = (): string => [shaderFiles.activation, shaderFiles.matmul, JSON.stringify(MATMUL_TILES), MATMUL_TILE_NAMES.join()].join('\n');

/** The key of a device's section: the adapter as it describes itself, and the kernels' digest. */
export async function tuneDeviceKey(
  info: Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>,
  kernels = matmulKernelsText(),
): Promise<string> {
  const adapter = [info.vendor, info.architecture, info.device, info.description].map((s) => s || '-').join(' / ');
  return `${adapter} · kernels ${await digest(kernels)}`;
}

async function readCache(store: TuneStore): Promise<TuneCache> {
  const text = await store.read();
  return text === undefined ? emptyTuneCache() : parseTuneCache(text, store.where);
}

/** Refuses (SpecError) a store that holds something other than a tuning cache: callers check before opening a device. */
export async function checkTuneStore(store: TuneStore): Promise<void> {
  await readCache(store);
}

/** This device's choices from the store (see choicesFor); a store that holds something else is a SpecError. */
export async function loadChoices(store: TuneStore, device: string, tiles: readonly MatmulTile[]) {
  return choicesFor(await readCache(store), device, tiles);
}

/**
 * Adds `choices` to this device's section and writes the document back. It is read again first,
 * so that what another run kept in the meantime (for this device or another) is not lost.
 */
export async function saveChoices(store: TuneStore, device: string, tiles: readonly MatmulTile[], choices: ReadonlyMap<string, TimedChoice>): Promise<number> {
  const cache = await readCache(store);
  const merged = new Map([...choicesFor(cache, device, tiles).choices, ...choices]);
  await store.write(JSON.stringify(withChoices(cache, device, merged), null, 1) + '\n');
  return merged.size;
}
