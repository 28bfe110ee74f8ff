// The playground's tuning cache (webgpu/tuneCache.ts), for its Train and Bench tabs: one document in this browser's IndexedDB
// (through idb-keyval), so a product is timed once per GPU here as it is once per GPU in the CLI.
import { get, set } from 'idb-keyval';
import type { TuneStore } from '../src/tuneStore.js';

const KEY = 'miya-tuning';

export const browserTuneStore: TuneStore = {
  where: `this browser's IndexedDB, key ${KEY}`,
  read: () => get<string>(KEY),
  write: (text) => set(KEY, text),
};
