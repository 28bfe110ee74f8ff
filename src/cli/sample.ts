// miya sample CHECKPOINT [--length N] [--temperature t] [--prime TEXT] [--seed s] [--backend cpu|webgpu|auto]
// Text from a character model's checkpoint (trained on data.text; src/train/sample.ts): the prime
// and the characters drawn after it, on stdout. The same seed gives the same text on the same backend.
import { BACKEND_NAMES, type BackendName, createBackend } from '../backends.js';
import { SpecError } from '../errors.js';
import { oneOf } from '../spec/check.js';
import { sampleText } from '../train/sample.js';
import { parse } from './args.js';
import { readCheckpointFile } from './checkpointFile.js';
import { streamWriter } from './jsonOut.js';

/** A whole number ≥ 0 from a flag (0 is a valid length and seed). */
function count(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new SpecError(name, `expected an integer ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}

export async function sampleCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    length: { type: 'string' },
    temperature: { type: 'string' },
    prime: { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
  });
  const [ckptPath] = positionals;
  if (!ckptPath) throw new SpecError('CHECKPOINT', 'expected the path of a checkpoint of a character model (miya train --checkpoint on data.text)');
  const backend = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const length = count('--length', values.length),
    seed = count('--seed', values.seed);
  let temperature: number | undefined;
  if (values.temperature !== undefined) {
    temperature = Number(values.temperature);
    if (values.temperature.trim() === '' || !(temperature >= 0) || !Number.isFinite(temperature))
      throw new SpecError('--temperature', `expected a number ≥ 0, got ${JSON.stringify(values.temperature)}`);
  }
  const ckpt = await readCheckpointFile(ckptPath);
  const be = await createBackend(backend, { notice: (m) => process.stderr.write(m + '\n') });
  try {
    let text: string;
    try {
      text = await sampleText(be, ckpt, { length, temperature, prime: values.prime, seed }, ckptPath);
    } catch (e) {
      // the library names its options bare (prime); here they are flags
      if (e instanceof SpecError && ['prime', 'length', 'temperature', 'seed'].includes(e.path)) throw new SpecError(`--${e.path}`, e.expected);
      throw e;
    }
    await streamWriter(process.stdout)(text.endsWith('\n') ? text : text + '\n');
    return 0;
  } finally {
    await be.idle?.();
    be.dispose();
  }
}
