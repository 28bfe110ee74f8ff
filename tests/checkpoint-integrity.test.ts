// A checkpoint is read as untrusted input by every command that takes one (train --resume,
// predict, export, import): a file whose header lies about where its tensors are, whose checksum
// is gone or empty, whose step or optimizer_t is not a count, or whose header was edited (the
// checksum covers it) is refused with exit 2 and one line naming the file, and nothing is written.
// Edits of the tensor table keep the checksum (the layout is checked before it, and a checksum of
// the body alone, as older Miya versions wrote, still matches); edits of the metadata recompute it
// as Miya computes it, so that the check under test is the one on the field.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { type Header, join as joinFile, split, tamper } from './tamper.js';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'miya-integrity-'));

function miya(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

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
const input = join(dir, 'in.json');
let good: Uint8Array;

beforeAll(async () => {
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  writeFileSync(input, JSON.stringify({ x: [[0.5, 0.2, 0.1]] }));
  const r = await miya('train', join(dir, 'spec.json'), '--backend', 'cpu', '--json', '--checkpoint', join(dir, 'good.safetensors'));
  expect(r.status, r.stderr).toBe(0);
  good = new Uint8Array(readFileSync(join(dir, 'good.safetensors')));
});

const offsets = (h: Header, name: string): [number, number] => h[name].data_offsets;
const flipBody = (body: Uint8Array) => {
  body[body.length - 3] ^= 0x40;
};
const bodyOnlySha = async (body: Uint8Array) =>
  Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', body as Uint8Array<ArrayBuffer>)), (b) => b.toString(16).padStart(2, '0')).join('');

type Case = [name: string, make: () => Promise<Uint8Array>, message: RegExp];
const cases: Case[] = [
  [
    "the bias's data_offsets alias into the weights",
    () =>
      tamper(
        good,
        (h) => {
          const [from] = offsets(h, 'layers.0.weight'),
            [b0, b1] = offsets(h, 'layers.0.bias');
          h['layers.0.bias'].data_offsets = [from, from + b1 - b0];
        },
        'keep',
      ),
    /not a usable safetensors file \(layers\.0\.(weight|bias)'s data .* overlaps/,
  ],
  [
    'non-integer offsets',
    () =>
      tamper(
        good,
        (h) => {
          h['layers.0.bias'].data_offsets = offsets(h, 'layers.0.bias').map((v) => v + 0.5);
        },
        'keep',
      ),
    /layers\.0\.bias has data_offsets \[[\d.]+5,[\d.]+5\], expected \[from, to\], integers/,
  ],
  [
    'sha256 deleted and a body byte flipped',
    () =>
      tamper(good, (h, body) => {
        delete h.__metadata__.sha256;
        flipBody(body);
      }),
    /: metadata\.sha256: missing; every Miya checkpoint carries the checksum/,
  ],
  [
    'sha256 "" and a body byte flipped',
    () =>
      tamper(good, (h, body) => {
        h.__metadata__.sha256 = '';
        flipBody(body);
      }),
    /its metadata\.sha256 is "", expected 64 hex digits/,
  ],
  [
    'offsets [-8, 0]',
    () =>
      tamper(
        good,
        (h) => {
          h['layers.0.bias'].data_offsets = [-8, 0];
        },
        'keep',
      ),
    /layers\.0\.bias has data_offsets \[-8,0\]/,
  ],
  ['header JSON null', async () => joinFile('null', split(good).body), /the header is null, expected a JSON object of tensors/],
  [
    'optimizer_t "NaN"',
    () =>
      tamper(good, (h) => {
        h.__metadata__.optimizer_t = 'NaN';
      }),
    /: metadata\.optimizer_t: expected an integer ≥ 0, got "NaN"/,
  ],
  [
    'optimizer_t -5',
    () =>
      tamper(good, (h) => {
        h.__metadata__.optimizer_t = '-5';
      }),
    /: metadata\.optimizer_t: expected an integer ≥ 0, got "-5"/,
  ],
  [
    'optimizer_t not the step',
    () =>
      tamper(good, (h) => {
        h.__metadata__.optimizer_t = '2';
      }),
    /: metadata\.optimizer_t: expected 3, the step .*got 2/,
  ],
  [
    'step "NaN"',
    () =>
      tamper(good, (h) => {
        h.__metadata__.step = 'NaN';
      }),
    /: metadata\.step: expected an integer ≥ 0, got "NaN"/,
  ],
  [
    'step -5',
    () =>
      tamper(good, (h) => {
        h.__metadata__.step = '-5';
      }),
    /: metadata\.step: expected an integer ≥ 0, got "-5"/,
  ],
  [
    'step 3.0',
    () =>
      tamper(good, (h) => {
        h.__metadata__.step = '3.0';
        h.__metadata__.optimizer_t = '3.0';
      }),
    /: metadata\.step: expected an integer ≥ 0, got "3\.0"/,
  ],
  [
    'swapped optimizer-state offsets (exp_avg ↔ exp_avg_sq)',
    () =>
      tamper(
        good,
        (h) => {
          const a = 'optimizer.exp_avg.layers.0.weight',
            b = 'optimizer.exp_avg_sq.layers.0.weight';
          [h[a].data_offsets, h[b].data_offsets] = [h[b].data_offsets, h[a].data_offsets];
        },
        'keep',
      ),
    /its checksum does not match: truncated or corrupted/,
  ],
  [
    'a NaN parameter',
    () =>
      tamper(good, (h, body) => {
        const [from] = offsets(h, 'layers.0.weight');
        new DataView(body.buffer, body.byteOffset).setFloat64(from, NaN, true);
      }),
    /layers\.0\.weight\[0\] is NaN; Miya never writes a checkpoint with NaN or Inf/,
  ],
  [
    'a checksum of the body alone',
    () =>
      tamper(good, async () => undefined).then(async (bytes) => {
        const { header, body } = split(bytes);
        header.__metadata__.sha256 = await bodyOnlySha(body);
        return joinFile(header, body);
      }),
    /: metadata\.sha256: covers the tensor bytes but not the header/,
  ],
  [
    "a miya-checkpoint/1 file (an older Miya's) without its checksum",
    async () => {
      const { header, body } = split(good);
      header.__metadata__.format = 'miya-checkpoint/1';
      delete header.__metadata__.sha256;
      return joinFile(header, body);
    },
    /: metadata\.sha256: missing; every Miya checkpoint carries a checksum/,
  ],
  [
    'a miya-checkpoint/1 file with a body byte flipped',
    async () => {
      const { header, body } = split(good);
      header.__metadata__.format = 'miya-checkpoint/1';
      header.__metadata__.sha256 = await bodyOnlySha(body);
      flipBody(body);
      return joinFile(header, body);
    },
    /its checksum does not match: truncated or corrupted/,
  ],
  [
    'bytes after the last tensor',
    async () => {
      const longer = new Uint8Array(good.length + 16);
      longer.set(good);
      return longer;
    },
    /its header describes \d+ bytes, the file has \d+: bytes after the last tensor/,
  ],
  [
    'a header length of 2^62',
    async () => {
      const absurd = good.slice();
      new DataView(absurd.buffer).setBigUint64(0, 2n ** 62n, true);
      return absurd;
    },
    /the header says 4611686018427387904 bytes, the file has \d+ after the length/,
  ],
];

const commands = (f: string, tag: string): [string, string[], string | undefined][] => [
  ['train --resume', ['train', '--resume', f, '--backend', 'cpu', '--checkpoint', f], undefined],
  ['predict', ['predict', f, input, '--backend', 'cpu'], undefined],
  ['export', ['export', f, '--pytorch', join(dir, `${tag}-torch`)], join(dir, `${tag}-torch`)],
  ['import', ['import', f, '--out', join(dir, `${tag}-imported.json`)], join(dir, `${tag}-imported.json`)],
];

test('the untampered checkpoint passes every command (the control for the cases below)', async () => {
  const f = join(dir, 'control.safetensors');
  writeFileSync(f, good);
  for (const [name, args] of commands(f, 'control')) {
    const r = await miya(...(name === 'train --resume' ? [...args, '--steps', '4', '--json'] : args));
    expect(r.status, `${name}: ${r.stderr}`).toBe(0);
  }
});

test.each(cases)('refused by train --resume, predict, export and import, exit 2 naming the file: %s', async (name, make, message) => {
  const tag = name.replace(/\W+/g, '-');
  const f = join(dir, `${tag}.safetensors`);
  const bytes = await make();
  writeFileSync(f, bytes);
  const runs = await Promise.all(commands(f, tag).map(async ([command, args, output]) => ({ command, output, r: await miya(...args) })));
  for (const { command, output, r } of runs) {
    expect([command, r.status]).toEqual([command, 2]);
    expect(r.stderr.trim().split('\n'), command).toHaveLength(1);
    expect(r.stderr, command).toContain(f);
    expect(r.stderr, command).toMatch(message);
    if (output) expect(existsSync(output), `${command} wrote ${output}`).toBe(false);
  }
  expect(new Uint8Array(readFileSync(f))).toEqual(bytes); // --checkpoint f did not touch it
});

test("an older Miya's checkpoint (miya-checkpoint/1, its checksum over the tensor bytes) still resumes, to the same losses, and is rewritten as format 2", async () => {
  const { header, body } = split(good);
  header.__metadata__.format = 'miya-checkpoint/1';
  header.__metadata__.sha256 = await bodyOnlySha(body);
  const old = join(dir, 'format1.safetensors'),
    now = join(dir, 'format2.safetensors');
  writeFileSync(old, joinFile(header, body));
  writeFileSync(now, good);
  const [a, b] = await Promise.all([old, now].map((f) => miya('train', '--resume', f, '--backend', 'cpu', '--steps', '5', '--json', '--checkpoint', f)));
  expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0]);
  expect(JSON.parse(a.stdout).losses).toEqual(JSON.parse(b.stdout).losses);
  expect(split(new Uint8Array(readFileSync(old))).header.__metadata__.format).toBe('miya-checkpoint/2');
});

