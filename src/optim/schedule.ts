// Learning-rate schedules (README.md "Training controls"), counted in optimizer steps with t = 0
// for the first step, computed on the host before each step is recorded (the rate is a uniform of
// the update kernel, written with the step: nothing is read back for it).
//   step:        lr·γ^⌊t/N⌋                                   (torch.optim.lr_scheduler.StepLR)
//   exponential: lr·γ^t                                       (ExponentialLR)
//   cosine:      m + (lr − m)(1 + cos(π·min(t, N)/N))/2       (CosineAnnealingLR, held at m after N)
//   plateau:     lr·factor^k, k the reductions so far          (ReduceLROnPlateau, mode "min",
//                threshold_mode "abs" with threshold minDelta, cooldown 0, min_lr 0)
//   warmup W:    any of them times min(1, (t + 1)/W)
import type { ScheduleSpec } from '../spec/types.js';

/** What a plateau schedule has learnt from the held-out losses so far (kept in checkpoints). */
export interface PlateauState {
  /** the rate after the reductions so far */
  lr: number;
  /** the lowest held-out loss so far (Infinity before the first) */
  best: number;
  /** epochs since the best without an improvement by more than minDelta */
  bad: number;
}

/** ReduceLROnPlateau's eps: a reduction smaller than this is not made. */
const PLATEAU_EPS = 1e-8;

export class LrSchedule {
  plateau?: PlateauState;
  private baseOf: () => number;
  /** `base`: the spec's lr, or where to read it at each step (an optimizer's config, which a caller may change between steps). */
  constructor(
    base: number | (() => number),
    readonly spec?: ScheduleSpec,
  ) {
    this.baseOf = typeof base === 'number' ? () => base : base;
    if (spec?.type === 'plateau') this.plateau = { lr: this.baseOf(), best: Infinity, bad: 0 };
  }
  get base(): number {
    return this.baseOf();
  }

  /** The learning rate of step t (0-based). */
  lrAt(t: number): number {
    const s = this.spec,
      base = this.base;
    if (!s) return base;
    let lr: number;
    switch (s.type) {
      case 'step':
        lr = base * Math.pow(s.gamma, Math.floor(t / s.every));
        break;
      case 'exponential':
        lr = base * Math.pow(s.gamma, t);
        break;
      case 'cosine': {
        const m = s.min ?? 0;
        lr = m + ((base - m) * (1 + Math.cos((Math.PI * Math.min(t, s.steps)) / s.steps))) / 2;
        break;
      }
      case 'plateau':
        lr = this.plateau!.lr;
        break;
    }
    return s.warmup === undefined ? lr : lr * Math.min(1, (t + 1) / s.warmup);
  }

  /** After an epoch, its held-out loss: a plateau schedule may lower the rate. Returns whether it did. */
  onEpoch(heldOutLoss: number): boolean {
    const s = this.spec,
      p = this.plateau;
    if (s?.type !== 'plateau' || !p) return false;
    if (heldOutLoss < p.best - (s.minDelta ?? 0)) {
      p.best = heldOutLoss;
      p.bad = 0;
    } else {
      p.bad++;
    }
    if (p.bad <= s.patience) return false;
    p.bad = 0;
    const lower = p.lr * s.factor;
    if (p.lr - lower <= PLATEAU_EPS) return false;
    p.lr = lower;
    return true;
  }
}
