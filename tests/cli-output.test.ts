// What the CLI prints: the progress bar starts with no loss and where a resumed run starts, the
// summary counts the steps run (from step S to T when resumed), losses in a short form, "1 step",
// "an RNN", verify's progress on stderr, `train --json` streamed (byte for byte what
// JSON.stringify gives, and a 40M-number result that no string could hold), and `predict`'s
// predicted class for a classifier.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { jsonPieces, writeJson } from '../src/cli/jsonOut.js';
import { article, fmtShort, plural } from '../src/explain/format.js';
import { runSpec } from '../src/train/runSpec.js';
import { webgpuTest } from './backends.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/miya.js');
const miya = (...args: string[]) => spawnSync('node', [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, maxBuffer: 2 ** 30 });
const dir = mkdtempSync(join(tmpdir(), 'miya-output-'));
const file = (name: string, content: unknown) => {
  const f = join(dir, name);
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
};
const gpuTest = await webgpuTest();

/** The bar's lines on stderr (non-TTY: one line per print). */
const barLines = (stderr: string) => stderr.split('\n').filter((l) => /^epoch \d+\/\d+ \[/.test(l));

test("the bar's first line shows no loss (none is read back before step 1), later lines show real ones", () => {
  const r = miya('train', 'examples/mnist-mlp.json', '--backend', 'cpu', '--steps', '30');
  expect(r.status, r.stderr).toBe(0);
  const bars = barLines(r.stderr);
  expect(bars[0]).toMatch(/ 0\/30 steps \| loss - \| test - \| - steps\/s/);
  expect(bars[bars.length - 1]).toMatch(/ 30\/30 steps \| loss \d\.\d{4} \|/);
  expect(r.stdout).toMatch(/^cpu on CPU \(float64 reference\): 30 steps in [\d.]+ s\nloss: \d\.\d{4} \(step 1\) → \d\.\d{4} \(step 30\)\n/);
});

test("a resumed run's bar starts at the step it resumes from, and the summary counts the steps it ran", () => {
  const ckpt = join(dir, 'resume.safetensors');
  expect(miya('train', 'examples/mlp-3-3-1-sigmoid.json', '--backend', 'cpu', '--steps', '20', '--checkpoint', ckpt).status).toBe(0);
  const r = miya('train', '--resume', ckpt, '--backend', 'cpu', '--steps', '50');
  expect(r.status, r.stderr).toBe(0);
  expect(barLines(r.stderr)[0]).toMatch(/\] 20\/50 steps \| loss - /);
  expect(r.stdout).toMatch(/: 30 steps \(from step 20 to 50\) in [\d.]+ s\n/);
  expect(r.stdout).toMatch(/\(step 1\) → .* \(step 50\)\n/); // the losses are the whole run's
});

test('one step is "1 step"; a huge loss is printed short (9.00e+118), not in 17 digits', () => {
  const spec = {
    model: { type: 'mlp', inputSize: 1, layers: [{ units: 1, activation: 'identity', weights: [[1]], bias: [0] }] },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 1e-300 },
    data: { x: [[3e59]], y: [[0]] },
    steps: 1,
  };
  const r = miya('train', file('huge.json', spec), '--backend', 'cpu');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/: 1 step in [\d.]+ s\nloss: 9\.00e\+118 \(step 1\) → 9\.00e\+118 \(step 1\)\n$/);
  expect(barLines(r.stderr).at(-1)).toContain('| loss 9.00e+118 |');
});

test('short numbers, plurals and articles', () => {
  expect(fmtShort(3.7544759086054005e118)).toBe('3.75e+118');
  expect(fmtShort(2.42695)).toBe('2.4270');
  expect(fmtShort(-1.5e-7)).toBe('-1.50e-7');
  expect(fmtShort(0)).toBe('0.0000');
  expect(fmtShort(123456.7)).toBe('123456.7000');
  expect(fmtShort(1234567)).toBe('1.23e+6');
  expect(fmtShort(NaN)).toBe('NaN');
  expect([plural(1, 'step'), plural(0, 'step'), plural(2, 'step')]).toEqual(['1 step', '0 steps', '2 steps']);
  expect(['RNN (1 in)', 'MLP', '1-1 MLP', '8-4 MLP', '784-128-10 MLP', 'sigmoid', 'identity', '11-2 MLP', 'CPU'].map(article)).toEqual([
    'an',
    'an',
    'a',
    'an',
    'a',
    'a',
    'an',
    'an',
    'a',
  ]);
});

test('explain says "an RNN", and an RNN of one time step reads "1 step"', () => {
  const r = miya('explain', 'examples/rnn-3-day-bptt.json', '--backend', 'cpu');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^One training step of an RNN \(1 in, 1 hidden, 1 out, 3 steps\)/);
  const one = {
    model: { type: 'rnn', inputSize: 1, hiddenSize: 2, outputSize: 1 },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.1 },
    data: { x: [[[0.5]]], y: [[1]] },
  };
  const o = miya('explain', file('rnn1.json', one), '--backend', 'cpu');
  expect(o.status, o.stderr).toBe(0);
  expect(o.stdout).toMatch(/^One training step of an RNN \(1 in, 2 hidden, 1 out, 1 step\)/);
});

test('verify says on stderr which stage it is at', () => {
  const r = miya('verify', '--backend', 'cpu', '--random', '2');
  expect(r.status, r.stdout).toBe(0);
  expect(r.stderr).toMatch(/^verify: worked example single-neuron-sgd \(\d+\.\d s\)$/m);
  expect(r.stderr).toMatch(/^verify: random network 2 of 2: .* \(\d+\.\d s\)$/m);
});

