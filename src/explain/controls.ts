// The training controls in `miya explain` (README.md "Training controls"): the step's learning
// rate from its schedule and warmup; the global gradient norm (with clipNorm, as each backend's
// grad_norm kernels summed it, read back from the optimizer's norm buffer); the clipping factor or
// the clamped gradients; and the update's arithmetic (weight decay as L2 or AdamW's decoupled
// decay, Nesterov) written out for the first parameter, from the reference's own numbers.
import type { Backend } from '../backend.js';
import { loadDataset } from '../data/load.js';
import { optimizerConfig, type OptimizerConfig } from '../optim/optimizer.js';
import { LrSchedule } from '../optim/schedule.js';
import type { RunSpec, ScheduleSpec } from '../spec/types.js';
import { Session } from '../train/session.js';
import { type StepTrace, traceStep } from '../verify/trace.js';
import { fmt } from './format.js';

/** A step traced for explain, and ‖G‖² as the backend's grad_norm kernels summed it (clipNorm only). */
export interface ExplainTrace {
  trace: StepTrace;
  normSquared?: number;
}

/** The rate of the step explain tells (the run's first, t = 0): the schedule's, warmup included. */
export const firstRate = (spec: RunSpec): number => new LrSchedule(spec.optimizer.lr, spec.schedule).lrAt(0);

/**
 * The one step `explain` tells, on a backend. A trace runs at its spec's lr, so it is given the
 * schedule's rate for step 1; with clipNorm the step is run once more in a session of its own to
 * read the device's ‖G‖² (the norm never leaves the device in training, so the trace does not keep it).
 */
export async function traceForExplain<B>(be: Backend<B>, spec: RunSpec): Promise<ExplainTrace> {
  const trace = await traceStep(be, { ...spec, optimizer: { ...spec.optimizer, lr: firstRate(spec) } });
  if (spec.optimizer.clipNorm === undefined) return { trace };
  const data = (await loadDataset(spec)).train;
  const s = new Session(
    be,
    {
      model: spec.model,
      loss: spec.loss,
      optimizer: spec.optimizer,
      batchSize: spec.batchSize ?? data.n,
      seed: spec.seed ?? 0,
      historySize: 1,
    },
    data,
  );
  try {
    s.step(s.batches.at(0), 0);
    return { trace, normSquared: await s.opt.readNormSquared() };
  } finally {
    s.dispose();
  }
}

/** Whether the spec uses any training control, which the story then tells. */
export function hasControls(spec: RunSpec): boolean {
  const o = spec.optimizer;
  return !!spec.schedule || o.type === 'adamw' || o.weightDecay !== undefined || !!o.nesterov || o.clipNorm !== undefined || o.clipValue !== undefined;
}

/** A schedule's formula, lr_t = …, in the README's words. */
function scheduleFormula(s: ScheduleSpec, lr: number): string {
  const warm = s.warmup === undefined ? '' : `·min(1, (t + 1)/${s.warmup})`;
  switch (s.type) {
    case 'step':
      return `${fmt(lr)}·${fmt(s.gamma)}^⌊t/${s.every}⌋${warm}   (StepLR)`;
    case 'exponential':
      return `${fmt(lr)}·${fmt(s.gamma)}^t${warm}   (ExponentialLR)`;
    case 'cosine': {
      const m = s.min ?? 0,
        cos = `(1 + cos(π·min(t, ${s.steps})/${s.steps}))/2`;
      return `${m === 0 ? `${fmt(lr)}·${cos}` : `${fmt(m)} + (${fmt(lr)} − ${fmt(m)})·${cos}`}${warm}   (CosineAnnealingLR, held at ${fmt(m)} after step ${s.steps})`;
    }
    case 'plateau':
      return `${fmt(lr)}·${fmt(s.factor)}^k${warm}, k the reductions so far (ReduceLROnPlateau: k grows after ${s.patience + 1} epochs without a held-out loss lower by more than ${fmt(s.minDelta ?? 0)}; k = 0 at step 1)`;
  }
}

/** The update rule in words and symbols, with the step's rate. */
export function updateFormula(spec: RunSpec, lr = firstRate(spec)): string {
  const c = optimizerConfig(spec.optimizer),
    rate = `lr = ${lr === c.lr ? c.lr : fmt(lr)}`;
  const l2 = c.weightDecay !== 0 && c.type !== 'adamw' ? `g ← g + λ·p (weight decay as L2, PyTorch's weight_decay, λ = ${c.weightDecay}); ` : '';
  switch (c.type) {
    case 'sgd':
      return `sgd: ${l2}p ← p − lr·g, ${rate}`;
    case 'momentum':
      return c.nesterov
        ? `momentum, Nesterov (SGD(nesterov=True)): ${l2}v ← μ·v + g; p ← p − lr·(g + μ·v), ${rate}, μ = ${c.momentum}`
        : `momentum: ${l2}v ← μ·v + g; p ← p − lr·v, ${rate}, μ = ${c.momentum}`;
    case 'rmsprop':
      return `rmsprop: ${l2}s ← ρ·s + (1 − ρ)·g²; p ← p − lr·g / ${c.epsInsideSqrt ? '√(s + ε)' : '(√s + ε)'}, ${rate}, ρ = ${c.rho}, ε = ${c.eps}`;
    case 'adam':
      return `adam: ${l2}m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; p ← p − lr·(m/(1 − β1^t)) / (√(v/(1 − β2^t)) + ε), ${rate}, β1 = ${c.beta1}, β2 = ${c.beta2}, ε = ${c.eps}`;
    case 'adamw':
      return (
        `AdamW (torch.optim.AdamW): p ← p·(1 − lr·λ), the weight decay decoupled from the gradient${c.weightDecay === 0 ? ' (λ = 0: none)' : ''}; ` +
        `then Adam's step: m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; p ← p − lr·(m/(1 − β1^t)) / (√(v/(1 − β2^t)) + ε), ${rate}, λ = ${c.weightDecay}, β1 = ${c.beta1}, β2 = ${c.beta2}, ε = ${c.eps}`
      );
  }
}

