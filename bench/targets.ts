// Issue 5's and issue 14's targets (an NVIDIA H100, fp32, TF.js measured in the same run) checked against a
// bench run's results: the table bench/RESULTS.md keeps, made from the results rather than by hand.
import type { BenchResult } from './run.js';

interface Target {
  what: string;
  suite: string;
  cases: string[];
  /** matmuls are judged by TFLOP/s (at least), training steps by ms per step (at most), or by the speed-up over TF.js WebGPU in the same run (at least) */
  atLeastTflops?: number;
  atMostMs?: number;
  atLeastSpeedup?: number;
}

export const TARGETS: readonly Target[] = [
  { what: 'matmul 4096³ / 8192³', suite: 'matmul', cases: ['4096x4096x4096', '8192x8192x8192'], atLeastTflops: 40 },
  { what: 'MLP step 1024-4096x3-1024, batch 1024', suite: 'mlp', cases: ['1024-4096x3-1024 b1024'], atMostMs: 10 },
  { what: 'RNN step in 256, hidden 1024, T 64, batch 256', suite: 'rnn', cases: ['in256 h1024 T64 b256'], atMostMs: 15 },
  { what: 'worked-example step, batch 1, 1000 queued', suite: 'small', cases: ['worked example 3-3-1, batch 1'], atMostMs: 0.3 },
  // issue 14: a 2-layer LSTM / GRU step (input 128, hidden 512, T 64, batch 128) against tf.layers.lstm / gru
  { what: 'LSTM step, 2 layers, in 128, hidden 512, T 64, batch 128', suite: 'lstm', cases: ['in128 h512x2 T64 b128'], atLeastSpeedup: 20 },
  { what: 'GRU step, 2 layers, in 128, hidden 512, T 64, batch 128', suite: 'gru', cases: ['in128 h512x2 T64 b128'], atLeastSpeedup: 20 },
];

/**
 * Whether a result's device is a software adapter (SwiftShader, llvmpipe, lavapipe: a CPU posing
 * as a GPU). openGpu (src/webgpu/device.ts) decides it from the adapter's info, as `--backend auto`
 * does when it refuses one, and marks the device "(software)"; a TF.js peer's device is the
 * adapter's bare description, which names the driver.
 */
export const onSoftwareAdapter = (device: string): boolean => /\(software\)|swiftshader|llvmpipe|lavapipe/i.test(device);

/** The result for the case on a hardware adapter, if the run has one: the targets judge nothing else. */
const find = (results: BenchResult[], backend: string, suite: string, c: string) =>
  results.find((r) => r.backend === backend && r.suite === suite && r.case === c && !onSoftwareAdapter(r.device));

/** "34.6 / 32.2 TFLOP/s", "10.8 ms"; a dash where the run has no such result (TF.js not run). */
function figures(rs: (BenchResult | undefined)[], t: Target): string {
  if (rs.some((r) => !r)) return '—';
  const tflops = t.atLeastTflops !== undefined;
  return rs.map((r) => (tflops ? (r!.gflops / 1000).toFixed(1) : r!.msPerStep!.toPrecision(3))).join(' / ') + (tflops ? ' TFLOP/s' : ' ms');
}

/** "yes", or "no" with how far: the share of a throughput target reached, or how much a time target is exceeded. */
function verdict(rs: BenchResult[], t: Target, peers: (BenchResult | undefined)[]): string {
  if (t.atLeastSpeedup !== undefined) {
    if (peers.some((p) => !p)) return 'not judged (no TF.js WebGPU in this run)';
    const worst = Math.min(...rs.map((r, i) => peers[i]!.msPerStep! / r.msPerStep!));
    return worst >= t.atLeastSpeedup ? `yes (${worst.toFixed(1)}×)` : `no (${worst.toFixed(1)}×)`;
  }
  if (t.atLeastTflops !== undefined) {
    const worst = Math.min(...rs.map((r) => r.gflops / 1000));
    return worst >= t.atLeastTflops ? 'yes' : `no (${Math.floor((100 * worst) / t.atLeastTflops)} % of it)`;
  }
  const worst = Math.max(...rs.map((r) => r.msPerStep!));
  return worst <= t.atMostMs! ? 'yes' : `no (${Math.ceil((100 * worst) / t.atMostMs!) - 100} % over)`;
}

/**
 * The targets table for the cases of `results` that the targets name, measured on a hardware
 * adapter (none: an empty string, as for --quick sizes or a software adapter): TF.js WebGPU and
 * Miya WebGPU side by side, the target, and whether it is met.
 */
export function targetsTable(results: BenchResult[]): string {
  const lines: string[] = [];
  for (const t of TARGETS) {
    const miya = t.cases.map((c) => find(results, 'webgpu', t.suite, c));
    if (miya.some((r) => !r)) continue;
    const peer = t.cases.map((c) => find(results, 'tfjs-webgpu', t.suite, c));
    const target =
      t.atLeastTflops !== undefined
        ? `≥ ${t.atLeastTflops} TFLOP/s`
        : t.atLeastSpeedup !== undefined
          ? `≥ ${t.atLeastSpeedup}× TF.js WebGPU`
          : `≤ ${t.atMostMs} ms`;
    lines.push(`| ${t.what} | ${figures(peer, t)} | ${figures(miya, t)} | ${target} | ${verdict(miya as BenchResult[], t, peer)} |`);
  }
  if (lines.length === 0) return '';
  return ['| case | TF.js WebGPU (this run) | Miya WebGPU | target | met? |', '|---|---|---|---|---|', ...lines].join('\n') + '\n';
}

/**
 * What a bench report says of the targets (the CLI's output, its --markdown file, the playground's
 * Bench tab): the table under its heading on a hardware adapter; on a software one, where an H100's
 * targets would read as "2008 % over", a line saying they are not comparable; else nothing.
 */
export function targetsSection(results: BenchResult[]): string {
  const table = targetsTable(results);
  if (table) return `The targets, set for an NVIDIA H100 (bench/RESULTS.md):\n\n${table}`;
  const soft = results.find(
    (r) => r.backend === 'webgpu' && onSoftwareAdapter(r.device) && TARGETS.some((t) => t.suite === r.suite && t.cases.includes(r.case)),
  );
  return soft
    ? `The targets (bench/RESULTS.md) were set for an NVIDIA H100; this run's WebGPU adapter is ${soft.device}, a software one running on the CPU, so its times are not comparable with them and no targets table is made.\n`
    : '';
}
