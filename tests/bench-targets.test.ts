// The targets table is made from a run's results: here session 2's H100 run, kept in bench/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { BenchResult } from '../bench/run.js';
import { targetsTable } from '../bench/targets.js';

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
