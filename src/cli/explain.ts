// miya explain SPEC.json [--backend cpu|webgpu|auto]: the step as a story, reference and device side by side.
import { BACKEND_NAMES, type BackendName, createBackend } from '../backends.js';
import { CpuBackend } from '../cpu/backend.js';
import { traceForExplain } from '../explain/controls.js';
import { tellStep } from '../explain/story.js';
import { oneOf } from '../spec/check.js';
import { validateSpec } from '../spec/validate.js';
import { parse } from './args.js';
import { readSpecFile } from './specFile.js';

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { backend: { type: 'string', default: 'auto' } });
  const name = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const spec = validateSpec(await readSpecFile(positionals[0]));
  // traced at the schedule's rate of step 1, with the norm of the grad_norm kernels (clipNorm)
  const ref = await traceForExplain(new CpuBackend(), spec);
  const be = await createBackend(name, { notice: (m) => process.stderr.write(m + '\n') });
  try {
    const dev = be.precision === 'f64' ? undefined : await traceForExplain(be, spec);
    process.stdout.write(tellStep(spec, ref.trace, dev?.trace, { ref: ref.normSquared, dev: dev?.normSquared }) + '\n');
  } finally {
    be.dispose();
  }
  return 0;
}
