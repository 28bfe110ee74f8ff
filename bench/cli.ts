// miya bench [--suite matmul|tiles|mlp|rnn|lstm|gru|small|all] [--backends webgpu,cpu,tfjs-webgpu,tfjs-cpu] [--quick]
//            [--json FILE] [--markdown FILE] [--svg FILE] [--reps N] [--profile] [--tune [--tune-cache FILE|off]]
// miya bench --soak N [--backends webgpu,cpu]: N steps, live buffers, prepared dispatches and memory every 1,000 steps
import { writeFile } from 'node:fs/promises';
import { parse, positiveInt } from '../src/cli/args.js';
import { createBackend } from '../src/backends.js';
import { SpecError } from '../src/errors.js';
import { tuneStoreOption } from '../src/cli/tuneCacheFile.js';
import type { TuneStore } from '../src/tuneStore.js';
import type { Contender } from './contender.js';
import { miyaContender } from './miya.js';
import { profileSteps } from './profile.js';
import { soak } from './soak.js';
import { markdownTable, speedups, svgChart } from './report.js';
import { BACKENDS, runBench, SUITES } from './suite.js';
import { targetsSection } from './targets.js';
import { tfjsPeer } from './tfjsSetup.js';

async function contender(name: string, tune: boolean, tuneStore?: TuneStore): Promise<Contender> {
  if (name.startsWith('tfjs-')) return tfjsPeer(name.slice(5) as 'webgpu' | 'cpu');
  const say = (m: string) => process.stderr.write(m + '\n');
  return miyaContender(await createBackend(name as 'webgpu' | 'cpu', { notice: say }), true, tune ? say : undefined, tuneStore);
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    suite: { type: 'string', default: 'all' },
    backends: { type: 'string', default: 'webgpu,cpu' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    markdown: { type: 'string' },
    svg: { type: 'string' },
    reps: { type: 'string' },
    profile: { type: 'boolean', default: false },
    soak: { type: 'string' },
    tune: { type: 'boolean', default: false },
    'tune-cache': { type: 'string' },
  });
  const tuneStore = await tuneStoreOption(values.tune!, values['tune-cache']);
  if (values.soak !== undefined) return soakCommand(positiveInt('--soak', values.soak)!, values.backends!.split(','));
  if (values.profile) {
    const be = await createBackend('webgpu', { notice: (m) => process.stderr.write(m + '\n') });
    process.stdout.write(`webgpu: ${be.device}\n`);
    await profileSteps(be as Parameters<typeof profileSteps>[0], values.quick!, (l) => process.stdout.write(l + '\n'));
    be.dispose();
    return 0;
  }
  if (!(SUITES as readonly string[]).includes(values.suite!)) throw new SpecError('--suite', `expected one of ${SUITES.join(', ')}, got "${values.suite}"`);
  const names = values.backends!.split(',');
  for (const n of names)
    if (!(BACKENDS as readonly string[]).includes(n)) throw new SpecError('--backends', `expected a list of ${BACKENDS.join(', ')}, got "${n}"`);
  const reps = values.reps === undefined ? undefined : Number(values.reps);
  if (reps !== undefined && !(Number.isInteger(reps) && reps > 0)) throw new SpecError('--reps', `expected a positive integer, got "${values.reps}"`);
  const { results, devices } = await runBench(
    names.map((n) => () => contender(n, values.tune!, tuneStore)),
    { suite: values.suite!, quick: values.quick!, reps },
    (l) => process.stdout.write(l + '\n'),
  );
  const up = speedups(results);
  if (up.size > 0) {
    process.stdout.write('speed-up over TF.js on the same kind of device:\n');
    for (const [r, s] of up) process.stdout.write(`  ${r.suite.padEnd(6)} ${r.case.padEnd(28)} ${r.backend.padEnd(7)} ${s.toFixed(1)}×\n`);
  }
  // the targets, where the run has their (full) sizes on a hardware adapter; on a software one, that they are not comparable
  const targets = targetsSection(results);
  if (targets) process.stdout.write(`\n${targets}`);
  if (values.json) await writeFile(values.json, JSON.stringify({ results, device: devices }, null, 2) + '\n');
  if (values.markdown) await writeFile(values.markdown, markdownTable(results) + (targets ? `\n${targets}` : ''));
  if (values.svg) await writeFile(values.svg, svgChart(results, `miya bench (${Object.values(devices).join('; ')})`));
  return 0;
}

async function soakCommand(steps: number, names: string[]): Promise<number> {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  for (const name of names) {
    if (name !== 'webgpu' && name !== 'cpu') throw new SpecError('--backends', `--soak runs on Miya's own backends (webgpu, cpu), got "${name}"`);
    const be = await createBackend(name, { notice: (m) => process.stderr.write(m + '\n') });
    const r = await soak(be, steps);
    process.stdout.write(`${name} (${be.device}): ${steps} steps, final loss ${r.finalLoss}\n  step   live buffers   dispatches   heap used   rss\n`);
    for (const x of r.samples)
      process.stdout.write(
        `  ${String(x.step).padStart(6)} ${String(x.liveBuffers).padStart(13)} ${String(x.dispatches).padStart(12)} ${mib(x.heapUsed).padStart(11)} ${mib(x.rss).padStart(11)}\n`,
      );
    process.stdout.write(`  live buffers before ${r.liveBefore}, after dispose ${r.liveAfterDispose}\n`);
    be.dispose();
  }
  return 0;
}
