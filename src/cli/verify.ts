// miya verify [--backend webgpu|cpu|auto] [--random N]
import { BACKEND_NAMES, type BackendName, createBackend } from '../backends.js';
import { oneOf } from '../spec/check.js';
import { formatRows, verifyAll } from '../verify/verify.js';
import { parse, positiveInt } from './args.js';

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { backend: { type: 'string', default: 'webgpu' }, random: { type: 'string' } });
  const name = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const be = await createBackend(name, { notice: (m) => process.stderr.write(m + '\n') });
  process.stdout.write(`miya verify on ${be.name}: ${be.device}\n`);
  const rows = await verifyAll(be, { random: positiveInt('--random', values.random) ?? 20 });
  be.dispose();
  process.stdout.write(formatRows(rows) + '\n');
  const failed = rows.filter((r) => !r.ok).length;
  process.stdout.write(`${rows.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
