// The tuning cache: choices timed once per GPU and kernels, used as they are by later runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { SpecError } from '../src/errors.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import type { TuneStore } from '../src/tuneStore.js';
import { choicesFor, emptyTuneCache, matmulKernelsText, parseTuneCache, tuneDeviceKey, withChoices } from '../src/webgpu/tuneCache.js';
import { webgpuTest } from './backends.js';

const gpuTest = await webgpuTest();

const root = join(import.meta.dirname, '..');
const miya = (...args: string[]) => spawnSync('node', [join(root, 'bin/miya.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

const spec = validateSpec({
  model: {
    type: 'mlp',
    inputSize: 5,
    layers: [
      { units: 12, activation: 'tanh' },
      { units: 2, activation: 'sigmoid' },
    ],
  },
  loss: 'mse',
  optimizer: { type: 'sgd', lr: 0.1 },
  steps: 2,
  seed: 3,
  data: {
    x: [
      [1, 0, 2, -1, 0.5],
      [0, 1, -1, 2, 0.25],
      [2, 2, 0, 1, -1],
    ],
    y: [
      [1, 0],
      [0, 1],
      [1, 1],
    ],
  },
});

function memoryStore(text?: string): TuneStore & { text?: string; writes: number } {
  const s = {
    where: 'memory',
    text,
    writes: 0,
    read: async () => s.text,
    write: async (t: string) => {
      s.text = t;
      s.writes++;
    },
  };
  return s;
}

const choice = { tile: 'small', singleBuffer: true, separateEpilogue: false, vec4: false, ms: 0.5, untunedMs: 0.75 } as const;

gpuTest(
  'runSpec with a tune store times each product once per GPU: a later run takes the kept choices, times nothing and ends with the same bits',
  async (be) => {
    be.tuned.clear();
    const other = await tuneDeviceKey({ vendor: 'other', architecture: 'gpu', device: '1', description: 'another GPU' });
    const store = memoryStore(JSON.stringify(withChoices(emptyTuneCache(), other, new Map([['9×9 from 9', choice]]))));
    try {
      const plain = JSON.stringify(await runSpec(spec, { backend: be }));
      const first: string[] = [];
      expect(JSON.stringify(await runSpec(spec, { backend: be, tune: true, tuneStore: store, notice: (m) => first.push(m) }))).toBe(plain);
      // forward: two layers; backward: two weight gradients and one dA (the input's is not needed)
      expect(first.filter((l) => l.startsWith('tuned '))).toHaveLength(5);
      expect(first.at(-1)).toBe('tune: 5 choices for this GPU kept in memory');
      expect(store.writes).toBe(1);
      const kept = parseTuneCache(store.text!, 'memory');
      // another GPU's section is kept, and this GPU's is under its own key
      expect(Object.keys(kept.devices)).toHaveLength(2);
      expect(kept.devices[other]['9×9 from 9']).toEqual(choice);
      const mine = await tuneDeviceKey(be.adapterInfo);
      expect(choicesFor(kept, mine, be.matmulTiles()).choices.size).toBe(5);

      // a new process on the same GPU (the in-process choices forgotten): nothing timed, nothing written
      be.tuned.clear();
      const second: string[] = [];
      expect(JSON.stringify(await runSpec(spec, { backend: be, tune: true, tuneStore: store, notice: (m) => second.push(m) }))).toBe(plain);
      expect(second).toHaveLength(5);
      for (const l of second) expect(l).toMatch(/^tuned .*, from an earlier run \(memory\)$/);
      // the same products in the same order, with the same choices
      const what = (l: string) => l.replace(/, [\d.]+ ms \(untuned [\d.]+ ms\).*$/, '');
      expect(second.map(what)).toEqual(first.slice(0, 5).map(what));
      expect(store.writes).toBe(1);

      // an entry this GPU cannot run is named, left out and timed again; the section is rewritten without it
      be.tuned.clear();
      const section = { ...kept.devices[mine] };
      const bad = Object.keys(section)[0];
      section[bad] = { ...section[bad], tile: 'huge' as never };
      store.text = JSON.stringify({ ...kept, devices: { ...kept.devices, [mine]: section } });
      const third: string[] = [];
      await runSpec(spec, { backend: be, tune: true, tuneStore: store, notice: (m) => third.push(m) });
      expect(third[0]).toBe(`tune: memory: left out 1 entry for this GPU that it cannot use (${bad}); timing it again`);
      expect(third.filter((l) => /^tuned .* ms\)$/.test(l))).toHaveLength(1);
      expect(choicesFor(parseTuneCache(store.text!, 'memory'), mine, be.matmulTiles())).toEqual({ choices: expect.any(Map), dropped: [] });
    } finally {
      be.tuned.clear();
    }
  },
);

test("a device key names the adapter and changes with the kernels' source", async () => {
  const info = { vendor: 'nvidia', architecture: 'hopper', device: '0x2330', description: 'NVIDIA H100' };
  const key = await tuneDeviceKey(info);
  expect(key).toMatch(/^nvidia \/ hopper \/ 0x2330 \/ NVIDIA H100 · kernels [0-9a-f]{12}$/);
  expect(await tuneDeviceKey(info, matmulKernelsText())).toBe(key);
  expect(await tuneDeviceKey(info, matmulKernelsText() + ' ')).not.toBe(key);
  expect(await tuneDeviceKey({ ...info, device: '0x2331' })).not.toBe(key);
});

test.each([
  ['not JSON', 'tuning', /^t\.json: not a Miya tuning cache \(not JSON: .*\); delete it to start a new one$/],
  ['another document', '{"model": {}}', /^t\.json: not a Miya tuning cache \(expected "format": "miya-tuning"\); delete it to start a new one$/],
  ['another version', '{"format": "miya-tuning", "version": 2, "devices": {}}', /^t\.json: a tuning cache of version 2; this Miya reads version 1$/],
  ['devices not an object', '{"format": "miya-tuning", "version": 1, "devices": []}', /^t\.json: devices: expected an object$/],
])('a tuning cache that is %s is refused, naming the file', (_, text, message) => {
  expect(() => parseTuneCache(text, 't.json')).toThrow(SpecError);
  expect(() => parseTuneCache(text, 't.json')).toThrow(message);
});

gpuTest(
  'train --tune-cache FILE: the first run keeps its choices in FILE, the second uses them; a file that is not a cache is refused and left as it was',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'miya-tune-'));
    const file = join(dir, 'cache', 'tuning.json');
    const first = miya('train', 'examples/single-neuron-sgd.json', '--backend', 'webgpu', '--tune', '--tune-cache', file, '--json');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`for this GPU kept in ${file}`);
    const written = readFileSync(file, 'utf8');
    expect(parseTuneCache(written, file).format).toBe('miya-tuning');

    const second = miya('train', 'examples/single-neuron-sgd.json', '--backend', 'webgpu', '--tune', '--tune-cache', file, '--json');
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain(`from an earlier run (${file})`);
    expect(second.stderr).not.toContain('kept in');
    expect(JSON.parse(second.stdout).losses).toEqual(JSON.parse(first.stdout).losses);
    expect(readFileSync(file, 'utf8')).toBe(written);

    const foreign = join(dir, 'notes.json');
    writeFileSync(foreign, '{"todo": "keep me"}\n');
    const refused = miya('train', 'examples/single-neuron-sgd.json', '--backend', 'webgpu', '--tune', '--tune-cache', foreign, '--json');
    expect(refused.status).toBe(2);
    // refused before a device is opened: the one line
    expect(refused.stderr).toBe(`miya train: ${foreign}: not a Miya tuning cache (expected "format": "miya-tuning"); delete it to start a new one\n`);
    expect(refused.stdout).toBe('');
    expect(readFileSync(foreign, 'utf8')).toBe('{"todo": "keep me"}\n');
  },
);

