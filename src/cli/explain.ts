// miya explain SPEC.json [--backend cpu|webgpu|auto]: the step as a story, reference and device side by side.
import { BACKEND_NAMES, type BackendName, createBackend } from '../backends.js';
import { CpuBackend } from '../cpu/backend.js';
import { tellStep } from '../explain/story.js';
import { oneOf } from '../spec/check.js';
import { validateSpec } from '../spec/validate.js';
import { traceStep } from '../verify/trace.js';
import { parse } from './args.js';
import { readSpecFile } from './specFile.js';

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { backend: { type: 'string', default: 'auto' } });
  const name = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const spec = validateSpec(await readSpecFile(positionals[0]));
  const ref = await traceStep(new CpuBackend(), spec);
  const be = await createBackend(name, { notice: (m) => process.stderr.write(m + '\n') });
  const dev = be.precision === 'f64' ? undefined : await traceStep(be, spec);
  be.dispose();
  process.stdout.write(tellStep(spec, ref, dev) + '\n');
  return 0;
}
