// Review finding 4: two adapter requests made at the same time must not take Miya's own temporary
// driver settings for the user's choice. Dawn is replaced by a fake here (no GPU needed): its
// requestAdapter answers, after a while, with SwiftShader when VK_ICD_FILENAMES names SwiftShader
// and with nothing otherwise, as on a machine without a GPU.
import { afterAll, beforeAll, expect, test, vi } from 'vitest';

vi.mock('webgpu', () => ({
  globals: {},
  create: () => ({
    requestAdapter: async () => {
      const icd = process.env.VK_ICD_FILENAMES;
      await new Promise((r) => setTimeout(r, 40));
      return icd?.includes('swiftshader') ? { fake: 'swiftshader' } : null;
    },
  }),
}));

const { nodeAdapter } = await import('../src/webgpu/nodeGpu.js');

const saved = { ...process.env };
beforeAll(() => {
  for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES']) delete process.env[k];
});
afterAll(() => {
  for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

test('finding 4: a second request made while the first is in flight also falls back to SwiftShader', async () => {
  const first = nodeAdapter(true);
  await new Promise((r) => setTimeout(r, 10)); // the first request is now being answered, under its settings
  const second = nodeAdapter(true);
  expect(await first).toEqual({ fake: 'swiftshader' });
  expect(await second).toEqual({ fake: 'swiftshader' });
  expect(process.env.VK_ICD_FILENAMES).toBeUndefined(); // put back as it was
});

test('finding 4: a driver the user chose is still respected (no fallback past it)', async () => {
  process.env.VK_ICD_FILENAMES = '/nowhere/user_icd.json';
  try {
    expect(await nodeAdapter(true)).toBeUndefined();
  } finally {
    delete process.env.VK_ICD_FILENAMES;
  }
});
