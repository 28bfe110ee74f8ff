// Random access to a file's bytes, for data streamed rather than read whole (csvStream.ts): a
// Node file handle there, or here a page's File (any Blob) read in slices.

export interface ByteFile {
  size: number;
  /** Reads up to into.length bytes at byte `at`; resolves how many were read (0 at the end). */
  read(into: Uint8Array, at: number): Promise<number>;
  close(): Promise<void>;
}

/** A page's File (or any Blob), read in slices: `loadDataset(spec, { openFile: async () => blobFile(file) })`. */
export function blobFile(blob: Blob): ByteFile {
  return {
    size: blob.size,
    async read(into, at) {
      const bytes = new Uint8Array(await blob.slice(at, Math.min(blob.size, at + into.length)).arrayBuffer());
      into.set(bytes);
      return bytes.length;
    },
    close: async () => {},
  };
}
