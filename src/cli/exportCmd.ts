// miya export CHECKPOINT --pytorch DIR: model.safetensors and miya_model.py for PyTorch.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SpecError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import { pytorchExport } from '../io/export.js';
import { parse } from './args.js';
import { readCheckpointFile } from './checkpointFile.js';

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { pytorch: { type: 'string' } });
  if (!positionals[0]) throw new SpecError('CHECKPOINT', 'expected the path of a checkpoint written by miya train --checkpoint');
  if (!values.pytorch) throw new SpecError('--pytorch', 'expected the directory to write model.safetensors and miya_model.py into');
  const files = await pytorchExport(await readCheckpointFile(positionals[0]));
  await mkdir(values.pytorch, { recursive: true });
  for (const [name, content] of files) {
    await writeFileAtomic(join(values.pytorch, name), typeof content === 'string' ? new TextEncoder().encode(content) : content);
    process.stdout.write(`wrote ${join(values.pytorch, name)}\n`);
  }
  process.stdout.write(`in Python: from miya_model import load; model, spec = load("${join(values.pytorch, 'model.safetensors')}")\n`);
  return 0;
}
