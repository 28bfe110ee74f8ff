// Optimizers: hyper-parameters with their defaults, the state they keep, and one `update` kernel
// call per step over all parameters at once (after the two passes of the global gradient norm when
// clipNorm asks for it, recorded in the same submission: the norm never comes back to the host).
// The update rules are in shaders/optimizers.wgsl and cpu/kernels.ts (`update`); README.md ("The
// run spec", "Training controls") states them. The learning rate of each step comes from `lrOf`
// (a schedule, src/optim/schedule.ts), computed on the host from the step number.
import type { Backend } from '../backend.js';
import type { OptKind, UpdateParams } from '../kernels.js';
import type { OptimizerSpec, OptimizerType } from '../spec/types.js';

export interface OptimizerConfig {
  type: OptimizerType;
  lr: number;
  momentum: number;
  rho: number;
  eps: number;
  epsInsideSqrt: boolean;
  beta1: number;
  beta2: number;
  /** L2 added to the gradient (AdamW: decoupled); 0 for none */
  weightDecay: number;
  nesterov: boolean;
  clipNorm?: number;
  clipValue?: number;
}

/** AdamW's default weight decay, torch.optim.AdamW's. */
export const ADAMW_WEIGHT_DECAY = 0.01;

/** Defaults: PyTorch's for momentum (0.9 typical), Adam and AdamW; TensorFlow.js's rho 0.9 for RMSprop. */
export function optimizerConfig(s: OptimizerSpec): OptimizerConfig {
  return {
    type: s.type,
    lr: s.lr,
    momentum: s.momentum ?? 0.9,
    rho: s.rho ?? 0.9,
    eps: s.eps ?? 1e-8,
    epsInsideSqrt: s.epsInsideSqrt ?? true,
    beta1: s.beta1 ?? 0.9,
    beta2: s.beta2 ?? 0.999,
    weightDecay: s.weightDecay ?? (s.type === 'adamw' ? ADAMW_WEIGHT_DECAY : 0),
    nesterov: s.nesterov ?? false,
    clipNorm: s.clipNorm,
    clipValue: s.clipValue,
  };
}

/** The update kernel's rule for an optimizer type (AdamW is Adam's with decoupled decay). */
export const kernelOpt = (type: OptimizerType): OptKind => (type === 'adamw' ? 'adam' : type);

/** Names of the state tensors each optimizer keeps per parameter. */
export function stateNames(type: OptimizerType): string[] {
  const k = kernelOpt(type);
  return k === 'momentum' ? ['velocity'] : k === 'rmsprop' ? ['square_avg'] : k === 'adam' ? ['exp_avg', 'exp_avg_sq'] : [];
}

/** Workgroups of the norm's first pass: one per 4096 gradients, 1 to 256 (the second pass's lanes). */
export const normParts = (n: number): number => Math.max(1, Math.min(256, Math.ceil(n / 4096)));

export class Optimizer<B> {
  readonly state: B[];
  /** Steps taken so far (Adam's t before the next step). */
  t = 0;
  /** The learning rate of step t (0-based); the spec's lr unless a schedule is set. */
  lrOf: (t: number) => number;
  /** The norm's partial sums, then ‖G‖² at index `parts` (clipNorm only). */
  private norm?: B;
  private parts: number;

  constructor(
    private be: Backend<B>,
    readonly config: OptimizerConfig,
    readonly n: number,
  ) {
    this.state = stateNames(config.type).map((name) => be.buffer(n, `optimizer.${name}`));
    this.lrOf = () => config.lr;
    this.parts = normParts(n);
    if (config.clipNorm !== undefined) this.norm = be.buffer(this.parts + 1, 'gradient norm');
  }

  /** The update kernel's parameters for the next step (t + 1 in Adam's bias corrections). */
  params(): UpdateParams {
    const c = this.config,
      t = this.t + 1,
      opt = kernelOpt(c.type);
    const h1 = opt === 'momentum' ? c.momentum : opt === 'rmsprop' ? c.rho : c.beta1;
    const p: UpdateParams = {
      n: this.n,
      opt,
      epsInside: c.epsInsideSqrt,
      lr: this.lrOf(this.t),
      h1,
      h2: c.beta2,
      eps: c.eps,
      bc1: opt === 'adam' ? 1 - Math.pow(c.beta1, t) : 1,
      bc2: opt === 'adam' ? 1 - Math.pow(c.beta2, t) : 1,
    };
    if (c.weightDecay !== 0) {
      p.wd = c.weightDecay;
      p.decoupled = c.type === 'adamw';
    }
    if (c.nesterov) p.nesterov = true;
    if (c.clipNorm !== undefined) Object.assign(p, { clipMode: 'norm', clip: c.clipNorm, offNorm: this.parts });
    else if (c.clipValue !== undefined) Object.assign(p, { clipMode: 'value', clip: c.clipValue });
    return p;
  }

  /** The norm's kernels' parameters (clipNorm): parts partial sums, their total after them. */
  normParams() {
    return { n: this.n, parts: this.parts, offPart: 0, offOut: this.parts };
  }

  /** ‖G‖² of the latest step as the device's grad_norm kernels summed it (clipNorm only; `explain` shows it). */
  async readNormSquared(): Promise<number | undefined> {
    return this.norm && (await this.be.read(this.norm, this.parts, 1))[0];
  }

  step(params: B, grads: B): void {
    if (this.norm) {
      this.be.run('grad_norm_partial', this.normParams(), { G: grads, Part: this.norm });
      this.be.run('grad_norm_total', this.normParams(), { Part: this.norm });
    }
    this.be.run('update', this.params(), { P: params, G: grads, S1: this.state[0], S2: this.state[1], Norm: this.norm });
    this.t++;
  }

  dispose(): void {
    for (const s of this.state) this.be.free(s);
    if (this.norm) this.be.free(this.norm);
  }
}
