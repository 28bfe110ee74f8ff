// Files Miya writes and reads lose nothing:
// - a disk that fills up mid-write (a short write, then ENOSPC) fails the write, leaves the old
//   file whole and no temporary file: injected into writeFileAtomic, and for real on a tmpfs too
//   small for a second copy of the checkpoint (train --resume ck --checkpoint ck exits 1);
// - only regular files are read and replaced: a FIFO, a directory or /dev/null as --checkpoint is
//   refused before training, a symbolic link is written through to its target (and said), and
//   predict of /dev/zero or a FIFO is refused at once instead of reading forever;
// - an output that is one of the command's inputs (also through a hard or symbolic link) is
//   refused before anything is done; export keeps an edited miya_model.py unless --force;
// - temporary files of killed writers are removed by the next write, a live writer's are not.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { SpecError } from '../src/errors.js';
import { writeAll, writeFileAtomic } from '../src/io/atomicFile.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';

// A test-only hook on the handles writeFileAtomic opens: when `write` is set, every write of
// theirs goes through it (given the real write), so a test can make writes short or empty.
type Write = (buffer: Uint8Array, offset: number, length: number, position: number) => Promise<{ bytesWritten: number }>;
const inject = vi.hoisted(() => ({ write: undefined as undefined | ((real: Write, ...args: Parameters<Write>) => Promise<{ bytesWritten: number }>) }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (...args) => {
    const handle = await real.open(...args);
    const hook = inject.write;
    if (hook) {
      const write = handle.write.bind(handle) as unknown as Write;
      (handle as unknown as { write: Write }).write = (...a) => hook(write, ...a);
    }
    return handle;
  };
  return { ...real, open, default: { ...real, open } };
});

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/miya.js');
const miya = (...args: string[]) => spawnSync('node', [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), 'miya-files-'));
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_v, i) => (i * 31 + seed) & 0xff);
/** 'equal', or where two byte strings first differ (a diff of 200 kB of bytes would take vitest minutes to print). */
const compareBytes = (a: Uint8Array, b: Uint8Array): string => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `byte ${i} differs (${a[i]} vs ${b[i]})`;
  return a.length === b.length ? 'equal' : `lengths ${a.length} vs ${b.length}`;
};
const temps = (folder: string) => readdirSync(folder).filter((f) => f.endsWith('.tmp'));
const isRoot = process.getuid?.() === 0;

