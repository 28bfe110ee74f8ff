// Where a training step's time goes: the step is timed cumulatively in stages (forward; + the
// loss and its gradient, one pass; + backward; + optimizer update), each stage queued many times
// and waited for once, so that the difference between stages is the cost of the stage added. Where the device
// has timestamp queries, one whole step is then timed kernel by kernel (GPU time, per variant).
import type { Backend } from '../src/backend.js';
import type { KernelTime } from '../src/webgpu/timer.js';
import { LOSS_PARTS, lossValue } from '../src/nn/ops.js';
import { Session } from '../src/train/session.js';
import { benchCases, type StepCase } from './cases.js';
import { caseData } from './data.js';

/** What profileSteps needs of a backend: the webgpu one, with its optional kernel timing. */
type Profiled<B> = Backend<B> & {
  sync(): Promise<void>;
  dispatches?: number;
  canTimeKernels?: boolean;
  startTiming?(): void;
  stopTiming?(): Promise<KernelTime[]>;
};

/** Kernel times summed per variant, largest first: [variant, launches, total ms, flops, bytes] (kernelWork.ts). */
export function byVariant(times: KernelTime[]): [string, number, number, number, number][] {
  const sums = new Map<string, [number, number, number, number]>();
  for (const t of times) {
    const [n, ms, flops, bytes] = sums.get(t.kernel) ?? [0, 0, 0, 0];
    sums.set(t.kernel, [n + 1, ms + t.ms, flops + t.work.flops, bytes + t.work.bytes]);
  }
  return [...sums].map(([k, [n, ms, flops, bytes]]): [string, number, number, number, number] => [k, n, ms, flops, bytes]).sort((a, b) => b[2] - a[2]);
}

/** "  123.4 GFLOP/s     56.7 GB/s" (products), "                    56.7 GB/s" (the rest): per second of `ms`. */
export function rates(ms: number, flops: number, bytes: number): string {
  const per = (x: number) => (ms > 0 ? x / ms / 1e6 : 0).toFixed(1).padStart(9);
  return `${flops > 0 ? `${per(flops)} GFLOP/s` : ' '.repeat(17)} ${per(bytes)} GB/s`;
}

/** The host's time to record one step (nothing submitted while it is timed), per step and per dispatch. */
async function recordingTime<B>(be: Profiled<B>, record: () => void): Promise<string> {
  record();
  await be.sync();
  const n = 10,
    d0 = be.dispatches!,
    t0 = performance.now();
  for (let i = 0; i < n; i++) record();
  const ms = (performance.now() - t0) / n,
    per = (be.dispatches! - d0) / n;
  await be.sync();
  return `host: recording a step takes ${ms.toFixed(3)} ms for ${per} dispatches (${((1000 * ms) / per).toFixed(1)} µs each)`;
}

export async function profileSteps<B>(be: Profiled<B>, quick: boolean, out: (s: string) => void): Promise<void> {
  for (const c of benchCases(quick).filter((x): x is StepCase => 'spec' in x && x.suite !== 'small')) {
    const data = caseData(c);
    const s = new Session(be, { model: c.spec.model, loss: c.spec.loss, optimizer: c.spec.optimizer, batchSize: data.n, seed: 1, historySize: 1 }, data);
    const b = s.batches.at(0);
    const { x, y } = s.batchViews(b);
    const net = s.net,
      loss = c.spec.loss as 'mse';
    const lossOut = { buf: be.buffer(1, 'loss'), off: 0, rows: 1, cols: 1 };
    const lossParts = { buf: be.buffer(LOSS_PARTS, 'loss parts'), off: 0, rows: 1, cols: LOSS_PARTS };
    const stages: [string, () => void][] = [
      [
        'forward',
        () => {
          s.gather(b);
          net.forward(x, b.size);
        },
      ],
      ['+ loss, gradient', () => lossValue(be, loss, b.size, net.lossInput(loss, b.size), y, lossOut, lossParts, net.lossGradTarget(loss, b.size))],
      ['+ backward', () => net.backward(x, b.size, loss)],
      ['+ update', () => s.opt.step(net.paramBuf, net.gradBuf)],
    ];
    out(`profile ${c.suite} ${c.name}:`);
    if (be.dispatches !== undefined)
      out(
        `  ${await recordingTime(be, () => {
          for (const [, f] of stages) f();
        })}`,
      );
    let before = 0;
    for (let k = 1; k <= stages.length; k++) {
      const run = () => {
        for (const [, f] of stages.slice(0, k)) f();
        be.submit();
      };
      run();
      await be.sync();
      const n = 10;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) run();
      await be.sync();
      const ms = (performance.now() - t0) / n;
      out(`  ${stages[k - 1][0].padEnd(16)} ${ms.toFixed(3).padStart(9)} ms cumulative  ${(ms - before).toFixed(3).padStart(9)} ms added`);
      before = ms;
    }
    if (be.canTimeKernels) {
      be.startTiming!();
      for (const [, f] of stages) f();
      const times = await be.stopTiming!();
      const total = times.reduce((a, t) => a + t.ms, 0);
      out(`  GPU time per kernel variant, one step (timestamp queries, one pass per kernel): ${total.toFixed(3)} ms in ${times.length} launches`);
      out('  (GFLOP/s of the products; GB/s: the bytes a launch must move, each input read and each output written once)');
      for (const [variant, n, ms, flops, bytes] of byVariant(times)) {
        out(
          `    ${ms.toFixed(3).padStart(9)} ms ${((100 * ms) / Math.max(total, 1e-12)).toFixed(1).padStart(5)} %  ${String(n).padStart(4)}×  ${rates(ms, flops, bytes)}  ${variant}`,
        );
      }
    }
    be.free(lossOut.buf);
    s.dispose();
  }
}
