// miya bench [--suite matmul|mlp|rnn|small|all] [--backends webgpu,cpu] [--quick] [--json FILE]
import { writeFile } from 'node:fs/promises';
import { parse } from '../src/cli/args.js';
import { createBackend } from '../src/backends.js';
import { SpecError } from '../src/errors.js';
import { benchCases } from './cases.js';
import { type BenchResult, runCase } from './run.js';

const SUITES = ['matmul', 'mlp', 'rnn', 'small', 'all'];
const BACKENDS = ['webgpu', 'cpu'];

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    suite: { type: 'string', default: 'all' }, backends: { type: 'string', default: 'webgpu,cpu' },
    quick: { type: 'boolean', default: false }, json: { type: 'string' },
  });
  if (!SUITES.includes(values.suite!)) throw new SpecError('--suite', `expected one of ${SUITES.join(', ')}, got "${values.suite}"`);
  const names = values.backends!.split(',');
  for (const n of names) if (!BACKENDS.includes(n)) throw new SpecError('--backends', `expected a list of ${BACKENDS.join(', ')}, got "${n}"`);
  const cases = benchCases(values.quick!).filter((c) => values.suite === 'all' || c.suite === values.suite);
  const results: BenchResult[] = [];
  const devices: Record<string, string> = {};
  for (const name of names) {
    const be = await createBackend(name as 'webgpu' | 'cpu', { notice: (m) => process.stderr.write(m + '\n') });
    devices[name] = be.device;
    process.stdout.write(`${name}: ${be.device}\n`);
    for (const c of cases) {
      // the cpu backend takes minutes on the large cases: it runs them only in --quick sizes or when small
      if (name === 'cpu' && c.suite !== 'small' && !values.quick && ('M' in c ? c.M * c.N * c.K > 2 ** 30 : c.flopsPerStep > 5e9)) continue;
      const r = await runCase(be, c, name === "cpu" || values.quick ? 1 : 5);
      results.push(r);
      process.stdout.write(`  ${r.suite.padEnd(6)} ${r.case.padEnd(28)} ${(r.ms ?? r.msPerStep)!.toFixed(3).padStart(10)} ms${r.msPerStep !== undefined ? '/step' : ''}  ${r.gflops.toFixed(1).padStart(9)} GFLOP/s  (${r.validation})\n`);
    }
    be.dispose();
  }
  if (values.json) await writeFile(values.json, JSON.stringify({ results, device: devices }, null, 2) + '\n');
  return 0;
}
