// safetensors: a round trip keeps names, shapes, dtypes and every bit; a truncated, corrupted or
// malformed file is refused with a message naming it, and every field of the header is checked
// as untrusted input, also when the checksum matches (recomputed after the edit).
import { expect, test } from 'vitest';
import { decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES, type Tensor } from '../src/io/safetensors.js';
import { join, split, tamper } from './tamper.js';

const tensors = new Map<string, Tensor>([
  ['layers.0.weight', { shape: [2, 3], data: Float32Array.of(0.1, -0.2, 0.3, 1e-30, -5, 7) }],
  ['layers.0.bias', { shape: [2], data: Float64Array.of(Math.PI, -Math.E) }],
]);

test('round trip: names, shapes, dtypes, values and metadata', async () => {
  const bytes = await encodeSafetensors(tensors, { step: '42' });
  const headLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  expect((8 + headLen) % 8).toBe(0);
  const back = await decodeSafetensors(bytes, 'm.safetensors');
  expect([...back.tensors.keys()]).toEqual(['layers.0.weight', 'layers.0.bias']);
  expect(back.tensors.get('layers.0.weight')!.shape).toEqual([2, 3]);
  expect(back.tensors.get('layers.0.weight')!.data).toEqual(tensors.get('layers.0.weight')!.data);
  expect(back.tensors.get('layers.0.bias')!.data).toBeInstanceOf(Float64Array);
  expect([...back.tensors.get('layers.0.bias')!.data]).toEqual([Math.PI, -Math.E]);
  expect(back.metadata.step).toBe('42');
  expect(back.metadata.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(back.checksum).toBe('header+body');
});

test('a truncated, corrupted or malformed file is refused, naming it', async () => {
  const bytes = await encodeSafetensors(tensors);
  await expect(decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'ckpt.safetensors')).rejects.toThrow(/ckpt\.safetensors: .*checksum does not match/);
  const flipped = bytes.slice();
  flipped[flipped.length - 1] ^= 1;
  await expect(decodeSafetensors(flipped, 'ckpt.safetensors')).rejects.toThrow(/checksum does not match/);
  await expect(decodeSafetensors(bytes.subarray(0, 5), 'ckpt.safetensors')).rejects.toThrow(/shorter than the header length/);
  const garbage = bytes.slice();
  garbage[9] = 0x7b;
  garbage[10] = 0x7b;
  await expect(decodeSafetensors(garbage, 'ckpt.safetensors')).rejects.toThrow(/header is not JSON/);
});

