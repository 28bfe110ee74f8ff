// The run's controls between steps (README.md "Training controls"): the learning rate of every
// step from the schedule (recorded, for `train --json`'s lrs), and after each epoch the held-out
// loss handed to a plateau schedule and to early stopping, which keeps the best epoch's parameters
// in a device buffer (a copy on the device: nothing is read back until a checkpoint asks). All of
// it is in ControlState, which checkpoints carry, so that a resumed run continues bit for bit.
import type { Backend } from '../backend.js';
import { LrSchedule, type PlateauState } from '../optim/schedule.js';
import type { EarlyStoppingSpec, RunSpec } from '../spec/types.js';
import { LossHistory } from './session.js';

/** Early stopping's watch over the held-out loss. */
export interface EarlyStoppingState {
  /** the lowest held-out loss so far (Infinity before the first), and its epoch (1-based; 0: none yet) */
  best: number;
  bestEpoch: number;
  /** epochs since the best without an improvement by more than minDelta */
  bad: number;
  /** the run has stopped (at the end of epoch `stoppedEpoch`) */
  stopped: boolean;
  stoppedEpoch?: number;
}

/** A held-out evaluation after an epoch (1-based). */
export interface EpochEvaluation {
  epoch: number;
  loss: number;
  accuracy?: number;
}

/** What a checkpoint keeps of the controls. */
export interface ControlState {
  /** every step's learning rate so far */
  lrs: Float64Array;
  evaluations: EpochEvaluation[];
  plateau?: PlateauState;
  earlyStopping?: EarlyStoppingState;
  /** the best epoch's parameters (earlyStopping with restoreBest, once there is a best) */
  bestParams?: Float64Array;
}

/** One epoch of `train --json`'s history. */
export interface EpochRecord {
  epoch: number;
  /** the mean training loss of the epoch's steps */
  loss: number;
  testLoss?: number;
  testAccuracy?: number;
  /** the learning rate of the epoch's last step */
  lr: number;
}

/** The early-stopping outcome a run reports. */
export interface EarlyStoppingResult {
  /** the epoch after which the run stopped (absent: it ran all its steps) */
  stoppedEpoch?: number;
  bestEpoch: number;
  bestLoss: number;
  /** the parameters are the best epoch's (restoreBest) */
  restored: boolean;
}

export class RunControls<B> {
  readonly schedule: LrSchedule;
  readonly lrs = new LossHistory();
  evaluations: EpochEvaluation[] = [];
  readonly early?: EarlyStoppingSpec;
  es?: EarlyStoppingState;
  private best?: B;
  private hasBest = false;
  /** the best parameters were put back at the end */
  restored = false;

  /** `lr`: the optimizer's base rate, read at each step (default: the spec's). */
  constructor(
    private be: Backend<B>,
    spec: RunSpec,
    private params: B,
    private n: number,
    lr: () => number = () => spec.optimizer.lr,
  ) {
    this.schedule = new LrSchedule(lr, spec.schedule);
    this.early = spec.earlyStopping;
    if (this.early) this.es = { best: Infinity, bestEpoch: 0, bad: 0, stopped: false };
    if (this.early && (this.early.restoreBest ?? true)) this.best = be.buffer(n, 'early stopping: best parameters');
  }

  /**
   * What a run of `steps` steps, `perEpoch` a epoch, cannot do with its controls (a patience longer
   * than the run, a run shorter than an epoch; restoreBest in a run cut short of the spec's
   * `specSteps`): said before training, since nothing fails — the held-out loss is watched after
   * each whole epoch only.
   */
  notices(steps: number, perEpoch: number, specSteps = steps): string[] {
    const epochs = Math.floor(steps / perEpoch),
      out: string[] = [],
      run = `the run's ${steps} steps make ${epochs} whole epochs of ${perEpoch} steps`;
    if (this.best && steps < specSteps) {
      out.push(
        `earlyStopping.restoreBest: this run stops at step ${steps} of the spec's ${specSteps} and keeps its last parameters, so that a resumed run continues it; the best epoch's are put back where the spec's run ends`,
      );
    }
    const plateau = this.schedule.spec?.type === 'plateau' ? this.schedule.spec : undefined;
    if (epochs === 0 && (plateau || this.early)) {
      out.push(`${this.early ? 'earlyStopping' : 'schedule'}: ${run}: the held-out loss, watched after each whole epoch, is never seen`);
      return out;
    }
    // the first epoch is always the best so far; then patience epochs without an improvement stop the run,
    // patience + 1 lower the plateau's rate
    if (this.early && this.early.patience + 1 > epochs) {
      out.push(
        `earlyStopping.patience ${this.early.patience}: ${run}; it stops after the best epoch and ${this.early.patience} more without an improvement, so this run will not stop early${(this.early.restoreBest ?? true) ? " (it still ends with the best epoch's parameters)" : ''}`,
      );
    }
    if (plateau && plateau.patience + 2 > epochs) {
      out.push(
        `schedule.patience ${plateau.patience}: ${run}; the plateau lowers the rate after the best epoch and ${plateau.patience + 1} more without an improvement, so it will not lower this run's rate`,
      );
    }
    return out;
  }

