// What `miya train` reads (issue 13): a spec file is refused before a byte is read when it is not
// a regular file (a FIFO waits for a writer, /dev/zero never ends) or larger than 256 MiB; JSON
// nested deeper than 64 levels is refused before it is parsed; errors are one line without raw
// control bytes; and a CSV path may lie outside the spec's folder, but no error quotes more than
// 40 characters of what it read. Each refusal is exit 2 with nothing written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { readSpecFile } from '../src/cli/specFile.js';
import { MAX_FILE_BYTES } from '../src/data/csv.js';
import { SpecError } from '../src/errors.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'miya-paths-'));
const file = (name: string, text: string | Buffer) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
function miya(args: string[], nodeFlags: string[] = []) {
  return spawnSync('node', [...nodeFlags, join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}
const csvSpec = (csv: string) =>
  JSON.stringify({
    model: { type: 'mlp', inputSize: 1, layers: [{ units: 1 }] },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: { csv },
    steps: 2,
  });

/** A refusal: exit 2, one line on stderr naming `where`, no raw control bytes, no checkpoint written. */
function refused(args: string[], where: RegExp, nodeFlags: string[] = []): string {
  const ckpt = join(dir, `never-${Math.random().toString(36).slice(2)}.safetensors`);
  const r = miya([...args, '--backend', 'cpu', '--checkpoint', ckpt], nodeFlags);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toMatch(where);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(existsSync(ckpt)).toBe(false);
  return r.stderr;
}

test('a spec nested 5,000 deep is refused naming the path, not a stack overflow at the checkpoint', () => {
  // a worked example that trains (before, its checkpoint failed: exit 1), written as text: JSON.stringify overflows on it
  const example = JSON.parse(readFileSync(join(root, 'examples/mlp-3-3-1-sigmoid.json'), 'utf8'));
  const spec = file(
    'deep.json',
    JSON.stringify({ ...example, expect: { ...example.expect, deep: 'HERE' } }).replace('"HERE"', `${'['.repeat(5000)}${']'.repeat(5000)}`),
  );
  refused(['train', spec], /^miya train: expect\.deep(\[0\]){62}: nested deeper than 64 levels of arrays and objects/);
});

test('50 MB of "[" is refused before it is parsed, in little memory', () => {
  // JSON.parse spent 2.7 GB on this; a heap of 256 MB is plenty now
  const spec = file('brackets.json', '['.repeat(50 * 2 ** 20));
  refused(['train', spec], /^miya train: (\[0\]){64}: nested deeper than 64 levels/, ['--max-old-space-size=256']);
});

test('a spec over 256 MiB is refused before it is read, naming the file and the bound', async () => {
  const big = join(dir, 'big.json');
  writeFileSync(big, '');
  truncateSync(big, 300 * 2 ** 20); // sparse: no disk is spent, and nothing is read if the size is checked first
  refused(['train', big], /^miya train: .*big\.json: is 300\.0 MiB; Miya reads at most 256\.0 MiB of a run spec or CSV file$/m);
  expect(MAX_FILE_BYTES).toBe(256 * 2 ** 20);
  const small = file('small.json', csvSpec('x.csv'));
  const size = readFileSync(small).length;
  await expect(readSpecFile(small, size - 1)).rejects.toThrow(
    new SpecError(small, `is ${size} bytes; Miya reads at most ${size - 1} bytes of a run spec or CSV file`),
  );
  await expect(readSpecFile(small, size)).resolves.toMatchObject({ steps: 2 });
});

test('a FIFO or a device as the spec or its CSV is refused before a byte is read', () => {
  const fifo = join(dir, 'pipe.json');
  if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');
  // before: the FIFO waited for a writer (the test's timeout), /dev/zero was read until memory ran out
  refused(['train', fifo], /^miya train: .*pipe\.json: is a FIFO \(named pipe\); expected a regular file$/m);
  refused(['train', '/dev/zero'], /^miya train: \/dev\/zero: is a character device; expected a regular file$/m);
  refused(['train', file('zero-csv.json', csvSpec('/dev/zero'))], /^miya train: data\.csv: \/dev\/zero is a character device; expected a regular file$/m);
  refused(['train', file('fifo-csv.json', csvSpec('pipe.json'))], /^miya train: data\.csv: .*pipe\.json is a FIFO \(named pipe\); expected a regular file$/m);
  refused(['train', dir], /^miya train: .*miya-paths-\w+: is a directory; expected a regular file$/m);
});

test("invalid JSON is one line, with its line and column, and none of the file's control bytes", () => {
  const err = refused(
    ['train', file('control.json', '{\n  "model": \u0001\u001b[2J\u001b]0;pwned\u0007\n}')],
    /^miya train: .*control\.json: invalid JSON: Unexpected token/,
  );
  expect(err).toContain('\\x01');
  refused(
    ['train', file('comma.json', '{"steps": 1,\n  "model": {},\n}')],
    /^miya train: .*comma\.json: invalid JSON at line 3, column 1: Expected double-quoted property name$/m,
  );
  refused(['train', file('newline-in-name\n.json', '{')], /newline-in-name\\n\.json: invalid JSON/);
});

test("a CSV outside the spec's folder is read (as PyTorch or Keras read any path), and an error quotes 40 characters of it at most", () => {
  // the spec in sub/, its data one folder up: allowed, and it trains
  mkdirSync(join(dir, 'sub'), { recursive: true });
  file('numbers.csv', 'x,y\n1,2\n3,4\n');
  const ok = miya(['train', file('sub/up.json', csvSpec('../numbers.csv')), '--backend', 'cpu']);
  expect(ok.status, ok.stderr).toBe(0);
  // a file that is not data: its error names the line and quotes 20 characters of a cell and of its column
  const secret = `${'s'.repeat(19)}Σ\u001b[2J${'t'.repeat(100)}SECRET-LINE-END`;
  file('secret.txt', `${secret}\n${secret.replace('Σ', 'Δ')}\nmore secrets on line three\n`);
  const err = refused(['train', file('sub/leak.json', csvSpec('../secret.txt'))], /secret\.txt:2: column "s{19}Σ…": expected a number, got "s{19}Δ…"$/m);
  expect(err).not.toMatch(/tttt|SECRET|more secrets/);
  // the issue's own case, where there is an /etc/passwd: not a line of it beyond 20 characters
  if (existsSync('/etc/passwd')) {
    const leak = refused(['train', file('sub/passwd.json', csvSpec('../../../../../../../../etc/passwd'))], /^miya train: /);
    const lines = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .filter((l) => l.length > 21);
    for (const l of lines) expect(leak).not.toContain(l.slice(0, 21));
  }
});