describe('writeFileAtomic', () => {
  test('a short write is continued until every byte is written', async () => {
    const got: number[] = [];
    const file = {
      write: async (b: Uint8Array, offset: number, length: number, position: number) => {
        const n = Math.min(length, 1000); // at most 1000 bytes a call, as a nearly full disk does
        for (let i = 0; i < n; i++) got[position + i] = b[offset + i];
        return { bytesWritten: n, buffer: b };
      },
    };
    const data = bytes(150_000, 1);
    await writeAll(file as never, data);
    expect(compareBytes(Uint8Array.from(got), data)).toBe('equal');
    const full = { write: async () => ({ bytesWritten: 0 }) };
    await expect(writeAll(full as never, data)).rejects.toThrow(/ENOSPC: no space left on device/);
  });

  test('injected: writes that come back short and then empty fail the write; the old file stays whole, no temporary file is left', async () => {
    const f = join(dir, 'injected.bin');
    const old = bytes(5000, 2);
    writeFileSync(f, old);
    let calls = 0;
    inject.write = async (real, b, offset, length, position) => {
      calls++;
      if (calls === 1) return real(b, offset, Math.min(length, 100), position); // short
      return { bytesWritten: 0 }; // the disk is full
    };
    try {
      await expect(writeFileAtomic(f, bytes(9000, 3))).rejects.toThrow(/ENOSPC/);
    } finally {
      inject.write = undefined;
    }
    expect(calls).toBe(2);
    expect(compareBytes(readFileSync(f), old)).toBe('equal');
    expect(temps(dir).filter((t) => t.startsWith('.injected.bin.'))).toEqual([]);
  });

  test('injected: writes that always come back short still write the whole file', async () => {
    const f = join(dir, 'short.bin');
    const data = bytes(200_000, 4);
    inject.write = async (real, b, offset, length, position) => real(b, offset, Math.min(length, 777), position);
    try {
      await writeFileAtomic(f, data);
    } finally {
      inject.write = undefined;
    }
    expect(compareBytes(readFileSync(f), data)).toBe('equal');
  });

  test("a temporary file of a killed writer is removed by the next write; a live writer's and other files' are kept", async () => {
    const dead = spawnSync('node', ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const live = spawn('sleep', ['30']);
    const f = join(dir, 'stale.bin');
    const names = [`.stale.bin.${dead}.tmp`, `.stale.bin.${live.pid}.tmp`, '.stale.bin.x.tmp', `.other.bin.${dead}.tmp`];
    for (const n of names) writeFileSync(join(dir, n), 'partial');
    try {
      await writeFileAtomic(f, bytes(10, 5));
    } finally {
      live.kill();
    }
    expect(names.map((n) => existsSync(join(dir, n)))).toEqual([false, true, true, true]);
  });

  test('a symbolic link is written through: its target gets the bytes, the link stays', async () => {
    const target = join(dir, 'target.bin'),
      link = join(dir, 'link.bin');
    writeFileSync(target, 'old');
    symlinkSync(target, link);
    await writeFileAtomic(link, bytes(10, 6));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(new Uint8Array(readFileSync(target))).toEqual(bytes(10, 6));
  });

  test('a FIFO, a directory, a device, a link to nothing or a path in a missing folder is refused, and left as it was', async () => {
    const fifo = join(dir, 'w.fifo');
    spawnSync('mkfifo', [fifo]);
    mkdirSync(join(dir, 'folder'));
    symlinkSync(join(dir, 'nothing'), join(dir, 'dangling'));
    const refused: [string, RegExp][] = [
      [fifo, /is a FIFO \(named pipe\); expected a regular file/],
      [join(dir, 'folder'), /is a directory; expected a regular file/],
      [join(dir, 'dangling'), /is a symbolic link that leads nowhere/],
      [join(dir, 'missing', 'f'), /its folder .*missing does not exist/],
      ...(isRoot ? [['/dev/null', /is a character device; expected a regular file/] as [string, RegExp]] : []),
    ];
    for (const [path, message] of refused) {
      const err = await writeFileAtomic(path, bytes(10, 7)).catch((e: unknown) => e);
      expect(err, path).toBeInstanceOf(SpecError);
      expect((err as Error).message, path).toMatch(message);
    }
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(temps(dir).filter((t) => !t.startsWith('.stale.') && !t.startsWith('.other.'))).toEqual([]);
  });
});

const spec = {
  model: {
    type: 'mlp',
    inputSize: 3,
    layers: [
      { units: 4, activation: 'relu' },
      { units: 1, activation: 'sigmoid' },
    ],
  },
  loss: 'mse',
  optimizer: { type: 'adam', lr: 0.1 },
  data: {
    x: [
      [0.5, 0.2, 0.1],
      [0.1, -0.3, 0.7],
    ],
    y: [[1], [0]],
  },
  steps: 3,
  seed: 1,
};
const specPath = join(dir, 'spec.json');
writeFileSync(specPath, JSON.stringify(spec));

describe('special files', () => {
  test('--checkpoint on a FIFO, /dev/null or a directory is refused before training, exit 2, and nothing is written', () => {
    const fifo = join(dir, 'ck.fifo');
    spawnSync('mkfifo', [fifo]);
    const folder = join(dir, 'ck-folder');
    mkdirSync(folder);
    const cases: [string, RegExp][] = [
      [fifo, /--checkpoint .*ck\.fifo: is a FIFO \(named pipe\); expected a regular file/],
      [folder, /--checkpoint .*ck-folder: is a directory; expected a regular file/],
      ['/dev/null', /--checkpoint \/dev\/null: is a character device; expected a regular file/],
    ];
    for (const [path, message] of cases) {
      const r = miya('train', specPath, '--backend', 'cpu', '--checkpoint', path, '--json');
      expect([r.status, r.stdout], path).toEqual([2, '']); // refused before training: no result
      expect(r.stderr.trim(), path).toMatch(message);
    }
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(readdirSync(folder)).toEqual([]);
    expect(temps(dir).filter((t) => t.startsWith('.ck'))).toEqual([]);
  });

  test('--checkpoint through a symbolic link writes its target, says so, and keeps the link', () => {
    const target = join(dir, 'real.safetensors'),
      link = join(dir, 'via-link.safetensors');
    symlinkSync(target, link);
    writeFileSync(target, '');
    const r = miya('train', specPath, '--backend', 'cpu', '--checkpoint', link, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`--checkpoint ${link} is a symbolic link: writing its target, ${target}`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(statSync(target).size).toBeGreaterThan(0);
  });

  test('predict refuses /dev/zero and a FIFO at once (no endless read, no blocking), exit 2 naming the file', () => {
    const fifo = join(dir, 'predict.fifo');
    spawnSync('mkfifo', [fifo]);
    const ckpt = join(dir, 'for-predict.safetensors');
    expect(miya('train', specPath, '--backend', 'cpu', '--checkpoint', ckpt, '--json').status).toBe(0);
    const input = join(dir, 'in.json');
    writeFileSync(input, '[[1, 2, 3]]');
    for (const args of [
      ['/dev/zero', input],
      [fifo, input],
      [ckpt, '/dev/zero'],
      [ckpt, fifo],
    ]) {
      const r = spawnSync('node', [bin, 'predict', ...args, '--backend', 'cpu'], { cwd: root, encoding: 'utf8', timeout: 20_000 });
      expect([r.status, r.signal], args.join(' ')).toEqual([2, null]);
      expect(r.stderr.trim(), args.join(' ')).toMatch(
        /^miya predict: (\/dev\/zero: is a character device|.*predict\.fifo: is a FIFO \(named pipe\)); expected a regular file$/,
      );
    }
  });
});

describe('an output that is an input', () => {
  test('train refuses a checkpoint that is its spec (also through a hard or symbolic link) or its CSV data, and leaves them whole', () => {
    const csv = join(dir, 'series.csv');
    writeFileSync(csv, 'a,b\n1,2\n3,4\n5,6\n');
    const csvSpec = join(dir, 'csv-spec.json');
    writeFileSync(
      csvSpec,
      JSON.stringify({
        ...spec,
        model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, activation: 'identity' }] },
        data: { csv: 'series.csv', inputs: ['a'], targets: ['b'] },
      }),
    );
    const hard = join(dir, 'hard-link.json'),
      soft = join(dir, 'soft-link.json');
    linkSync(specPath, hard);
    symlinkSync(specPath, soft);
    const before = readFileSync(specPath, 'utf8');
    const cases: [string[], RegExp][] = [
      [
        [specPath, '--checkpoint', specPath],
        /--checkpoint .*spec\.json: is the run spec \(.*spec\.json\) too, which writing it would destroy; expected another file/,
      ],
      [[specPath, '--checkpoint', hard], /--checkpoint .*hard-link\.json: is the run spec/],
      [[specPath, '--checkpoint', soft], /--checkpoint .*soft-link\.json: is the run spec/],
      [[csvSpec, '--checkpoint', csv], /--checkpoint .*series\.csv: is the CSV data \(.*series\.csv\) too/],
    ];
    for (const [args, message] of cases) {
      const r = miya('train', ...args, '--backend', 'cpu', '--json');
      expect([r.status, r.stdout], args.join(' ')).toEqual([2, '']);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
    }
    expect(readFileSync(specPath, 'utf8')).toBe(before);
    expect(readFileSync(csv, 'utf8')).toBe('a,b\n1,2\n3,4\n5,6\n');
    // resuming into the checkpoint it resumes from is how a run goes on: allowed
    const ckpt = join(dir, 'goes-on.safetensors');
    expect(miya('train', specPath, '--backend', 'cpu', '--checkpoint', ckpt, '--json').status).toBe(0);
    const r = miya('train', '--resume', ckpt, '--steps', '5', '--backend', 'cpu', '--checkpoint', ckpt, '--json');
    expect(r.status, r.stderr).toBe(0);
  });

  test('import refuses --out that is the file it imports or its --spec; export refuses to write over the checkpoint it exports', async () => {
    const run = join(dir, 'run');
    mkdirSync(run);
    const ckpt = join(run, 'model.safetensors');
    expect(miya('train', specPath, '--backend', 'cpu', '--checkpoint', ckpt, '--json').status).toBe(0);
    const kept = readFileSync(ckpt);
    let r = miya('export', ckpt, '--pytorch', run);
    expect([r.status, r.stderr.trim()]).toEqual([
      2,
      `miya export: ${ckpt}: is the checkpoint being exported (${ckpt}) too, which writing it would destroy; expected another file`,
    ]);
    expect(readdirSync(run)).toEqual(['model.safetensors']); // not even miya_model.py
    r = miya('import', ckpt, '--out', ckpt);
    expect([r.status, r.stderr.trim()]).toEqual([
      2,
      `miya import: --out ${ckpt}: is the file being imported (${ckpt}) too, which writing it would destroy; expected another file`,
    ]);
    const specCopy = join(dir, 'spec-copy.json');
    writeFileSync(specCopy, JSON.stringify(spec));
    r = miya('import', ckpt, '--spec', specCopy, '--out', specCopy);
    expect([r.status, r.stderr.trim()]).toEqual([2, expect.stringMatching(/--out .*spec-copy\.json: is the --spec file/)]);
    expect(compareBytes(readFileSync(ckpt), kept)).toBe('equal');
    expect(JSON.parse(readFileSync(specCopy, 'utf8'))).toEqual(spec);
    expect((await decodeCheckpoint(new Uint8Array(kept), ckpt)).step).toBe(3);
  });

  test('export replaces model.safetensors and says so, but keeps an edited miya_model.py unless --force', () => {
    const ckpt = join(dir, 'to-export.safetensors');
    expect(miya('train', specPath, '--backend', 'cpu', '--checkpoint', ckpt, '--json').status).toBe(0);
    const out = join(dir, 'torch');
    expect(miya('export', ckpt, '--pytorch', out).status).toBe(0);
    let r = miya('export', ckpt, '--pytorch', out); // the same module: only the weights are replaced
    expect(r.status, r.stderr).toBe(0);
    // the same module and train.py: only the weights and the optimizer state are replaced
    expect(r.stderr.trim().split('\n')).toEqual([
      `replaced ${join(out, 'model.safetensors')}, which was there before`,
      `replaced ${join(out, 'train_state.safetensors')}, which was there before`,
    ]);
    const module = join(out, 'miya_model.py');
    const edited = readFileSync(module, 'utf8') + '\n# my own change\n';
    writeFileSync(module, edited);
    r = miya('export', ckpt, '--pytorch', out);
    expect([r.status, r.stderr.trim()]).toEqual([
      2,
      `miya export: ${module}: differs from the module this Miya writes (edited?); expected --force to replace it, or another --pytorch directory`,
    ]);
    expect(readFileSync(module, 'utf8')).toBe(edited);
    r = miya('export', ckpt, '--pytorch', out, '--force');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`replaced ${module}, which was there before`);
    expect(readFileSync(module, 'utf8')).not.toBe(edited);
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    r = miya('export', ckpt, '--pytorch', file);
    expect([r.status, r.stderr.trim()]).toEqual([2, `miya export: --pytorch ${file}: is a file; expected a directory`]);
  });
});

