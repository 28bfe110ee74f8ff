// The Race tab's run, without the page: the same model, data and seed on WebGPU and on the CPU
// backend, a few steps at a time on each in turn, each round's time per step told as an event.
// Both trainers run on one thread (the playground's worker), one after the other, so that
// neither's time includes the other's work.
import { type Backend, CpuBackend, loadDataset, Trainer, validateSpec } from '../../src/index.js';
import type { JobContext } from '../../src/worker/jobs.js';
import { webgpu } from '../backend.js';

export interface RaceArgs {
  spec: unknown;
  rounds: number;
  stepsPerRound: number;
  /** Whether the page has WebGPU (a page without it races the CPU backend alone). */
  gpu: boolean;
}
export interface RaceRound {
  round: number;
  gpuMsPerStep?: number;
  cpuMsPerStep: number;
  sameLosses: boolean;
  gpuDevice?: string;
}
export interface RaceResult {
  rounds: number;
  gpuMsPerStep?: number;
  cpuMsPerStep: number;
  sameLosses: boolean;
}

async function timeSteps<B>(t: Trainer<B>, from: number, k: number): Promise<{ ms: number; losses: Float64Array }> {
  const s = t.session,
    nb = s.batches.length;
  const t0 = performance.now();
  for (let i = from; i < from + k; i++) s.step(s.batches.at(i % nb), i);
  const losses = await s.readLosses(from, k); // waits for the device
  return { ms: (performance.now() - t0) / k, losses };
}

export async function raceJob(a: RaceArgs, { emit }: JobContext<RaceRound>): Promise<RaceResult> {
  const spec = validateSpec(a.spec);
  const data = await loadDataset(spec);
  const steps = a.rounds * a.stepsPerRound;
  const gpu: Backend | undefined = a.gpu ? await webgpu() : undefined;
  const cpu = new CpuBackend();
  const trainers = [gpu ? new Trainer(gpu, spec, data, steps) : undefined, new Trainer(cpu, spec, data, steps)];
  const last: (number | undefined)[] = [undefined, undefined];
  let same = true;
  try {
    for (let r = 0; r < a.rounds; r++) {
      const results: ({ ms: number; losses: Float64Array } | undefined)[] = [];
      for (const t of trainers) results.push(t ? await timeSteps(t, r * a.stepsPerRound, a.stepsPerRound) : undefined);
      results.forEach((x, i) => {
        last[i] = x?.ms;
      });
      if (results[0]) same &&= results[0].losses.every((l, i) => Math.abs(l - results[1]!.losses[i]) <= 1e-3 * Math.abs(results[1]!.losses[i]));
      emit({ round: r + 1, gpuMsPerStep: last[0], cpuMsPerStep: last[1]!, sameLosses: same, gpuDevice: gpu?.device });
    }
    return { rounds: a.rounds, gpuMsPerStep: last[0], cpuMsPerStep: last[1]!, sameLosses: same };
  } finally {
    for (const t of trainers) t?.dispose();
    cpu.dispose();
  }
}
