// The documents the code, the examples' notes (told by `miya explain` and the Story tab) and the
// benchmark cite are in the repository: no DESIGN.md (there is none), and every FILE.md named
// (README.md, ARCHITECTURE.md, bench/RESULTS.md, …) exists, from the repository's root or from
// the citing file's folder.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const FOLDERS = ['src', 'web', 'examples', 'shaders', 'bench'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

const sources = FOLDERS.flatMap((f) => files(join(ROOT, f))).map((path) => ({ path, name: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

test('the folders are read (a glob that found nothing would pass anything)', () => {
  for (const f of FOLDERS) expect(sources.filter((s) => s.name.startsWith(f + '/')).length, f).toBeGreaterThan(0);
  expect(sources.some((s) => s.name === 'examples/linear-half-mse.json')).toBe(true);
});

test('no file in src/, web/, examples/, shaders/ or bench/ cites DESIGN.md', () => {
  const citing = sources
    .flatMap((s) =>
      s.text
        .split('\n')
        .map((line, i) => [s.name, i + 1, line] as const)
        .filter(([, , line]) => /DESIGN\.md/i.test(line)),
    )
    .map(([name, n, line]) => `${name}:${n}: ${line.trim()}`);
  expect(citing).toEqual([]);
});

test('every document they cite by name (README.md, ARCHITECTURE.md, bench/RESULTS.md, …) is in the repository', () => {
  const missing: string[] = [];
  for (const s of sources) {
    for (const [cited] of s.text.matchAll(/[\w./-]*\b[A-Z][A-Z_]+\.md\b/g)) {
      if (!existsSync(join(ROOT, cited)) && !existsSync(join(dirname(s.path), cited))) missing.push(`${s.name}: ${cited}`);
    }
  }
  expect(missing).toEqual([]);
});
