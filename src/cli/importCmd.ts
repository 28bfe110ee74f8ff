// miya import FILE.safetensors --out SPEC.json [--spec SPEC.json]: a PyTorch state dict (such as
// miya_model.save writes) as a run spec whose model carries the weights, ready for miya train.
// --out may not be FILE or the --spec file (both would be destroyed), nor a directory, FIFO or
// device; that is checked before anything is read.
import { SpecError } from '../errors.js';
import { checkOutput, writeFileAtomic } from '../io/atomicFile.js';
import { importStateDict } from '../io/export.js';
import { parse } from './args.js';
import { readSafetensorsFile } from './checkpointFile.js';
import { readSpecFile } from './specFile.js';

export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string' }, spec: { type: 'string' } });
  const file = positionals[0];
  if (!file) throw new SpecError('FILE', 'expected the path of a safetensors file (a PyTorch state dict)');
  const out = values.out;
  if (!out) throw new SpecError('--out', 'expected the path of the run spec to write');
  await checkOutput(
    out,
    `--out ${out}`,
    [
      ['the file being imported', file],
      ['the --spec file', values.spec],
    ],
    (m) => process.stderr.write(m + '\n'),
  );
  const base = values.spec === undefined ? undefined : await readSpecFile(values.spec);
  const spec = await importStateDict(await readSafetensorsFile(file), file, base);
  await writeFileAtomic(out, new TextEncoder().encode(JSON.stringify(spec) + '\n'));
  const what = spec.model.type === 'sequential' ? 'sequential model' : spec.model.type.toUpperCase();
  process.stdout.write(`wrote ${out}: the ${what} of ${file} with its weights; train it with miya train ${out}\n`);
  return 0;
}