// A real full disk: a tmpfs with room for the checkpoint and part of a second copy. The old
// checkpoint's bytes and the new one's are measured first, off the tmpfs, so that the second copy
// gets all but its last page: the write comes back short, and the next one fails with ENOSPC.
const page = Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout) || 4096;
const canMount =
  isRoot &&
  (() => {
    const probe = mkdtempSync(join(tmpdir(), 'miya-mount-probe-'));
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
    if (ok) spawnSync('umount', [probe]);
    return ok;
  })();
const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted) spawnSync('umount', [m]);
});

test.skipIf(!canMount)(
  `a disk that fills up while the checkpoint is written: exit 1, the previous checkpoint intact and resumable, no temporary file left${canMount ? '' : ' (skipped: mounting a tmpfs needs root and CAP_SYS_ADMIN)'}`,
  async () => {
    const big = {
      ...spec,
      model: {
        type: 'mlp',
        inputSize: 20,
        layers: [
          { units: 30, activation: 'relu' },
          { units: 1, activation: 'sigmoid' },
        ],
      },
      data: { x: [Array.from({ length: 20 }, (_v, i) => i / 20)], y: [[1]] },
    };
    const bigSpec = join(dir, 'big.json');
    writeFileSync(bigSpec, JSON.stringify(big));
    const step2 = join(dir, 'big-2.safetensors'),
      step3 = join(dir, 'big-3.safetensors');
    expect(miya('train', bigSpec, '--backend', 'cpu', '--steps', '2', '--checkpoint', step2, '--json').status).toBe(0);
    expect(miya('train', bigSpec, '--backend', 'cpu', '--steps', '3', '--checkpoint', step3, '--json').status).toBe(0);
    const pages = (f: string) => Math.ceil(statSync(f).size / page);
    expect(statSync(step3).size).toBeLessThan(64 * 1024); // one write call: a short one is the last
    const disk = mkdtempSync(join(tmpdir(), 'miya-full-'));
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${(pages(step2) + pages(step3) - 1) * page}`, 'tmpfs', disk]).status).toBe(0);
    mounted.push(disk);
    const ckpt = join(disk, 'ck.safetensors');
    const previous = readFileSync(step2);
    writeFileSync(ckpt, previous);

    const r = miya('train', '--resume', ckpt, '--checkpoint', ckpt, '--checkpoint-every', '1', '--steps', '4', '--backend', 'cpu', '--json');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        `^miya train: the checkpoint could not be written to ${ckpt} \\(ENOSPC: no space left on device.*\\); the previous checkpoint there is intact`,
      ),
    );
    expect(compareBytes(readFileSync(ckpt), previous)).toBe('equal');
    expect(readdirSync(disk)).toEqual(['ck.safetensors']);
    expect((await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt)).step).toBe(2);
    const resumed = miya('train', '--resume', ckpt, '--steps', '4', '--backend', 'cpu', '--json');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toBe(miya('train', bigSpec, '--backend', 'cpu', '--steps', '4', '--json').stdout);
  },
);
