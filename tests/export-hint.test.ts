// `miya export --pytorch DIR` ends with a line saying how to load the model in Python; that line
// must run as printed, from another folder than DIR (it used to fail with ModuleNotFoundError), in
// a folder whose name needs quoting. Debian's python3-torch is installed by .ci/run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..');
const miya = (cwd: string, ...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });

test('the Python line export prints loads the model when run as printed from elsewhere', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miya-hint-'));
  const spec = join(dir, 'spec.json'),
    ck = join(dir, 'run.safetensors'),
    out = join(dir, "it's torch");
  writeFileSync(
    spec,
    JSON.stringify({
      model: {
        type: 'mlp',
        inputSize: 2,
        layers: [
          { units: 3, activation: 'tanh' },
          { units: 1, activation: 'identity' },
        ],
      },
      loss: 'mse',
      optimizer: { type: 'sgd', lr: 0.1 },
      data: { x: [[1, 2]], y: [[0.5]] },
      steps: 2,
    }),
  );
  expect(miya(dir, 'train', spec, '--backend', 'cpu', '--checkpoint', ck).status).toBe(0);
  const r = miya(root, 'export', ck, '--pytorch', out);
  expect(r.status, r.stderr).toBe(0);
  const hint = r.stdout.split('\n').find((l) => l.startsWith('in Python'));
  expect(hint, r.stdout).toBeDefined();
  const command = hint!.slice(hint!.indexOf(': ') + 2);
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  const py = spawnSync('bash', ['-c', command], { cwd: elsewhere, encoding: 'utf8', timeout: 120_000 });
  expect(py.status, `${command}\n${py.stderr}`).toBe(0);
  expect(py.stdout).toContain('Linear');
});
