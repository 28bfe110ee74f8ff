// Ctrl-C and long runs. `miya train` (the built CLI, spawned as a user runs it) stops within a
// second or two of a SIGINT on either backend, having finished the step in progress, written the
// checkpoint at that step (with --checkpoint) and exited 130; a second SIGINT exits 130 at once.
// A run that asks for 1e9 steps or epochs starts and stops without allocating for all of them,
// and its losses, drained through the device's ring of slots, are every step's.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { loadDataset } from '../src/data/load.js';
import { decodeCheckpoint } from '../src/io/checkpoint.js';
import type { RunSpec } from '../src/spec/types.js';
import { validateSpec } from '../src/spec/validate.js';
import { runSpec } from '../src/train/runSpec.js';
import { LossHistory, Session } from '../src/train/session.js';
import { HISTORY_RING, Trainer } from '../src/train/trainer.js';
import { webgpuTest } from './backends.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/miya.js');
const dir = mkdtempSync(join(tmpdir(), 'miya-signals-'));
const gpuTest = await webgpuTest();

interface Run {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: string | null; at: number }>;
}

function train(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn('node', [bin, 'train', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '',
    err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })),
  );
  return { child, stderr: () => err, stdout: () => out, exited };
}

async function until(r: Run, what: string, ok: () => boolean, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  let gone = false;
  void r.exited.then(() => {
    gone = true;
  });
  while (!ok()) {
    if (gone) throw new Error(`exited while waiting for ${what}: ${r.stderr()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Waits for the run to exit, at most `ms`; a run still going then is killed, and the answer is 'still running'. */
async function exitWithin(r: Run, ms: number): Promise<{ code: number | null; signal: string | null; at: number } | 'still running'> {
  const res = await Promise.race([r.exited, sleep(ms).then(() => 'still running' as const)]);
  if (res === 'still running') {
    r.child.kill('SIGKILL');
    await r.exited;
  }
  return res;
}

/** The progress bar's lines on stderr: [step, total]. */
const barSteps = (stderr: string) => [...stderr.matchAll(/\] (\d+)\/(\d+) steps/g)].map((m) => [Number(m[1]), Number(m[2])]);
const stoppedAfter = (stderr: string) => Number(/interrupted after step (\d+)/.exec(stderr)?.[1] ?? NaN);

// The bounds are generous (a loaded 2-core machine); before, cpu did not stop at all and webgpu took
// 20-33 s. A SwiftShader step alone takes 0.6 s here, several seconds when other tests run beside it.
const PROMPT_MS = 10_000;
const PROMPT_WEBGPU_MS = 20_000;

test('cpu, no --checkpoint: SIGINT in the middle of training stops it within seconds, exit 130, nothing saved', async () => {
  const r = train(['examples/mnist-mlp.json', '--backend', 'cpu', '--steps', '100000']);
  await until(r, "training to start (the bar's first line)", () => barSteps(r.stderr()).length > 0);
  await sleep(2000); // steps under way
  r.child.kill('SIGINT');
  const end = await exitWithin(r, PROMPT_MS);
  expect(end, r.stderr()).not.toBe('still running');
  expect(end !== 'still running' && end.code, r.stderr()).toBe(130);
  const n = stoppedAfter(r.stderr());
  expect(r.stderr()).toMatch(/interrupted after step \d+ \(no --checkpoint given, so nothing was saved\)/);
  expect(n).toBeGreaterThan(0);
  expect(n).toBeLessThan(100_000);
  expect(r.stdout()).toContain(`: ${n} steps in `);
  expect(r.stdout()).toMatch(new RegExp(`\\(step ${n}\\)\\n`));
});

test('cpu, --checkpoint: the checkpoint is written at the interrupted step, not at the next multiple of --checkpoint-every', async () => {
  const ckpt = join(dir, 'cpu.safetensors');
  const r = train(['examples/mnist-mlp.json', '--backend', 'cpu', '--steps', '100000', '--checkpoint', ckpt, '--checkpoint-every', '5000']);
  await until(r, "training to start (the bar's first line)", () => barSteps(r.stderr()).length > 0);
  await sleep(2000);
  r.child.kill('SIGINT');
  const end = await exitWithin(r, PROMPT_MS);
  expect(end, r.stderr()).not.toBe('still running');
  expect(end !== 'still running' && end.code, r.stderr()).toBe(130);
  const n = stoppedAfter(r.stderr());
  expect(n).toBeGreaterThan(0);
  expect(n).toBeLessThan(5000);
  const saved = await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt);
  expect(saved.step).toBe(n);
  expect(saved.losses).toHaveLength(n);
});

test('cpu: a second SIGINT while the checkpoint is being written exits 130 at once, writing nothing', async () => {
  const ckpt = join(dir, 'twice.safetensors');
  // each 64 KiB of the checkpoint waits 300 ms: the write (~2.4 MB) would take ~11 s
  const r = train(['examples/mnist-mlp.json', '--backend', 'cpu', '--steps', '100000', '--checkpoint', ckpt, '--checkpoint-every', '50000'], {
    MIYA_TEST_WRITE_PAUSE_MS: '300',
  });
  await until(r, 'training to start', () => barSteps(r.stderr()).length > 0);
  await sleep(2000); // steps under way: there is a checkpoint to write
  r.child.kill('SIGINT');
  await until(r, 'the checkpoint write to start', () => readdirSync(dir).some((f) => f.startsWith('.twice.safetensors.')));
  r.child.kill('SIGINT');
  const end = await exitWithin(r, 3000); // not the ~11 s the write would take
  expect(end, r.stderr()).not.toBe('still running');
  expect(end !== 'still running' && [end.code, end.signal], r.stderr()).toEqual([130, null]);
  expect(r.stderr()).toContain('stopped at once; nothing more written');
  expect(existsSync(ckpt)).toBe(false);
  expect(readdirSync(dir).filter((f) => f.startsWith('.twice.safetensors.'))).toEqual([]); // the temporary file went too
});

gpuTest(
  'webgpu (SwiftShader here): SIGINT stops within seconds, not after the steps queued on the device; the checkpoint is at that step',
  async () => {
    const ckpt = join(dir, 'gpu.safetensors');
    const r = train(['examples/mnist-mlp.json', '--backend', 'webgpu', '--checkpoint', ckpt, '--checkpoint-every', '400']);
    // a reported step (25, read back once the device has done it): before, the host was 25 steps further by then
    await until(r, 'progress past step 0', () => barSteps(r.stderr()).some(([s]) => s > 0), 200_000);
    r.child.kill('SIGINT');
    const end = await exitWithin(r, PROMPT_WEBGPU_MS);
    expect(end, r.stderr()).not.toBe('still running');
    expect(end !== 'still running' && end.code, r.stderr()).toBe(130);
    const n = stoppedAfter(r.stderr());
    expect(n).toBeGreaterThanOrEqual(25);
    expect(n).toBeLessThan(400);
    const saved = await decodeCheckpoint(new Uint8Array(readFileSync(ckpt)), ckpt);
    expect(saved.step).toBe(n);
  },
  300_000,
);

gpuTest(
  'webgpu: the host records only about half a second of device work ahead, so a stop waits for that, not for a queue of steps',
  async (be) => {
    const spec = validateSpec((await import('../examples/mnist-mlp.json')).default);
    // the losses of steps 25 and 50 are read back as the device finishes those steps: the device's own pace
    const seen: Record<number, number> = {};
    const stop = new AbortController();
    const result = await runSpec(spec, {
      backend: be,
      steps: 400,
      signal: stop.signal,
      onProgress: (p) => {
        seen[p.step] = performance.now();
        if (p.step === 50) stop.abort(); // the device has just finished step 50
      },
    });
    const pace = (seen[50] - seen[25]) / 25; // ms a step on this device, now
    // the steps recorded past 50 when the device finished it: each had to be waited for by the stop
    const ahead = result.losses.length - 50;
    expect(ahead).toBeGreaterThanOrEqual(0);
    // at most 0.5 s of work (and the step in progress), with room for the pace to vary: before, 25 steps (5 s here)
    expect(ahead * pace, `${ahead} steps recorded ahead, a step takes ${pace.toFixed(0)} ms`).toBeLessThanOrEqual(1000 + 2 * pace);
  },
  300_000,
);

/**
 * A 2-2-1 network on 3 samples, one a batch: steps cost microseconds, and each step's loss is
 * another sample's. One input, three targets: no network fits them all, so the losses never settle.
 */
const tiny = (extra: Partial<RunSpec>): RunSpec =>
  validateSpec({
    model: {
      type: 'mlp',
      inputSize: 2,
      layers: [
        { units: 2, activation: 'tanh' },
        { units: 1, activation: 'identity' },
      ],
    },
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.01 },
    data: {
      x: [
        [1, 1],
        [1, 1],
        [1, 1],
      ],
      y: [[1], [0.5], [0]],
    },
    batchSize: 1,
    seed: 4,
    ...extra,
  });

test.each([
  ['steps', { steps: 1e9 }],
  ['epochs', { epochs: 1e9 }],
] as const)('%s: 1e9 starts without a RangeError and stops when asked, after the steps it did', async (_, extra) => {
  const stop = new AbortController();
  const result = await runSpec(tiny(extra), {
    backend: 'cpu',
    signal: stop.signal,
    afterStep: (step) => {
      if (step === 7) stop.abort();
    },
  });
  expect(result.losses).toHaveLength(7);
  expect(result.losses.every(Number.isFinite)).toBe(true);
});

test("a run longer than the device's ring of loss slots keeps every step's loss, read back in order", async () => {
  const steps = 2 * HISTORY_RING + 123;
  const spec = tiny({ steps, optimizer: { type: 'momentum', lr: 0.01 } });
  const t = new Trainer(new CpuBackend(), spec, await loadDataset(spec));
  const losses = await t.train({ reportEvery: 100 });
  // the same steps one at a time, each loss read at once from a one-slot history
  const ref = new Session(
    new CpuBackend(),
    { model: spec.model, loss: spec.loss, optimizer: spec.optimizer, batchSize: 1, seed: 4, historySize: 1 },
    (await loadDataset(spec)).train,
  );
  const want = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    ref.step(ref.batches.at(i % 3), 0);
    want[i] = (await ref.readLosses(0, 1))[0];
  }
  expect(losses).toEqual(want);
  // a loss one lap of the ring old (another sample's: 4096 is not a multiple of 3) would differ
  for (let i = HISTORY_RING; i < steps; i++) expect(losses[i] === losses[i - HISTORY_RING], `step ${i + 1}`).toBe(false);
});

test('the host history grows as steps are done', () => {
  const h = new LossHistory();
  for (let i = 0; i < 1000; i++) h.push([i, -i]);
  expect(h.length).toBe(2000);
  expect(h.last).toBe(-999);
  expect(Array.from(h.values().subarray(0, 4))).toEqual([0, -0, 1, -1]);
  h.reset([5, 6]);
  expect(Array.from(h.values())).toEqual([5, 6]);
});
