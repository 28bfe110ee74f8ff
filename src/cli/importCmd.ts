// miya import FILE.safetensors --out SPEC.json [--spec SPEC.json]: a PyTorch state dict (such as
// miya_model.save writes) as a run spec whose model carries the weights, ready for miya train.
import { SpecError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import { importStateDict } from '../io/export.js';
import { parse } from './args.js';
import { readBytes } from './checkpointFile.js';
import { readSpecFile } from './specFile.js';

export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, spec: { type: 'string' } });
  const file = positionals[0];
  if (!file) throw new SpecError('FILE', 'expected the path of a safetensors file (a PyTorch state dict)');
  if (!values.out) throw new SpecError('--out', 'expected the path of the run spec to write');
  const base = values.spec === undefined ? undefined : await readSpecFile(values.spec);
  const spec = await importStateDict(await readBytes(file), file, base);
  await writeFileAtomic(values.out, new TextEncoder().encode(JSON.stringify(spec) + '\n'));
  process.stdout.write(`wrote ${values.out}: the ${spec.model.type.toUpperCase()} of ${file} with its weights; train it with miya train ${values.out}\n`);
  return 0;
}