test("the checksum covers the header: swapping two tensors' offsets is caught", async () => {
  const same = new Map<string, Tensor>([
    ['a', { shape: [2], data: Float32Array.of(1, 2) }],
    ['b', { shape: [2], data: Float32Array.of(3, 4) }],
  ]);
  const bytes = await encodeSafetensors(same);
  const swapped = await tamper(
    bytes,
    (h) => {
      [h.a.data_offsets, h.b.data_offsets] = [h.b.data_offsets, h.a.data_offsets];
    },
    'keep',
  );
  await expect(decodeSafetensors(swapped, 'f')).rejects.toThrow(/f: not a usable safetensors file \(its checksum does not match/);
  const meta = await tamper(
    bytes,
    (h) => {
      h.__metadata__.step = '7';
    },
    'keep',
  );
  await expect(decodeSafetensors(meta, 'f')).rejects.toThrow(/checksum does not match/);
  // a checksum of the body alone (older Miya files) is told apart, for the reader to decide
  const { header, body } = split(bytes);
  header.__metadata__.sha256 = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', body as Uint8Array<ArrayBuffer>)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  expect((await decodeSafetensors(join(header, body), 'f')).checksum).toBe('body');
});

const plain = () => encodeSafetensors(tensors); // weight F32 at 0..24, bias F64 at 24..40
const refusedCases: [string, (h: Record<string, any>) => void, RegExp][] = [
  [
    'a bias aliasing into the weights',
    (h) => {
      h['layers.0.bias'].data_offsets = [8, 24];
    },
    /layers\.0\.bias's data \(8\.\.24\) overlaps layers\.0\.weight's \(0\.\.24\)/,
  ],
  [
    'non-integer offsets',
    (h) => {
      h['layers.0.bias'].data_offsets = [24.5, 40.5];
    },
    /layers\.0\.bias has data_offsets \[24\.5,40\.5\], expected \[from, to\], integers with 0 ≤ from ≤ to/,
  ],
  [
    'negative offsets',
    (h) => {
      h['layers.0.bias'].data_offsets = [-8, 0];
    },
    /data_offsets \[-8,0\]/,
  ],
  [
    'offsets as strings',
    (h) => {
      h['layers.0.bias'].data_offsets = ['24', '40'];
    },
    /data_offsets \["24","40"\]/,
  ],
  [
    'from after to',
    (h) => {
      h['layers.0.bias'].data_offsets = [40, 24];
    },
    /data_offsets \[40,24\]/,
  ],
  [
    'three offsets',
    (h) => {
      h['layers.0.bias'].data_offsets = [24, 32, 40];
    },
    /data_offsets \[24,32,40\]/,
  ],
  [
    'a gap before a tensor',
    (h) => {
      h['layers.0.weight'].data_offsets = [0, 16];
      h['layers.0.weight'].shape = [2, 2];
    },
    /layers\.0\.bias's data starts at 24, but the tensors before it end at 16: a gap/,
  ],
  [
    'a shape that does not fit its bytes',
    (h) => {
      h['layers.0.weight'].shape = [3, 3];
    },
    /layers\.0\.weight's data_offsets \[0, 24\] hold 24 bytes; its shape \[3,3\] of F32 needs 36/,
  ],
  [
    'a negative dimension',
    (h) => {
      h['layers.0.weight'].shape = [-2, -3];
    },
    /layers\.0\.weight has shape \[-2,-3\], expected an array of integers ≥ 0/,
  ],
  [
    'a fractional dimension',
    (h) => {
      h['layers.0.weight'].shape = [1.5, 4];
    },
    /has shape \[1\.5,4\]/,
  ],
  [
    'an unknown dtype',
    (h) => {
      h['layers.0.weight'].dtype = 'F16';
    },
    /layers\.0\.weight has dtype "F16"; expected F32 or F64/,
  ],
  [
    'an inherited dtype name',
    (h) => {
      h['layers.0.weight'].dtype = 'constructor';
    },
    /has dtype "constructor"/,
  ],
  [
    'a tensor that is not an object',
    (h) => {
      h['layers.0.weight'] = [1, 2];
    },
    /layers\.0\.weight is \[1,2\], expected \{dtype, shape, data_offsets\}/,
  ],
  [
    'metadata that is not an object of strings',
    (h) => {
      h.__metadata__.step = 5;
    },
    /__metadata__\.step is 5, expected a string/,
  ],
  [
    'metadata that is an array',
    (h) => {
      h.__metadata__ = ['a'];
    },
    /__metadata__ is \["a"\], expected an object of strings/,
  ],
  [
    'a checksum that is ""',
    (h) => {
      h.__metadata__.sha256 = '';
    },
    /its metadata\.sha256 is "", expected 64 hex digits/,
  ],
];

test.each(refusedCases)('refused, even with a matching checksum: %s', async (_name, edit, message) => {
  const bytes = await tamper(await plain(), edit);
  await expect(decodeSafetensors(bytes, 'x.safetensors')).rejects.toThrow(new RegExp(`^x\\.safetensors: not a usable safetensors file \\(.*${message.source}`));
});

test('a header that is not a JSON object, or not UTF-8, is refused', async () => {
  const { body } = split(await plain());
  for (const [text, shown] of [
    ['null', 'null'],
    ['[]', 'an array'],
    ['42', 'number'],
    ['"x"', 'string'],
  ]) {
    await expect(decodeSafetensors(join(text, body), 'x')).rejects.toThrow(
      `x: not a usable safetensors file (the header is ${shown}, expected a JSON object of tensors)`,
    );
  }
  const bad = join('{"a":"\xff"}', body);
  bad[8 + 6] = 0xff; // a lone byte that is not UTF-8, inside the string
  await expect(decodeSafetensors(bad, 'x')).rejects.toThrow(/the header is not JSON/);
});

test('the tensors must take the body exactly: bytes after them are refused, as is a header length past the limit', async () => {
  const bytes = await plain();
  const longer = new Uint8Array(bytes.length + 8);
  longer.set(bytes);
  // the checksum covers the longer body, so the length check is what refuses it
  const withTail = await tamper(longer, () => undefined);
  await expect(decodeSafetensors(withTail, 'x')).rejects.toThrow(
    /x: not a usable safetensors file \(its tensors take 40 bytes after the header, the file has 48: bytes after the last tensor\)/,
  );
  const huge = new Uint8Array(MAX_HEADER_BYTES + 16);
  new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
  await expect(decodeSafetensors(huge, 'x')).rejects.toThrow(/a header of 16777217 bytes; Miya reads headers of at most 16777216 bytes/);
  const absurd = bytes.slice();
  new DataView(absurd.buffer).setBigUint64(0, 2n ** 63n, true);
  await expect(decodeSafetensors(absurd, 'x')).rejects.toThrow(/the header says 9223372036854775808 bytes, the file has \d+ after the length/);
});

test('a file without a checksum, its tensors listed out of offset order, zero-sized ones too, loads (PyTorch writes such files)', async () => {
  const body = new Uint8Array(new Float32Array([1, 2, 3, 4, 5]).buffer);
  const header = {
    __metadata__: { format: 'pt' },
    'layers.0.bias': { dtype: 'F32', shape: [1], data_offsets: [16, 20] },
    empty: { dtype: 'F64', shape: [0, 3], data_offsets: [16, 16] },
    'layers.0.weight': { dtype: 'F32', shape: [1, 4], data_offsets: [0, 16] },
  };
  const back = await decodeSafetensors(join(header, body), 'torch.safetensors');
  expect(back.checksum).toBe('none');
  expect([...back.tensors.get('layers.0.weight')!.data]).toEqual([1, 2, 3, 4]);
  expect([...back.tensors.get('layers.0.bias')!.data]).toEqual([5]);
  expect(back.tensors.get('empty')!.data).toHaveLength(0);
});

test('a header too big to be read back is never written', async () => {
  await expect(encodeSafetensors(tensors, { spec: 'x'.repeat(MAX_HEADER_BYTES) })).rejects.toThrow(
    /over the 16777216 that readers accept \(its largest part is metadata\.spec/,
  );
});