test('import still reads a plain PyTorch file (no checksum, tensors listed out of offset order) and an older Miya export (body checksum)', async () => {
  const w = Float32Array.from({ length: 12 }, (_v, i) => i / 10),
    b = Float32Array.of(1, 2, 3, 4),
    w2 = Float32Array.of(5, 6, 7, 8),
    b2 = Float32Array.of(9);
  const body = new Uint8Array(4 * 21);
  [w2, b2, w, b].reduce((at, t) => {
    body.set(new Uint8Array(t.buffer), at);
    return at + t.byteLength;
  }, 0);
  const header = {
    __metadata__: { format: 'pt' },
    'layers.0.bias': { dtype: 'F32', shape: [4], data_offsets: [68, 84] },
    'layers.0.weight': { dtype: 'F32', shape: [4, 3], data_offsets: [20, 68] },
    'layers.1.bias': { dtype: 'F32', shape: [1], data_offsets: [16, 20] },
    'layers.1.weight': { dtype: 'F32', shape: [1, 4], data_offsets: [0, 16] },
  };
  const torchFile = join(dir, 'torch.safetensors');
  writeFileSync(torchFile, joinFile(header, body));
  let r = await miya('import', torchFile, '--spec', join(dir, 'spec.json'), '--out', join(dir, 'from-torch.json'));
  expect(r.status, r.stderr).toBe(0);
  const back = JSON.parse(readFileSync(join(dir, 'from-torch.json'), 'utf8'));
  expect(back.model.layers[0].bias).toEqual([1, 2, 3, 4]);
  expect(back.model.layers[1].weights).toEqual([[5, 6, 7, 8]]);

  const out = join(dir, 'old-export');
  expect((await miya('export', join(dir, 'good.safetensors'), '--pytorch', out)).status).toBe(0);
  const { header: h, body: bytes } = split(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
  h.__metadata__.sha256 = await bodyOnlySha(bytes);
  writeFileSync(join(out, 'old.safetensors'), joinFile(h, bytes));
  r = await miya('import', join(out, 'old.safetensors'), '--out', join(dir, 'from-old.json'));
  expect(r.status, r.stderr).toBe(0);
});
