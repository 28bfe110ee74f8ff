// Where the playground's jobs run: in its worker (web/worker.ts), started on the first job and
// kept for the next ones (its WebGPU device and compiled pipelines with it), so the page stays
// interactive; or, when asked (the Train tab's "Run in"), on the page itself, the same job through
// the same events, to show what the worker spares it.
import { type Job, type JobContext, type JobOptions, JobWorker, runJobHere } from '../src/worker/jobs.js';
import type { jobs } from './jobs/index.js';

type Jobs = typeof jobs;
export type Where = 'worker' | 'page';
export type ArgsOf<K extends keyof Jobs> = Parameters<Jobs[K]>[0];
export type ResultOf<K extends keyof Jobs> = Awaited<ReturnType<Jobs[K]>>;
export type EventOf<K extends keyof Jobs> = Parameters<Jobs[K]>[1] extends JobContext<infer E> ? E : never;

const worker = new JobWorker(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'miya-playground' }), "the playground's worker");

export async function runJob<K extends keyof Jobs>(name: K, args: ArgsOf<K>, opts: JobOptions<EventOf<K>> = {}, where: Where = 'worker'): Promise<ResultOf<K>> {
  if (where === 'worker') return worker.run<ResultOf<K>, EventOf<K>>(name, args, opts);
  const here = (await import('./jobs/index.js')).jobs[name] as unknown as Job<ArgsOf<K>, ResultOf<K>, EventOf<K>>;
  return runJobHere(here, args, opts);
}
