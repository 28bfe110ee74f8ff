// miya train SPEC.json [--backend cpu|webgpu|auto] [--steps N] [--json] [--tune [--tune-cache FILE|off]]
//                       [--checkpoint FILE [--checkpoint-every N]] [--resume FILE]
// With --resume the spec may be left out: the checkpoint carries its own.
import { SingleBar } from 'cli-progress';
import { BACKEND_NAMES, type BackendName } from '../backends.js';
import { SpecError } from '../errors.js';
import { oneOf } from '../spec/check.js';
import { runSpec } from '../train/runSpec.js';
import { parse, positiveInt } from './args.js';
import { checkpointToFile, readCheckpointFile } from './checkpointFile.js';
import { readSpecFile } from './specFile.js';
import { tuneStoreOption } from './tuneCacheFile.js';

/** Checkpoint every this many steps unless told (and always after the last step). */
const DEFAULT_CHECKPOINT_EVERY = 100;

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    backend: { type: 'string', default: 'auto' }, steps: { type: 'string' }, json: { type: 'boolean', default: false },
    checkpoint: { type: 'string' }, 'checkpoint-every': { type: 'string' }, resume: { type: 'string' }, tune: { type: 'boolean', default: false },
    'tune-cache': { type: 'string' },
  });
  const backend = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const steps = positiveInt('--steps', values.steps);
  const every = positiveInt('--checkpoint-every', values['checkpoint-every']);
  if (every !== undefined && !values.checkpoint) throw new SpecError('--checkpoint-every', 'expected --checkpoint FILE beside it');
  const tuneStore = await tuneStoreOption(values.tune, values['tune-cache']);
  const resume = values.resume === undefined ? undefined : { checkpoint: await readCheckpointFile(values.resume), from: values.resume };
  const raw = positionals[0] === undefined && resume ? undefined : await readSpecFile(positionals[0]);
  const bar = values.json ? undefined : new SingleBar({
    format: 'epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | test {test} | {rate} steps/s | eta {eta_formatted}',
    stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5000, etaBuffer: 50,
  });
  let started = false;
  const t0 = performance.now();
  // Ctrl-C: finish the step in progress, write the checkpoint (if asked for) and stop
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  const result = await runSpec(raw, {
    backend, steps, notice: (m) => process.stderr.write(m + '\n'), resume, signal: interrupt.signal, tune: values.tune, tuneStore,
    checkpoint: values.checkpoint ? checkpointToFile(values.checkpoint, every ?? DEFAULT_CHECKPOINT_EVERY) : undefined,
    onProgress: values.json ? undefined : (p) => {
      const fields = {
        epoch: `${p.epoch}/${p.epochs}`, loss: p.loss.toFixed(4), rate: p.stepsPerSecond.toFixed(0),
        test: !p.test ? '-' : p.test.accuracy !== undefined ? `acc ${(100 * p.test.accuracy).toFixed(1)}%` : `loss ${p.test.loss.toFixed(4)}`,
      };
      if (!started) { bar?.start(p.steps, 0, fields); started = true; }
      bar?.update(p.step, fields);
    },
  });
  bar?.stop();
  process.off('SIGINT', onSigint);
  if (interrupt.signal.aborted) {
    const where = values.checkpoint ? `; checkpoint written to ${values.checkpoint}: continue with --resume ${values.checkpoint}` : ' (no --checkpoint given, so nothing was saved)';
    process.stderr.write(`miya train: interrupted after step ${result.losses.length}${where}\n`);
  }
  const exitCode = interrupt.signal.aborted ? 130 : 0;
  if (values.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return exitCode;
  }
  const l = result.losses;
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(`${result.backend} on ${result.device}: ${l.length} steps in ${secs.toFixed(2)} s\n`);
  process.stdout.write(`loss: ${l[0].toFixed(4)} (step 1) → ${l[l.length - 1].toFixed(4)} (step ${l.length})\n`);
  if (result.test) {
    const t = result.test;
    process.stdout.write(t.accuracy !== undefined
      ? `test: accuracy ${(100 * t.accuracy).toFixed(2)}% on ${t.samples} held-out samples, loss ${t.loss.toFixed(4)}\n`
      : `test: loss ${t.loss.toFixed(4)} on ${t.samples} held-out samples\n`);
  }
  return exitCode;
}
