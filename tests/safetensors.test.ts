// safetensors: a round trip keeps names, shapes, dtypes and every bit; a truncated, corrupted or
// malformed file is refused with a message naming it.
import { expect, test } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../src/io/safetensors.js';

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
});

test('a truncated, corrupted or malformed file is refused, naming it', async () => {
  const bytes = await encodeSafetensors(tensors);
  await expect(decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'ckpt.safetensors')).rejects.toThrow(/ckpt\.safetensors: .*checksum does not match/);
  const flipped = bytes.slice();
  flipped[flipped.length - 1] ^= 1;
  await expect(decodeSafetensors(flipped, 'ckpt.safetensors')).rejects.toThrow(/checksum does not match/);
  await expect(decodeSafetensors(bytes.subarray(0, 5), 'ckpt.safetensors')).rejects.toThrow(/shorter than the header length/);
  const garbage = bytes.slice();
  garbage[9] = 0x7b; garbage[10] = 0x7b;
  await expect(decodeSafetensors(garbage, 'ckpt.safetensors')).rejects.toThrow(/header is not JSON/);
});
