// miya export CHECKPOINT --pytorch DIR [--dtype float32|float64] [--force]: model.safetensors and
// miya_model.py for PyTorch, and train.py with train_state.safetensors to continue the run there.
// Everything is checked before anything is written: the outputs may not be the checkpoint itself
// (`export run/model.safetensors --pytorch run`), nor a directory, FIFO or device. A
// model.safetensors already in DIR is replaced, and that is said on stderr (exporting again is how
// a user refreshes it). A miya_model.py that differs from the module this Miya writes is refused
// unless --force: it may hold the user's own edits, which nothing else would keep; so is a train.py.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SpecError } from '../errors.js';
import { checkOutput, fileKind, writeFileAtomic } from '../io/atomicFile.js';
import { PYTORCH_FILES, pytorchExport } from '../io/export.js';
import { TRAIN_FILES } from '../io/trainPy.js';
import { oneOf } from '../spec/check.js';
import { parse } from './args.js';
import { readCheckpointFile } from './checkpointFile.js';

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    pytorch: { type: 'string' },
    dtype: { type: 'string', default: 'float32' },
    force: { type: 'boolean', default: false },
  });
  const ckpt = positionals[0];
  if (!ckpt) throw new SpecError('CHECKPOINT', 'expected the path of a checkpoint written by miya train --checkpoint');
  const dir = values.pytorch;
  if (!dir) throw new SpecError('--pytorch', 'expected the directory to write model.safetensors and miya_model.py into');
  const dtype = oneOf('--dtype', values.dtype, ['float32', 'float64']) === 'float64' ? 'F64' : 'F32';
  const files = await pytorchExport(await readCheckpointFile(ckpt), dtype);
  const there = await stat(dir).catch(() => undefined);
  if (there && !there.isDirectory()) throw new SpecError(`--pytorch ${dir}`, `is ${there.isFile() ? 'a file' : fileKind(there)}; expected a directory`);
  const notice = (m: string) => process.stderr.write(m + '\n');
  const bytes = new Map([...files].map(([name, c]) => [name, typeof c === 'string' ? new TextEncoder().encode(c) : c]));
  const replacing: string[] = [];
  for (const [name, content] of bytes) {
    const path = join(dir, name);
    if (!there) continue; // a new directory: nothing in it to check
    const out = await checkOutput(path, path, [['the checkpoint being exported', ckpt]], notice);
    if (!out.exists) continue;
    if (name === PYTORCH_FILES.module || name === TRAIN_FILES.script) {
      const old = await readFile(path).catch(() => undefined);
      if (old && Buffer.compare(old, content) === 0) continue;
      if (!values.force)
        throw new SpecError(path, 'differs from the module this Miya writes (edited?); expected --force to replace it, or another --pytorch directory');
    }
    replacing.push(path);
  }
  await mkdir(dir, { recursive: true });
  for (const [name, content] of bytes) {
    const path = join(dir, name);
    await writeFileAtomic(path, content);
    process.stdout.write(`wrote ${path}\n`);
  }
  for (const path of replacing) notice(`replaced ${path}, which was there before`);
  // a line that runs as printed, from any folder: miya_model.py is imported from DIR, so Python
  // must start there, with an interpreter that has torch (the python3 on PATH often has none
  // where torch came from Debian's python3-torch, which is /usr/bin/python3's)
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const python = PYTHONS.find(hasTorch);
  process.stdout.write(
    `in Python${python ? '' : ' (needs torch, which neither python3 nor /usr/bin/python3 has here)'}: cd ${quote(dir)} && ${python ?? 'python3'} -c 'from miya_model import load; model, spec = load("${PYTORCH_FILES.weights}"); print(model)'\n`,
  );
  return 0;
}

/** The interpreters the hint tries, in order: the one on PATH, then Debian's. */
const PYTHONS = ['python3', '/usr/bin/python3'];

/** Whether `python` runs and imports torch (about a second, once per export). */
function hasTorch(python: string): boolean {
  return spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
}