gpuTest(
  'verify --backend webgpu shows the kernel groups as it checks them, not a minute of silence',
  async () => {
    const child = spawn('node', [bin, 'verify', '--backend', 'webgpu', '--random', '1'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      const end = Date.now() + 150_000;
      // the first kernel group is announced as it starts, while the rest are still to run
      while (!/^verify: matmul kernels, \S+ tile/m.test(err) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(err).toMatch(/^verify: worked example rnn-3-day-bptt \(\d+\.\d s\)$/m);
      expect(err).toMatch(/^verify: matmul kernels, \S+ tile \(\d+\.\d s\)$/m);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  },
  180_000,
);

test("the streamed JSON is byte for byte JSON.stringify's, for a real result and for awkward values", async () => {
  const result = await runSpec((await import('../examples/mlp-3-3-1-sigmoid.json')).default, { backend: 'cpu', steps: 3 });
  const awkward = {
    a: [1, -0, 1e21, 1.5e-7, NaN, Infinity, null, 'x"\\\n☃', true],
    b: undefined,
    c: () => 1,
    d: [[], {}, [[1, 2], [3]]],
    e: { toJSON: () => 'e' },
    long: Array.from({ length: 40_000 }, (_v, i) => (i % 5000 === 7 ? undefined : Math.sin(i))),
    mixed: Array.from({ length: 20_000 }, (_v, i) => (i % 7 ? i : [i])),
  };
  for (const value of [result, awkward, [], {}, 'text', 5]) {
    const chunks: string[] = [];
    await writeJson(
      value,
      (c) => {
        chunks.push(c);
      },
      '\n',
      1000,
    );
    expect(chunks.join('')).toBe(JSON.stringify(value) + '\n');
    expect([...jsonPieces(value)].join('')).toBe(JSON.stringify(value));
  }
});

test('train --json goes out streamed, the same text as JSON.stringify of what it says', () => {
  const r = miya('train', 'examples/mnist-mlp.json', '--backend', 'cpu', '--steps', '2', '--json');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toBe(JSON.stringify(JSON.parse(r.stdout)) + '\n');
});

test('a result of 40M parameters is written whole, in chunks, though no string could hold it', async () => {
  // [4000][10000] weights, as shapeParams gives a 40M-parameter layer (not trained: the writer alone)
  const weights = Array.from({ length: 4000 }, (_v, r) => Array.from({ length: 10_000 }, (_w, c) => Math.sin(r * 10_000 + c)));
  const value = { backend: 'cpu', device: 'x', losses: [1, 0.5], params: { layers: [{ weights, bias: [0] }] } };
  let chars = 0,
    chunks = 0,
    longest = 0,
    head = '',
    tail = '';
  await writeJson(
    value,
    (c) => {
      chars += c.length;
      chunks++;
      longest = Math.max(longest, c.length);
      if (head.length < 200) head += c.slice(0, 200);
      tail = (tail + c).slice(-40);
    },
    '\n',
  );
  expect(chars).toBeGreaterThan(2 ** 29); // past V8's longest string (2^29 − 24 characters)
  expect(longest).toBeLessThan(2 ** 22);
  expect(chunks).toBeGreaterThan(100);
  expect(head).toMatch(/^\{"backend":"cpu","device":"x","losses":\[1,0\.5\],"params":\{"layers":\[\{"weights":\[\[0,0\.8414709848078965,/);
  expect(tail).toMatch(/,"bias":\[0\]\}\]\}\}\n$/);
}, 300_000);

test('predict on a classifier adds the predicted class (argmax, 0-based) in CSV and JSON; a regression gets none', () => {
  const x = Array.from({ length: 12 }, (_v, i) => [Math.sin(i), Math.cos(3 * i)]);
  const y = x.map((_r, i) => [0, 1, 2].map((k) => (k === i % 3 ? 1 : 0)));
  const ckpt = join(dir, 'classes.safetensors');
  const spec = {
    model: {
      type: 'mlp',
      inputSize: 2,
      layers: [
        { units: 6, activation: 'tanh' },
        { units: 3, activation: 'softmax' },
      ],
    },
    loss: 'crossEntropy',
    optimizer: { type: 'adam', lr: 0.05 },
    data: { x, y },
    steps: 30,
    seed: 1,
  };
  expect(miya('train', file('classes.json', spec), '--backend', 'cpu', '--checkpoint', ckpt).status).toBe(0);
  const inputs = file('in.json', { x });
  const csv = miya('predict', ckpt, inputs, '--backend', 'cpu');
  expect(csv.status, csv.stderr).toBe(0);
  const [header, ...rows] = csv.stdout.trim().split('\n');
  expect(header).toBe('y1,y2,y3,class');
  expect(rows).toHaveLength(12);
  const classes = rows.map((line) => {
    const v = line.split(',').map(Number);
    expect(v[3]).toBe(v.slice(0, 3).indexOf(Math.max(...v.slice(0, 3))));
    return v[3];
  });
  expect(new Set(classes).size).toBeGreaterThan(1); // trained: not one class for all
  const json = JSON.parse(miya('predict', ckpt, inputs, '--backend', 'cpu', '--json').stdout);
  expect(json.outputs).toEqual(['y1', 'y2', 'y3']);
  expect(json.classes).toEqual(classes);
  expect(json.predictions.map((p: number[]) => p.indexOf(Math.max(...p)))).toEqual(classes);
  // a regression: no class
  const reg = join(dir, 'reg.safetensors');
  expect(miya('train', 'examples/mlp-3-3-1-sigmoid.json', '--backend', 'cpu', '--checkpoint', reg).status).toBe(0);
  const r = miya('predict', reg, file('reg-in.json', [[0.5, 0.2, 0.1]]), '--backend', 'cpu', '--json');
  expect(Object.keys(JSON.parse(r.stdout))).toEqual(['backend', 'device', 'outputs', 'predictions']);
});
