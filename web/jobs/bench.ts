// The Bench tab's run, without the page: `miya bench`'s suites on the contenders asked for (Miya on
// WebGPU and the CPU backend, TF.js loaded only when asked), each log line and result told as an
// event, the table as markdown at the end. With `tune`, WebGPU's products are tuned first, the
// choices kept per GPU in this browser's IndexedDB (tuneStore.ts), which the worker reaches too.
import { runBench, type BenchRun } from '../../bench/suite.js';
import type { Contender } from '../../bench/contender.js';
import { miyaContender } from '../../bench/miya.js';
import { markdownTable } from '../../bench/report.js';
import type { BenchResult } from '../../bench/run.js';
import { targetsSection } from '../../bench/targets.js';
import { CpuBackend } from '../../src/index.js';
import type { JobContext } from '../../src/worker/jobs.js';
import { webgpu } from '../backend.js';
import { browserTuneStore } from '../tuneStore.js';

export interface BenchRequest {
  suite: string;
  quick: boolean;
  backends: string[];
  reps?: number;
  tune?: boolean;
}
export interface BenchArgs extends BenchRequest {
  gpu: boolean;
}
export type BenchEvent = { type: 'line'; line: string } | { type: 'result'; result: BenchResult };
export interface BenchPageResult extends BenchRun {
  markdown: string;
  log: string[];
}

async function contender(name: string, gpuHere: boolean, tune?: (line: string) => void): Promise<Contender> {
  if (name === 'cpu') return miyaContender(new CpuBackend());
  if (name === 'webgpu') {
    const gpu = gpuHere ? await webgpu() : undefined;
    if (!gpu) throw new Error('webgpu: this browser has no WebGPU');
    // the worker's one device, shared with its other jobs (which then run tuned products too)
    return miyaContender(gpu, false, tune, tune && browserTuneStore);
  }
  const { tfjsPeer } = await import('../../bench/tfjsSetup.js');
  return tfjsPeer(name.slice(5) as 'webgpu' | 'cpu');
}

export async function benchJob(r: BenchArgs, { emit }: JobContext<BenchEvent>): Promise<BenchPageResult> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    emit({ type: 'line', line });
  };
  const out = await runBench(
    r.backends.map((n) => () => contender(n, r.gpu, r.tune ? say : undefined)),
    { suite: r.suite, quick: r.quick, reps: r.reps },
    say,
    (result) => emit({ type: 'result', result }),
  );
  const targets = targetsSection(out.results);
  return { ...out, markdown: markdownTable(out.results) + (targets ? `\n${targets}` : ''), log: lines };
}