/** Every gradient of a trace, parameter by parameter (the `.grad` tensors). */
function gradients(t: StepTrace): Float64Array[] {
  return [...t.before.keys()].map((name) => t.backward.get(`${name}.grad`)!).filter((g) => g !== undefined);
}

/** ‖G‖² summed here in float64, parameter by parameter in order. */
function normSquaredOf(t: StepTrace): number {
  let s = 0;
  for (const g of gradients(t)) for (const v of g) s += v * v;
  return s;
}

/** clip_grad_norm_'s factor: min(1, c/(‖g‖ + 1e-6)). */
export const clipFactor = (clipNorm: number, norm: number): number => Math.min(1, clipNorm / (norm + 1e-6));

const beside = (dev: StepTrace | undefined, d: number | undefined, r: number, what = fmt) =>
  dev && d !== undefined ? `   ${dev.backend}: ${what(d)}   |difference| = ${Math.abs(d - r).toExponential(1)}` : '';

/**
 * The lines of the update section about the controls: the rate, the norm and clipping, then the
 * first parameter's update worked through (the reference's numbers; the state before step 1 is 0).
 */
export function tellControls(spec: RunSpec, ref: StepTrace, dev?: StepTrace, norms: { ref?: number; dev?: number } = {}): string[] {
  const out: string[] = [],
    say = (s: string) => out.push(s);
  const c = optimizerConfig(spec.optimizer),
    lr = firstRate(spec),
    s = spec.schedule;
  if (s) {
    const sched = new LrSchedule(c.lr, s);
    say(`  learning rate: the ${s.type} schedule${s.warmup === undefined ? '' : ` with warmup ${s.warmup}`}, lr_t = ${scheduleFormula(s, c.lr)}`);
    say(
      `    step 1 (t = 0): lr = ${fmt(lr)}${s.warmup !== undefined && s.warmup > 1 ? ` (warmup: ${fmt(c.lr)}·1/${s.warmup})` : ''}; the next steps: ${[1, 2, 3, 4, 5].map((t) => `${fmt(sched.lrAt(t))}`).join(', ')}, …${s.type === 'plateau' ? ' (until a plateau lowers it)' : ''}`,
    );
  } else {
    say(`  learning rate: ${fmt(lr)} at every step (no schedule)`);
  }
  // the norm: the kernels' (clipNorm), else summed here from each backend's gradients
  const count = gradients(ref).reduce((n, g) => n + g.length, 0);
  const kernels = c.clipNorm !== undefined && norms.ref !== undefined;
  const refNorm = Math.sqrt(kernels ? norms.ref! : normSquaredOf(ref));
  const devNorm = dev && (kernels ? (norms.dev === undefined ? undefined : Math.sqrt(norms.dev)) : Math.sqrt(normSquaredOf(dev)));
  say(
    `  gradient norm: ‖g‖ = √(Σ g²) over all ${count} gradients = ${fmt(refNorm)}${beside(dev, devNorm, refNorm)}` +
      `${kernels ? '   (grad_norm_partial, grad_norm_total: read back here only; training never reads it)' : "   (summed here in float64 from each backend's gradients)"}`,
  );
  let factor = 1;
  if (c.clipNorm !== undefined) {
    factor = clipFactor(c.clipNorm, refNorm);
    const devFactor = devNorm === undefined ? undefined : clipFactor(c.clipNorm, devNorm);
    say(
      `  clipNorm ${fmt(c.clipNorm)} (torch.nn.utils.clip_grad_norm_), before weight decay: factor = min(1, ${fmt(c.clipNorm)}/(‖g‖ + 1e-6)) = ${fmt(factor)}${beside(dev, devFactor, factor)}`,
    );
    say(
      factor < 1
        ? `    ‖g‖ > ${fmt(c.clipNorm)}: every gradient is multiplied by ${fmt(factor)}`
        : `    ‖g‖ ≤ ${fmt(c.clipNorm)}: the gradients are left as they are`,
    );
  } else if (c.clipValue !== undefined) {
    const v = c.clipValue,
      clamped = (t: StepTrace) => gradients(t).reduce((n, g) => n + g.filter((x) => Math.abs(x) > v).length, 0);
    say(
      `  clipValue ${fmt(v)} (torch.nn.utils.clip_grad_value_), before weight decay: each gradient clamped to [−${fmt(v)}, ${fmt(v)}]: ${clamped(ref)} of ${count} clamped` +
        `${dev ? `   ${dev.backend}: ${clamped(dev)} of ${count}` : ''}`,
    );
  }
  const worked = workedUpdate(c, ref, lr, factor);
  if (worked.length > 0) out.push(...worked);
  return out;
}

