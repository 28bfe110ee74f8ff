// The streamed-file memory tests (tests/csv-stream.test.ts, tests/text-stream.test.ts) share this:
// a large file written chunk by chunk (never held whole), and a run spec trained in a child
// process on the cpu backend, which reports its losses and its own peak RSS.
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/** The bound on the training process's peak RSS, whatever the file's size. */
export const RSS_BOUND_MIB = 256;

/** Writes `chunk()` to `path` until at least `mb` megabytes (10^6 bytes) are written. */
export async function writeLarge(path: string, mb: number, chunk: () => string, header = ''): Promise<void> {
  const out = createWriteStream(path);
  out.write(header);
  for (let written = 0; written < mb * 1e6; ) {
    const bytes = Buffer.from(chunk());
    written += bytes.length;
    if (!out.write(bytes)) await new Promise<void>((done) => out.once('drain', () => done()));
  }
  await new Promise<void>((done) => out.end(() => done()));
}

/** Trains `spec` with the built library (dist/node) in a fresh Node process; its losses and peak RSS. */
export function trainInChild(spec: unknown): { losses: number[]; maxRssMiB: number } {
  const script = `
    const { runSpec } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'node', 'index.js'))});
    const r = await runSpec(${JSON.stringify(spec)}, { backend: 'cpu' });
    console.log(JSON.stringify({ losses: r.losses, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 900_000 });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout) as { losses: number[]; maxRssMiB: number };
}
