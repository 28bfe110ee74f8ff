// Saving checkpoints during a run: every N steps and at the end, never a non-finite one (a
// diverged run keeps its last good checkpoint). Where the bytes go is the caller's: a file
// written atomically in Node, IndexedDB in the browser.
import { NonFiniteError } from '../errors.js';
import { type Checkpoint, encodeCheckpoint } from '../io/checkpoint.js';
import { guardFinite } from './result.js';
import type { Trainer } from './trainer.js';

export interface CheckpointOptions {
  /** Save after every this many steps (and after the last). */
  every: number;
  /** Where the checkpoint goes, in words (a path), for messages. */
  where: string;
  save(bytes: Uint8Array, step: number): Promise<void>;
}

export async function checkpointOf<B>(trainer: Trainer<B>): Promise<Checkpoint> {
  const s = await trainer.snapshot();
  const bad = s.losses.findIndex((l) => !Number.isFinite(l));
  if (bad >= 0) throw new NonFiniteError(bad + 1, 'loss', s.losses[bad]);
  guardFinite(trainer.step, trainer.session.net.params, s.params);
  return {
    ...s,
    spec: trainer.spec,
    step: trainer.step,
    dtype: trainer.be.precision === 'f64' ? 'F64' : 'F32',
    backend: trainer.be.name,
    device: trainer.be.device,
    ...(trainer.data.train.vocabulary ? { vocabulary: trainer.data.train.vocabulary } : {}),
  };
}

export class Checkpointer<B> {
  /** The step of the latest checkpoint saved by this run. */
  lastSaved?: number;
  constructor(
    private trainer: Trainer<B>,
    readonly opts: CheckpointOptions,
  ) {}

  /** The trainer's afterStep hook. */
  afterStep = async (step: number): Promise<void> => {
    if (step % this.opts.every === 0) await this.save();
  };

  /**
   * Saves the state after the steps done so far; before the first step there is nothing to save (a
   * run stopped at once). `again`: even when this step's is saved already (early stopping's best
   * parameters were put back after it).
   */
  async save(again = false): Promise<void> {
    const t = this.trainer;
    if ((this.lastSaved === t.step && !again) || t.step === 0) return;
    const bytes = await encodeCheckpoint(await checkpointOf(t), t.batchesPerEpoch);
    await this.opts.save(bytes, t.step);
    this.lastSaved = t.step;
  }
}