/** The first parameter with a gradient (an MNIST model's first weights see blank pixels: 0), and its index. */
function firstMoved(ref: StepTrace): { name: string; i: number } | undefined {
  let first: { name: string; i: number } | undefined;
  for (const name of ref.before.keys()) {
    const g = ref.backward.get(`${name}.grad`);
    if (!g) continue;
    first ??= { name, i: 0 };
    const i = g.findIndex((v) => v !== 0);
    if (i >= 0) return { name, i };
  }
  return first;
}

/** One parameter's step with its numbers: g, clipped, decayed, the optimizer's state, the new value. */
function workedUpdate(c: OptimizerConfig, ref: StepTrace, lr: number, factor: number): string[] {
  const at = firstMoved(ref);
  if (!at) return [];
  const { name, i } = at,
    g0 = ref.backward.get(`${name}.grad`)![i],
    p0 = ref.before.get(name)![i],
    el = `${name}[${i}]`;
  const out = [`  the update of ${el}, worked through (state before step 1: 0):`],
    say = (s: string) => out.push(`    ${s}`);
  let g = g0,
    p = p0;
  say(`g = dL/d ${el} = ${fmt(g)}, p = ${fmt(p)}`);
  if (c.clipNorm !== undefined && factor < 1) {
    g *= factor;
    say(`clipped: g·${fmt(factor)} = ${fmt(g)}`);
  }
  if (c.clipValue !== undefined) {
    const cl = Math.min(Math.max(g, -c.clipValue), c.clipValue);
    say(`clamped: clamp(${fmt(g)}, ±${fmt(c.clipValue)}) = ${fmt(cl)}`);
    g = cl;
  }
  if (c.weightDecay !== 0 && c.type === 'adamw') {
    const q = p * (1 - lr * c.weightDecay);
    say(`decoupled decay: p·(1 − lr·λ) = ${fmt(p)}·(1 − ${fmt(lr)}·${fmt(c.weightDecay)}) = ${fmt(q)}   (the gradient untouched)`);
    p = q;
  } else if (c.weightDecay !== 0) {
    const h = g + c.weightDecay * p;
    say(`weight decay (L2): g + λ·p = ${fmt(g)} + ${fmt(c.weightDecay)}·${fmtF(p)} = ${fmt(h)}`);
    g = h;
  }
  let q: number;
  switch (c.type) {
    case 'sgd':
      q = p - lr * g;
      say(`p − lr·g = ${fmt(p)} − ${fmt(lr)}·${fmtF(g)} = ${fmt(q)}`);
      break;
    case 'momentum': {
      const v = g; // μ·0 + g
      say(`v = μ·0 + g = ${fmt(v)}`);
      if (c.nesterov) {
        q = p - lr * (g + c.momentum * v);
        say(`Nesterov: p − lr·(g + μ·v) = ${fmt(p)} − ${fmt(lr)}·(${fmt(g)} + ${fmt(c.momentum)}·${fmtF(v)}) = ${fmt(q)}`);
      } else {
        q = p - lr * v;
        say(`p − lr·v = ${fmt(p)} − ${fmt(lr)}·${fmtF(v)} = ${fmt(q)}`);
      }
      break;
    }
    case 'rmsprop': {
      const s = (1 - c.rho) * g * g;
      q = c.epsInsideSqrt ? p - (lr * g) / Math.sqrt(s + c.eps) : p - (lr * g) / (Math.sqrt(s) + c.eps);
      say(`s = (1 − ρ)·g² = ${fmt(s)}; p − lr·g / ${c.epsInsideSqrt ? '√(s + ε)' : '(√s + ε)'} = ${fmt(q)}`);
      break;
    }
    default: {
      const m = (1 - c.beta1) * g,
        v = (1 - c.beta2) * g * g;
      q = p - (lr * (m / (1 - c.beta1))) / (Math.sqrt(v / (1 - c.beta2)) + c.eps);
      say(`m = (1 − β1)·g = ${fmt(m)}; v = (1 − β2)·g² = ${fmt(v)}; p − lr·(m/(1 − β1)) / (√(v/(1 − β2)) + ε) = ${fmt(q)}`);
    }
  }
  const after = ref.after.get(name)?.[i];
  if (after !== undefined) say(`new ${el} = ${fmt(q)}   (the reference's step: ${fmt(after)})`);
  return out;
}

/** A factor in parentheses when negative. */
const fmtF = (v: number) => (v < 0 ? `(${fmt(v)})` : fmt(v));
