// The targets table is made from a run's results: here session 2's H100 run, kept in bench/. It is
// made only for a hardware adapter: on SwiftShader the report says the H100's targets are not
// comparable instead of "2008 % over".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { REQUIRE_WEBGPU } from './backends.js';
import type { BenchResult } from '../bench/run.js';
import { onSoftwareAdapter, targetsSection, targetsTable } from '../bench/targets.js';
import { openGpu } from '../src/webgpu/device.js';

const h100 = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'bench', 'results-h100.json'), 'utf8')).results as BenchResult[];

test('the targets table of the H100 run: TF.js beside Miya, each target met or by how much it is missed', () => {
  expect(targetsTable(h100).split('\n')).toEqual([
    '| case | TF.js WebGPU (this run) | Miya WebGPU | target | met? |',
    '|---|---|---|---|---|',
    '| matmul 4096³ / 8192³ | 23.0 / 22.1 TFLOP/s | 34.6 / 32.2 TFLOP/s | ≥ 40 TFLOP/s | no (80 % of it) |',
    '| MLP step 1024-4096x3-1024, batch 1024 | 102 ms | 10.8 ms | ≤ 10 ms | no (8 % over) |',
    '| RNN step in 256, hidden 1024, T 64, batch 256 | 298 ms | 21.4 ms | ≤ 15 ms | no (43 % over) |',
    '| worked-example step, batch 1, 1000 queued | 63.9 ms | 0.218 ms | ≤ 0.3 ms | yes |',
    '',
  ]);
});

test('a run without the target sizes (--quick) has no targets table; one without TF.js shows a dash for it', () => {
  expect(targetsTable(h100.filter((r) => r.suite !== 'small' && !/4096|8192|h1024/.test(r.case)))).toBe('');
  const alone = targetsTable(h100.filter((r) => r.backend === 'webgpu' && r.suite === 'small'));
  expect(alone).toContain('| worked-example step, batch 1, 1000 queued | — | 0.218 ms | ≤ 0.3 ms | yes |');
});

// the same sizes measured on SwiftShader, as a software run's results name their device
const SWIFTSHADER = 'google SwiftShader driver 5.0.0 (software)';
const onSwiftShader = h100.map((r) => ({
  ...r,
  device: SWIFTSHADER,
  msPerStep: r.msPerStep && r.msPerStep * 200,
  ms: r.ms && r.ms * 200,
  gflops: r.gflops / 200,
}));

test('on a hardware adapter the report has the targets table under its heading', () => {
  expect(targetsSection(h100)).toBe(`The targets, set for an NVIDIA H100 (bench/RESULTS.md):\n\n${targetsTable(h100)}`);
});

test('on a software adapter (SwiftShader) there is no targets table: the report says they are not comparable', () => {
  expect(targetsTable(onSwiftShader)).toBe('');
  const said = targetsSection(onSwiftShader);
  expect(said).toBe(
    `The targets (bench/RESULTS.md) were set for an NVIDIA H100; this run's WebGPU adapter is ${SWIFTSHADER}, a software one running on the CPU, so its times are not comparable with them and no targets table is made.\n`,
  );
  expect(said).not.toMatch(/% over|% of it|\|/);
  // the TF.js peer's device is the adapter's bare description; a quick run on SwiftShader says nothing
  expect(targetsTable(onSwiftShader.map((r) => (r.backend === 'tfjs-webgpu' ? { ...r, device: 'google SwiftShader driver 5.0.0' } : r)))).toBe('');
  expect(targetsSection(onSwiftShader.filter((r) => r.suite !== 'small' && !/4096|8192|h1024/.test(r.case)))).toBe('');
});

test('software or hardware is told from the device as openGpu describes it, as --backend auto decides', async (t) => {
  for (const d of [SWIFTSHADER, 'google swiftshader', 'Mesa llvmpipe (LLVM 19.1.7, 256 bits) (software)', 'lavapipe'])
    expect(onSoftwareAdapter(d), d).toBe(true);
  for (const d of ['nvidia NVIDIA: 580.159.04 580.159.4.0', 'apple metal-3', 'AMD Radeon RX 7900 XTX']) expect(onSoftwareAdapter(d), d).toBe(false);
  // this machine's adapter (SwiftShader here, a GPU on a GPU machine): the same verdict as openGpu's
  const ctx = await openGpu(true);
  if (!ctx && REQUIRE_WEBGPU) throw new Error('MIYA_REQUIRE_WEBGPU=1, and no WebGPU adapter was found (is SwiftShader installed?)');
  if (!ctx) return t.skip('no WebGPU adapter on this machine');
  try {
    expect(onSoftwareAdapter(ctx.description), ctx.description).toBe(ctx.software);
  } finally {
    ctx.device.destroy();
  }
});
