// Validation of the training controls (README.md "Training controls"): the optimizer's
// weightDecay, nesterov, clipNorm and clipValue, and the top-level schedule and earlyStopping.
// Each refusal names the JSON path and what was expected (SpecError → exit 2).
import { ADAMW_WEIGHT_DECAY } from '../optim/optimizer.js';
import { fail, int, knownKeys, num, obj, oneOf, optional } from './check.js';
import type { DataSpec, EarlyStoppingSpec, OptimizerSpec, OptimizerType, ScheduleSpec } from './types.js';

/** The controls every optimizer takes, besides its own fields. */
export const OPTIMIZER_CONTROLS = ['weightDecay', 'clipNorm', 'clipValue'] as const;

const positive = (path: string, v: unknown): number => (num(path, v) > 0 ? (v as number) : fail(path, 'a finite number > 0', v));
const nonNegative = (path: string, v: unknown): number => (num(path, v) >= 0 ? (v as number) : fail(path, 'a finite number ≥ 0', v));
const bool = (path: string, v: unknown): boolean => (typeof v === 'boolean' ? v : fail(path, 'true or false', v));

/** optimizer.weightDecay, nesterov (momentum only: the caller's knownKeys refuses it elsewhere), clipNorm, clipValue. */
export function validateOptimizerControls(
  o: Record<string, unknown>,
  type: OptimizerType,
): Pick<OptimizerSpec, 'weightDecay' | 'nesterov' | 'clipNorm' | 'clipValue'> {
  const weightDecay = optional(o, 'weightDecay', (v) => nonNegative('optimizer.weightDecay', v));
  const nesterov = optional(o, 'nesterov', (v) => bool('optimizer.nesterov', v));
  if (nesterov && type === 'momentum' && o.momentum === 0)
    fail('optimizer.nesterov', 'a momentum > 0 beside it (Nesterov momentum needs one, as torch.optim.SGD says)');
  // p·(1 − lr·λ) is AdamW's decay, and plain SGD's through the gradient: at lr·λ ≥ 1 every step
  // zeroes the parameters or flips their sign (λ and lr swapped, or a decay of 1 meant as 1e-?)
  const lr = o.lr as number,
    decays = type === 'adamw' || type === 'sgd';
  const wd = weightDecay ?? (type === 'adamw' ? ADAMW_WEIGHT_DECAY : 0);
  // only the base rate is known here: a step or exponential schedule with gamma > 1 can raise the
  // rate past it within the run, which is not checked (README, "Training controls")
  if (decays && lr * wd >= 1)
    fail(
      'optimizer.weightDecay',
      `lr·weightDecay < 1 with lr the base rate, optimizer.lr (each step multiplies the parameters by 1 − lr·weightDecay = ${1 - lr * wd}, as torch.optim.${type === 'adamw' ? 'AdamW' : 'SGD'} does)`,
      wd,
    );
  const clipNorm = optional(o, 'clipNorm', (v) => positive('optimizer.clipNorm', v));
  const clipValue = optional(o, 'clipValue', (v) => positive('optimizer.clipValue', v));
  if (clipNorm !== undefined && clipValue !== undefined) fail('optimizer.clipValue', 'clipNorm or clipValue, not both');
  return { weightDecay, nesterov, clipNorm, clipValue };
}

/** Whether the spec's data has a held-out set, which plateau and earlyStopping watch: MNIST always; other data with its `test`. */
export function hasHeldOut(d: DataSpec): boolean {
  return 'dataset' in d || (d as { test?: unknown }).test !== undefined;
}
const noHeldOut = 'a held-out set to watch (data.test of CSV or text data, or MNIST data); this data has none';