test('--tune-cache without --tune is bad input', () => {
  const r = miya('train', 'examples/single-neuron-sgd.json', '--backend', 'cpu', '--tune-cache', 'x.json');
  expect(r.status).toBe(2);
  expect(r.stderr.trim()).toBe('miya train: --tune-cache: expected --tune beside it');
});

gpuTest('train --tune keeps its choices in $XDG_CACHE_HOME/miya/tuning.json unless told otherwise; --tune-cache off keeps none', () => {
  const home = mkdtempSync(join(tmpdir(), 'miya-xdg-'));
  const env = { ...process.env, XDG_CACHE_HOME: home };
  const run = (...extra: string[]) =>
    spawnSync('node', [join(root, 'bin/miya.js'), 'train', 'examples/single-neuron-sgd.json', '--backend', 'webgpu', '--tune', '--json', ...extra], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
  const off = run('--tune-cache', 'off');
  expect(off.status, off.stderr).toBe(0);
  expect(off.stderr).not.toContain('kept in');
  expect(existsSync(join(home, 'miya'))).toBe(false);
  const on = run();
  expect(on.status, on.stderr).toBe(0);
  expect(on.stderr).toContain(`kept in ${join(home, 'miya', 'tuning.json')}`);
  expect(parseTuneCache(readFileSync(join(home, 'miya', 'tuning.json'), 'utf8'), 'cache').version).toBe(1);
});

gpuTest('a tuning cache that cannot be written is said, and the run trains on with its choices', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miya-tune-'));
  writeFileSync(join(dir, 'a-file'), 'not a directory\n');
  const file = join(dir, 'a-file', 'tuning.json');
  const r = miya('train', 'examples/single-neuron-sgd.json', '--backend', 'webgpu', '--tune', '--tune-cache', file, '--json');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toContain(
    `tune: could not keep the choices in ${file} (EEXIST: file already exists, mkdir '${join(dir, 'a-file')}'); they hold for this run only`,
  );
  expect(JSON.parse(r.stdout).losses).toEqual([576]);
});
