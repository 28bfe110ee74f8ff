// Validation of the training controls (README.md "Training controls"): the optimizer's
// weightDecay, nesterov, clipNorm and clipValue, and the top-level schedule and earlyStopping.
// Each refusal names the JSON path and what was expected (SpecError → exit 2).
import { fail, int, knownKeys, num, obj, oneOf, optional } from './check.js';
import type { DataSpec, EarlyStoppingSpec, OptimizerSpec, OptimizerType, ScheduleSpec } from './types.js';

/** The controls every optimizer takes, besides its own fields. */
export const OPTIMIZER_CONTROLS = ['weightDecay', 'clipNorm', 'clipValue'] as const;

const positive = (path: string, v: unknown): number => (num(path, v) > 0 ? (v as number) : fail(path, 'a finite number > 0', v));
const nonNegative = (path: string, v: unknown): number => (num(path, v) >= 0 ? (v as number) : fail(path, 'a finite number ≥ 0', v));
const bool = (path: string, v: unknown): boolean => (typeof v === 'boolean' ? v : fail(path, 'true or false', v));

/** optimizer.weightDecay, nesterov (momentum only: the caller's knownKeys refuses it elsewhere), clipNorm, clipValue. */
export function validateOptimizerControls(o: Record<string, unknown>, type: OptimizerType): Pick<OptimizerSpec, 'weightDecay' | 'nesterov' | 'clipNorm' | 'clipValue'> {
  const weightDecay = optional(o, 'weightDecay', (v) => nonNegative('optimizer.weightDecay', v));
  const nesterov = optional(o, 'nesterov', (v) => bool('optimizer.nesterov', v));
  if (nesterov && type === 'momentum' && o.momentum === 0) fail('optimizer.nesterov', 'a momentum > 0 beside it (Nesterov momentum needs one, as torch.optim.SGD says)');
  const clipNorm = optional(o, 'clipNorm', (v) => positive('optimizer.clipNorm', v));
  const clipValue = optional(o, 'clipValue', (v) => positive('optimizer.clipValue', v));
  if (clipNorm !== undefined && clipValue !== undefined) fail('optimizer.clipValue', 'clipNorm or clipValue, not both');
  return { weightDecay, nesterov, clipNorm, clipValue };
}

/** Whether the spec's data has a held-out set, which plateau and earlyStopping watch: MNIST always; other data with its `test`. */
export function hasHeldOut(d: DataSpec): boolean {
  return 'dataset' in d || (d as { test?: unknown }).test !== undefined;
}
const noHeldOut = 'a held-out set to watch (data.test of CSV data, or MNIST data); this data has none';

const SCHEDULE_FIELDS: Record<ScheduleSpec['type'], string[]> = {
  step: ['every', 'gamma'], exponential: ['gamma'], cosine: ['steps', 'min'], plateau: ['factor', 'patience', 'minDelta'],
};
const SCHEDULE_TYPES = Object.keys(SCHEDULE_FIELDS) as ScheduleSpec['type'][];

export function validateSchedule(v: unknown, data: DataSpec): ScheduleSpec {
  const s = obj('schedule', v);
  const type = oneOf('schedule.type', s.type, SCHEDULE_TYPES);
  const others = Object.fromEntries(SCHEDULE_TYPES.flatMap((t) => SCHEDULE_FIELDS[t]).filter((f) => !SCHEDULE_FIELDS[type].includes(f))
    .map((f) => [f, `is for schedule.type ${SCHEDULE_TYPES.filter((t) => SCHEDULE_FIELDS[t].includes(f)).map((t) => `"${t}"`).join(' or ')}`]));
  knownKeys('schedule', s, ['type', ...SCHEDULE_FIELDS[type], 'warmup'], `the ${type} schedule`, others);
  const warmup = optional(s, 'warmup', (x) => int('schedule.warmup', x, 1));
  const need = (k: string) => (s[k] === undefined ? fail(`schedule.${k}`, `required by the ${type} schedule`) : s[k]);
  /** what a decay multiplies by (> 1 grows, as PyTorch allows) */
  const factor = (k: string) => positive(`schedule.${k}`, need(k));
  switch (type) {
    case 'step': return { type, every: int('schedule.every', need('every'), 1), gamma: factor('gamma'), warmup };
    case 'exponential': return { type, gamma: factor('gamma'), warmup };
    case 'cosine': return { type, steps: int('schedule.steps', need('steps'), 1), min: optional(s, 'min', (x) => nonNegative('schedule.min', x)), warmup };
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
  const e = obj('earlyStopping', v);
  knownKeys('earlyStopping', e, ['patience', 'minDelta', 'restoreBest'], 'earlyStopping');
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
    schedule: optional(s, 'schedule', (v) => validateSchedule(v, data)),
    earlyStopping: optional(s, 'earlyStopping', (v) => validateEarlyStopping(v, data)),
  };
}