// What a PyTorch or Keras user writes for a control, and Miya's name for it (refusals say so).
const miyas = (name: string) => `is PyTorch's or Keras's name; Miya's is ${name}`;
/** PyTorch's scheduler classes (and Keras's) → Miya's schedule.type. */
const SCHEDULER_CLASSES: Record<string, ScheduleSpec['type']> = {
  steplr: 'step',
  exponentiallr: 'exponential',
  exponentialdecay: 'exponential',
  cosineannealinglr: 'cosine',
  cosinedecay: 'cosine',
  reducelronplateau: 'plateau',
};
const SCHEDULE_ALIASES: Record<string, string> = {
  step_size: miyas('"every" (schedule.type "step")'),
  T_max: miyas('"steps" (schedule.type "cosine")'),
  eta_min: miyas('"min" (schedule.type "cosine", a rate)'),
  decay_rate: miyas('"gamma"'),
  decay_steps: miyas('"every" (schedule.type "step") or "steps" (schedule.type "cosine")'),
  alpha: 'is Keras\'s fraction of the rate; Miya\'s "min" (schedule.type "cosine") is the rate itself',
  warmup_steps: miyas('"warmup"'),
  threshold: miyas('"minDelta" (an absolute threshold)'),
  min_delta: miyas('"minDelta"'),
  cooldown: "is not supported: the plateau schedule has no cooldown (PyTorch's cooldown 0)",
  min_lr: "is not supported: the plateau schedule lowers the rate without a floor (PyTorch's min_lr 0)",
  mode: 'is not supported: the plateau schedule watches the held-out loss, lower is better (PyTorch\'s mode "min")',
  last_epoch: 'is not supported: a run continues its schedule from a checkpoint (miya train --resume)',
};
const EARLY_STOPPING_ALIASES: Record<string, string> = {
  restore_best_weights: miyas('"restoreBest"'),
  min_delta: miyas('"minDelta"'),
  monitor: 'is not supported: earlyStopping watches the held-out loss (Keras\'s "val_loss")',
  mode: 'is not supported: earlyStopping watches the held-out loss, lower is better (Keras\'s mode "min")',
  baseline: 'is not supported',
  start_from_epoch: 'is not supported: earlyStopping watches from the first epoch',
};
/** For validate.ts's refusal of an optimizer field: where a control a user put in the optimizer belongs. */
export const OPTIMIZER_ALIASES: Record<string, string> = {
  max_norm: miyas('"clipNorm"'),
  clip_value: miyas('"clipValue"'),
  global_clipnorm: miyas('"clipNorm"'),
  schedule: 'belongs at the top level of the spec, beside optimizer',
  lr_scheduler: 'is PyTorch\'s name; Miya\'s "schedule" sits at the top level of the spec, beside optimizer',
  earlyStopping: 'belongs at the top level of the spec, beside optimizer',
  warmup: 'belongs in schedule (the top-level "schedule": {"type": …, "warmup": W})',
};

const SCHEDULE_FIELDS: Record<ScheduleSpec['type'], string[]> = {
  step: ['every', 'gamma'],
  exponential: ['gamma'],
  cosine: ['steps', 'min'],
  plateau: ['factor', 'patience', 'minDelta'],
};
const SCHEDULE_TYPES = Object.keys(SCHEDULE_FIELDS) as ScheduleSpec['type'][];

