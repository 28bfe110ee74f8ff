// miya train SPEC.json [--backend cpu|webgpu|auto] [--steps N] [--json] [--tune [--tune-cache FILE|off]]
//                       [--checkpoint FILE [--checkpoint-every N]] [--resume FILE]
// With --resume the spec may be left out: the checkpoint carries its own.
// Ctrl-C (SIGINT) finishes the step in progress, writes the checkpoint (with --checkpoint) and
// exits 130; a second Ctrl-C exits 130 at once, writing nothing more.
import { rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { BACKEND_NAMES, type BackendName } from '../backends.js';
import { SpecError } from '../errors.js';
import { oneOf } from '../spec/check.js';
import { fmtShort, plural } from '../explain/format.js';
import { runSpec } from '../train/runSpec.js';
import { parse, positiveInt } from './args.js';
import { checkpointToFile, readCheckpointFile, runInputs } from './checkpointFile.js';
import { streamWriter, writeJson } from './jsonOut.js';
import { readSpecFile } from './specFile.js';
import { tuneStoreOption } from './tuneCacheFile.js';

/** Checkpoint every this many steps unless told (and always after the last step). */
const DEFAULT_CHECKPOINT_EVERY = 100;

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    backend: { type: 'string', default: 'auto' },
    steps: { type: 'string' },
    json: { type: 'boolean', default: false },
    checkpoint: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    resume: { type: 'string' },
    tune: { type: 'boolean', default: false },
    'tune-cache': { type: 'string' },
  });
  const backend = oneOf('--backend', values.backend, BACKEND_NAMES) as BackendName;
  const steps = positiveInt('--steps', values.steps);
  const every = positiveInt('--checkpoint-every', values['checkpoint-every']);
  if (every !== undefined && !values.checkpoint) throw new SpecError('--checkpoint-every', 'expected --checkpoint FILE beside it');
  const tuneStore = await tuneStoreOption(values.tune, values['tune-cache']);
  const resume = values.resume === undefined ? undefined : { checkpoint: await readCheckpointFile(values.resume), from: values.resume };
  const raw = positionals[0] === undefined && resume ? undefined : await readSpecFile(positionals[0]);
  // the checkpoint's path is checked now, before training: a directory, a device or one of the run's inputs is refused
  const checkpoint =
    values.checkpoint === undefined
      ? undefined
      : await checkpointToFile(
          values.checkpoint,
          every ?? DEFAULT_CHECKPOINT_EVERY,
          runInputs(positionals[0], raw ?? resume?.checkpoint.spec, tuneStore?.where),
          (m) => process.stderr.write(m + '\n'),
        );
  const bar = values.json
    ? undefined
    : new SingleBar({
        format: 'epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | test {test} | {rate} steps/s | eta {eta_formatted} | lr {lr}',
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        etaBuffer: 50,
      });
  // the time and step training starts at (after loading, opening the device, tuning; past 0 when resumed)
  let t0 = performance.now(),
    from = 0;
  // Ctrl-C: finish the step in progress, write the checkpoint (if asked for) and stop; again: stop now
  const interrupt = new AbortController();
  const onSigint = () => {
    if (!interrupt.signal.aborted) {
      interrupt.abort();
      process.stderr.write(
        `\nmiya train: stopping after the step in progress${values.checkpoint ? ' and writing the checkpoint' : ''} (Ctrl-C again to stop at once)\n`,
      );
      return;
    }
    process.stderr.write('\nmiya train: stopped at once; nothing more written\n');
    // a checkpoint being written stays as it was; the temporary file beside it goes (atomicFile's name for it)
    if (values.checkpoint) rmSync(join(dirname(values.checkpoint), `.${basename(values.checkpoint)}.${process.pid}.tmp`), { force: true });
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  const testText = (t?: { loss: number; accuracy?: number }) =>
    !t ? '-' : t.accuracy !== undefined ? `acc ${(100 * t.accuracy).toFixed(2)}%` : `loss ${fmtShort(t.loss)}`;
  const result = await runSpec(raw, {
    backend,
    steps,
    notice: (m) => process.stderr.write(m + '\n'),
    resume,
    signal: interrupt.signal,
    tune: values.tune,
    tuneStore,
    checkpoint,
    // --json's history holds every epoch's held-out loss
    evaluateEachEpoch: values.json ? true : undefined,
    // the bar starts where training starts, with no loss until one is read back (the first comes after some steps)
    onStart: (at) => {
      t0 = performance.now();
      from = at.step;
      bar?.start(at.steps, at.step, { epoch: `${at.epoch}/${at.epochs}`, loss: '-', lr: '-', test: '-', rate: '-' });
    },
    onProgress: values.json
      ? undefined
      : (p) => {
          bar?.update(p.step, {
            epoch: `${p.epoch}/${p.epochs}`,
            loss: fmtShort(p.loss),
            lr: fmtShort(p.lr),
            rate: p.stepsPerSecond.toFixed(0),
            test: testText(p.test),
          });
        },
  });
  const secs = (performance.now() - t0) / 1000;
  bar?.stop();
  process.off('SIGINT', onSigint);
  const l = result.losses,
    to = l.length;
  if (interrupt.signal.aborted) {
    const where = !values.checkpoint
      ? ' (no --checkpoint given, so nothing was saved)'
      : to === 0
        ? ' (before its first step: no checkpoint)'
        : `; checkpoint written to ${values.checkpoint}: continue with --resume ${values.checkpoint}`;
    process.stderr.write(`miya train: interrupted after step ${to}${where}\n`);
  }
  const exitCode = interrupt.signal.aborted ? 130 : 0;
  if (values.json) {
    await writeJson(result, streamWriter(process.stdout), '\n');
    return exitCode;
  }
  // a resumed run says which steps it ran: its losses start at step 1, its work at `from`
  const ran = `${plural(to - from, 'step')}${from > 0 ? ` (from step ${from} to ${to})` : ''}`;
  process.stdout.write(`${result.backend} on ${result.device}: ${ran} in ${secs.toFixed(2)} s\n`);
  if (to > 0) process.stdout.write(`loss: ${fmtShort(l[0])} (step 1) → ${fmtShort(l[to - 1])} (step ${to})\n`);
  const lrs = result.lrs;
  if (lrs.length > 0 && lrs.some((v) => v !== lrs[0]))
    process.stdout.write(`lr: ${fmtShort(lrs[0])} (step 1) → ${fmtShort(lrs[lrs.length - 1])} (step ${lrs.length})\n`);
  const es = result.earlyStopping;
  if (es) {
    const stopped =
      es.stoppedEpoch === undefined ? 'ran every step' : `stopped after epoch ${es.stoppedEpoch}, the held-out loss not improving by more than minDelta`;
    process.stdout.write(
      `early stopping: ${stopped}; best epoch ${es.bestEpoch} (held-out loss ${fmtShort(es.bestLoss)})${es.restored ? ', its parameters restored' : ''}\n`,
    );
  }
  if (result.test) {
    const t = result.test,
      on = `on ${plural(t.samples, 'held-out sample')}`;
    process.stdout.write(
      t.accuracy !== undefined
        ? `test: accuracy ${(100 * t.accuracy).toFixed(2)}% ${on}, loss ${fmtShort(t.loss)}\n`
        : `test: loss ${fmtShort(t.loss)} ${on}\n`,
    );
  }
  return exitCode;
}
