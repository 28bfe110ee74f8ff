// The playground's checkpoints: kept in IndexedDB (through idb-keyval) under the model's name, so a
// closed or crashed tab resumes where it stopped, and offered as a .safetensors download that
// `miya train --resume` and `miya export --pytorch` read.
import { get, set } from 'idb-keyval';

export interface StoredCheckpoint {
  bytes: Uint8Array;
  step: number;
  savedAt: string;
}

const key = (model: string) => `miya-checkpoint:${model}`;

export function storeCheckpoint(model: string, bytes: Uint8Array, step: number): Promise<void> {
  return set(key(model), { bytes, step, savedAt: new Date().toISOString() } satisfies StoredCheckpoint);
}

export function storedCheckpoint(model: string): Promise<StoredCheckpoint | undefined> {
  return get<StoredCheckpoint>(key(model));
}

/** Hands the bytes to the browser as a file download; returns the file name. */
export function download(bytes: Uint8Array, name: string): string {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