/** `lr`: the optimizer's rate (when valid), which a cosine schedule's min may not exceed. */
export function validateSchedule(v: unknown, data: DataSpec, lr?: number): ScheduleSpec {
  // "schedule": "cosine", as a name alone: the object it stands for, with the fields it needs
  if (typeof v === 'string' && (SCHEDULE_TYPES as string[]).includes(v)) {
    fail('schedule', `an object: {"type": "${v}", ${SCHEDULE_FIELDS[v as ScheduleSpec['type']].map((f) => `"${f}": …`).join(', ')}}`, v);
  }
  const s = obj('schedule', v);
  const kinds = SCHEDULE_TYPES.map((t) => `"${t}"`).join(', ');
  // warmup alone (a constant rate after it) is a schedule that does not decay
  if (s.type === undefined) fail('schedule.type', `one of ${kinds} (a warmup alone: {"type": "exponential", "gamma": 1, "warmup": W})`, s.type);
  const cls = typeof s.type === 'string' ? SCHEDULER_CLASSES[s.type.toLowerCase()] : undefined;
  if (cls) fail('schedule.type', `one of ${kinds}; "${cls}" is ${s.type}`, s.type);
  const type = oneOf('schedule.type', s.type, SCHEDULE_TYPES);
  const others = Object.fromEntries(
    SCHEDULE_TYPES.flatMap((t) => SCHEDULE_FIELDS[t])
      .filter((f) => !SCHEDULE_FIELDS[type].includes(f))
      .map((f) => [
        f,
        `is for schedule.type ${SCHEDULE_TYPES.filter((t) => SCHEDULE_FIELDS[t].includes(f))
          .map((t) => `"${t}"`)
          .join(' or ')}`,
      ]),
  );
  knownKeys('schedule', s, ['type', ...SCHEDULE_FIELDS[type], 'warmup'], `the ${type} schedule`, { ...SCHEDULE_ALIASES, ...others });
  const warmup = optional(s, 'warmup', (x) => int('schedule.warmup', x, 1));
  const need = (k: string) => (s[k] === undefined ? fail(`schedule.${k}`, `required by the ${type} schedule`) : s[k]);
  /** what a decay multiplies by (> 1 grows, as PyTorch allows) */
  const factor = (k: string) => positive(`schedule.${k}`, need(k));
  switch (type) {
    case 'step':
      return { type, every: int('schedule.every', need('every'), 1), gamma: factor('gamma'), warmup };
    case 'exponential':
      return { type, gamma: factor('gamma'), warmup };
    case 'cosine': {
      const steps = int('schedule.steps', need('steps'), 1),
        min = optional(s, 'min', (x) => nonNegative('schedule.min', x));
      // a min above the rate would raise it: Keras's alpha (a fraction of the rate) written as min, most likely
      if (min !== undefined && lr !== undefined && min > lr)
        fail('schedule.min', `a rate ≤ optimizer.lr (${lr}), the rate the cosine decays from (min is a rate, not a fraction of lr as Keras's alpha)`, min);
      return { type, steps, min, warmup };
    }
    case 'plateau': {
      const f = num('schedule.factor', need('factor'));
      if (!(f > 0 && f < 1)) fail('schedule.factor', 'a number in (0, 1)', f);
      const patience = int('schedule.patience', need('patience'), 1);
      const minDelta = optional(s, 'minDelta', (x) => nonNegative('schedule.minDelta', x));
      if (!hasHeldOut(data)) fail('schedule', `the plateau schedule needs ${noHeldOut}`);
      return { type, factor: f, patience, minDelta, warmup };
    }
  }
}

export function validateEarlyStopping(v: unknown, data: DataSpec): EarlyStoppingSpec {
  if (v === true)
    fail('earlyStopping', 'an object: {"patience": P} (the epochs without improvement to stop after), with minDelta and restoreBest if wanted', v);
  const e = obj('earlyStopping', v);
  knownKeys('earlyStopping', e, ['patience', 'minDelta', 'restoreBest'], 'earlyStopping', EARLY_STOPPING_ALIASES);
  if (e.patience === undefined) fail('earlyStopping.patience', 'required: the epochs without improvement to stop after');
  const patience = int('earlyStopping.patience', e.patience, 1);
  const minDelta = optional(e, 'minDelta', (x) => nonNegative('earlyStopping.minDelta', x));
  const restoreBest = optional(e, 'restoreBest', (x) => bool('earlyStopping.restoreBest', x));
  if (!hasHeldOut(data)) fail('earlyStopping', `needs ${noHeldOut}`);
  return { patience, minDelta, restoreBest };
}

/** The top-level controls of a validated spec's raw object `s`. */
export function validateRunControls(s: Record<string, unknown>, data: DataSpec): { schedule?: ScheduleSpec; earlyStopping?: EarlyStoppingSpec } {
  return {
    schedule: optional(s, 'schedule', (v) => validateSchedule(v, data, (s.optimizer as { lr?: number } | undefined)?.lr)),
    earlyStopping: optional(s, 'earlyStopping', (v) => validateEarlyStopping(v, data)),
  };
}
