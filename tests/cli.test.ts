// The `miya` command as a user runs it (the built CLI in dist/node, made by npm ci / npm run build).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { runSpec } from '../src/train/runSpec.js';
import { webgpuTest } from './backends.js';

const require = createRequire(import.meta.url);
const gpuTest = await webgpuTest();

const root = join(import.meta.dirname, '..');
const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'miya-cli-'));
const specFile = (name: string, spec: unknown) => {
  const f = join(dir, name);
  writeFileSync(f, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return f;
};

test('train --json prints {backend, device, losses, params, grads}', () => {
  const r = miya('train', 'examples/single-neuron-sgd.json', '--backend', 'cpu', '--json');
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(Object.keys(out)).toEqual(['backend', 'device', 'losses', 'params', 'grads', 'lrs', 'history']);
  expect(out.losses).toEqual([576]);
  expect(out.params.layers[0].weights[0][0]).toBeCloseTo(-10.44, 12);
  expect(out.grads.layers[0].bias[0]).toBe(672);
});

test('a large --json result (3.5 MB) arrives whole through a pipe', () => {
  const r = spawnSync('node', [join(root, 'bin/miya.js'), 'train', 'examples/mnist-mlp.json', '--backend', 'cpu', '--steps', '3', '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 2 ** 30,
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.length).toBeGreaterThan(2 ** 20);
  const out = JSON.parse(r.stdout);
  expect(out.losses).toHaveLength(3);
  expect(out.params.layers[0].weights).toHaveLength(128);
});

gpuTest(
  "train --backend webgpu says when it runs on SwiftShader, and matches the library's run on this GPU to the bit and the cpu reference to float32 rounding",
  async (be) => {
    const r = miya('train', 'examples/rnn-3-day-bptt.json', '--backend', 'webgpu', '--json', '--steps', '2');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.backend).toBe('webgpu');
    if (/swiftshader/i.test(out.device)) expect(r.stderr).toMatch(/SwiftShader.*correct but slow/);
    else expect(r.stderr).not.toMatch(/SwiftShader/);
    const spec = require('../examples/rnn-3-day-bptt.json');
    const lib = await runSpec(spec, { backend: be, steps: 2 });
    expect(out.device).toBe(lib.device);
    expect({ losses: out.losses, params: out.params, grads: out.grads }).toEqual({ losses: lib.losses, params: lib.params, grads: lib.grads });
    const ref = await runSpec(spec, { backend: 'cpu', steps: 2 });
    const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : typeof v === 'object' && v ? Object.values(v).flatMap(flat) : [v as number]);
    const [got, want] = [flat([out.losses, out.params, out.grads]), flat([ref.losses, ref.params, ref.grads])];
    expect(got).toHaveLength(want.length);
    expect(got.length).toBeGreaterThan(2);
    got.forEach((g, i) => expect(Math.abs(g - want[i]), `value ${i}: ${g}, cpu ${want[i]}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]))));
  },
);

// Without a GPU device node there is no hardware GPU to look for: the drivers are not asked, so
// the Vulkan loader has no "Failed to detect any valid GPUs" to print before the run.
// Where there is one, a GPU's drivers may print what they like: that test is skipped, saying so.
const gpuNodes = ['/dev/dri', '/dev/nvidiactl', '/dev/dxg'].filter((d) => existsSync(d));
test.skipIf(gpuNodes.length > 0)(
  `train --backend auto on a machine without a GPU says nothing on stderr but the progress${gpuNodes.length > 0 ? ` [skipped: this machine has ${gpuNodes.join(', ')}]` : ''}`,
  () => {
    const r = miya('train', 'examples/mlp-3-3-1-sigmoid.json', '--backend', 'auto');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cpu on CPU/m);
    expect(r.stderr.split('\n').filter((l) => l.trim() && !/^epoch \d/.test(l))).toEqual([]);
  },
);

test('train --backend auto trains on a hardware GPU where there is one, else on cpu, and says which', () => {
  const r = miya('train', 'examples/mlp-3-3-1-sigmoid.json', '--backend', 'auto');
  expect(r.status, r.stderr).toBe(0);
  const which = /^(cpu|webgpu) on (.*): 1 steps? in /m.exec(r.stdout);
  expect(which, r.stdout).not.toBeNull();
  // SwiftShader is never taken by auto; without a GPU device node there is no hardware GPU to take
  if (which![1] === 'webgpu') expect(which![2]).not.toMatch(/swiftshader|software/i);
  if (gpuNodes.length === 0) expect(which![1]).toBe('cpu');
});

test.each([
  ['a missing file', ['train', join(dir, 'nope.json')], /nope\.json: cannot read the file \(ENOENT\)/],
  ['invalid JSON', ['train', specFile('bad.json', '{"model": ')], /bad\.json: invalid JSON/],
  [
    'a wrong shape',
    [
      'train',
      specFile('shape.json', {
        model: {
          type: 'mlp',
          inputSize: 3,
          layers: [
            {
              units: 3,
              weights: [
                [1, 2],
                [1, 2],
                [1, 2],
              ],
            },
          ],
        },
        loss: 'mse',
        optimizer: { type: 'sgd', lr: 0.1 },
        data: { x: [[1, 2, 3]], y: [[1, 2, 3]] },
      }),
    ],
    /model\.layers\[0\]\.weights: expected 3 rows of 3 numbers, got 3 rows of 2/,
  ],
  ['an unknown backend', ['train', 'examples/single-neuron-sgd.json', '--backend', 'tpu'], /--backend: expected one of "cpu", "webgpu", "auto", got "tpu"/],
  ['bad --steps', ['train', 'examples/single-neuron-sgd.json', '--steps', '0'], /--steps: expected an integer ≥ 1/],
  ['an unknown option', ['train', 'examples/single-neuron-sgd.json', '--fast'], /arguments: Unknown option '--fast'/],
  // checked before a device is opened: nothing else on stderr
  ['verify with a bad --random', ['verify', '--random', 'x'], /^miya verify: --random: expected an integer ≥ 1, got "x"\n$/],
  [
    'an empty --tune-cache',
    ['train', 'examples/single-neuron-sgd.json', '--tune', '--tune-cache', ''],
    /^miya train: --tune-cache: expected a file name or "off", got ""\n$/,
  ],
])('bad input (%s) exits 2 with one line and no stack trace', (_, args, message) => {
  const r = miya(...args);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
});

test('a diverging run exits 1 naming the step and the tensor', () => {
  const spec = JSON.parse(JSON.stringify(require('../examples/single-neuron-sgd.json')));
  spec.optimizer.lr = 10;
  spec.steps = 6;
  const r = miya('train', specFile('diverge.json', spec), '--backend', 'cpu', '--json');
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/diverged at step \d+: (loss|layers\.0\.\w+(\.grad)?) is (NaN|\+Inf|-Inf)/);
  expect(r.stdout).toBe('');
});

test('explain tells the 3-3-1 story with the slip corrected and every number', () => {
  const r = miya('explain', 'examples/mlp-3-3-1-sigmoid.json', '--backend', 'cpu');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('= 0.08, not 0.13');
  expect(r.stdout).toMatch(/z1\[0\] = 0\.1·0\.5 \+ 0\.2·0\.2 − 0\.1·0\.1 \+ 0 = 0\.08/);
  expect(r.stdout).toContain('loss = 0.243014');
  expect(r.stdout).toContain('dL/dŷ = [−0.985929]');
  expect(r.stdout).toContain('new layers.1.weight = [0.212814, −0.286085, 0.110729]');
});

gpuTest('explain on webgpu shows both sides and their difference', () => {
  const r = miya('explain', 'examples/rnn-3-day-bptt.json', '--backend', 'webgpu');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/webgpu: \[0\.586618\]\s+\|difference\| ≤/);
  expect(r.stdout).toContain('gradients are the sums over t');
});

test('verify on cpu passes and prints a table', () => {
  const r = miya('verify', '--backend', 'cpu', '--random', '4');
  expect(r.status, r.stdout).toBe(0);
  expect(r.stdout).toMatch(/check\s+tensor\s+worst error\s+tolerance/);
  expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
});