  /** Whether the controls watch the held-out loss after each epoch. */
  get needsEvaluation(): boolean {
    return this.schedule.spec?.type === 'plateau' || !!this.early;
  }
  get stopped(): boolean {
    return this.es?.stopped ?? false;
  }

  lrAt(t: number): number {
    return this.schedule.lrAt(t);
  }

  /** Records the rate of step t (0-based), the next one. */
  recordStep(t: number): void {
    if (t !== this.lrs.length) throw new Error(`controls: step ${t} recorded after ${this.lrs.length} steps`);
    this.lrs.push([this.lrAt(t)]);
  }

  /** After epoch `epoch` (1-based) and its held-out evaluation: the plateau schedule and early stopping see its loss. */
  endOfEpoch(epoch: number, ev?: { loss: number; accuracy?: number }): void {
    if (!ev) return;
    this.evaluations.push(ev.accuracy === undefined ? { epoch, loss: ev.loss } : { epoch, loss: ev.loss, accuracy: ev.accuracy });
    this.schedule.onEpoch(ev.loss);
    const es = this.es,
      early = this.early;
    if (!es || !early) return;
    if (ev.loss < es.best - (early.minDelta ?? 0)) {
      Object.assign(es, { best: ev.loss, bestEpoch: epoch, bad: 0 });
      if (this.best) {
        this.be.copy(this.params, 0, this.best, 0, this.n);
        this.hasBest = true;
      }
    } else if (++es.bad >= early.patience) {
      es.stopped = true;
      es.stoppedEpoch = epoch;
    }
  }

  /** At the end of a run (stopped early or all steps done): restoreBest puts the best epoch's parameters back. */
  finish(): void {
    if (this.best && this.hasBest && !this.restored) {
      this.be.copy(this.best, 0, this.params, 0, this.n);
      this.be.submit();
      this.restored = true;
    }
  }

  result(): EarlyStoppingResult | undefined {
    const es = this.es;
    if (!es || es.bestEpoch === 0) return undefined;
    return { stoppedEpoch: es.stoppedEpoch, bestEpoch: es.bestEpoch, bestLoss: es.best, restored: this.restored };
  }

  /** Per epoch begun: its mean training loss (from `losses`, every step's), held-out loss and accuracy where evaluated, and its last step's rate. */
  history(losses: ArrayLike<number>, batchesPerEpoch: number): EpochRecord[] {
    const lrs = this.lrs.values(),
      steps = Math.min(losses.length, lrs.length),
      out: EpochRecord[] = [];
    const evals = new Map(this.evaluations.map((e) => [e.epoch, e]));
    for (let e = 0; e * batchesPerEpoch < steps; e++) {
      const from = e * batchesPerEpoch,
        to = Math.min(steps, from + batchesPerEpoch);
      let sum = 0;
      for (let i = from; i < to; i++) sum += losses[i];
      const r: EpochRecord = { epoch: e + 1, loss: sum / (to - from), lr: lrs[to - 1] };
      const ev = evals.get(e + 1);
      if (ev) {
        r.testLoss = ev.loss;
        if (ev.accuracy !== undefined) r.testAccuracy = ev.accuracy;
      }
      out.push(r);
    }
    return out;
  }

  async snapshot(): Promise<ControlState> {
    const s: ControlState = { lrs: this.lrs.values(), evaluations: this.evaluations.map((e) => ({ ...e })) };
    if (this.schedule.plateau) s.plateau = { ...this.schedule.plateau };
    if (this.es) s.earlyStopping = { ...this.es };
    if (this.best && this.hasBest) s.bestParams = await this.be.read(this.best, 0, this.n);
    return s;
  }

  restore(s: ControlState): void {
    this.lrs.reset(s.lrs);
    this.evaluations = s.evaluations.map((e) => ({ ...e }));
    if (this.schedule.plateau && s.plateau) Object.assign(this.schedule.plateau, s.plateau);
    if (this.es && s.earlyStopping) Object.assign(this.es, s.earlyStopping);
    if (this.best && s.bestParams) {
      if (s.bestParams.length !== this.n) throw new Error(`restore: the best parameters hold ${s.bestParams.length} values; the model has ${this.n}`);
      this.be.write(this.best, s.bestParams);
      this.hasBest = true;
    }
  }

  dispose(): void {
    if (this.best) this.be.free(this.best);
  }
}
