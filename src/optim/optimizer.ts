// Optimizers: hyper-parameters with their defaults, the state they keep, and one `update`
// kernel call per step over all parameters at once. The update rules are in
// shaders/optimizers.wgsl and cpu/kernels.ts (`update`); README.md ("The run spec") states them.
import type { Backend } from '../backend.js';
import type { OptKind, UpdateParams } from '../kernels.js';
import type { OptimizerSpec } from '../spec/types.js';

export interface OptimizerConfig { type: OptKind; lr: number; momentum: number; rho: number; eps: number; epsInsideSqrt: boolean; beta1: number; beta2: number }

/** Defaults: PyTorch's for momentum (0.9 typical) and Adam; TensorFlow.js's rho 0.9 for RMSprop. */
export function optimizerConfig(s: OptimizerSpec): OptimizerConfig {
  return {
    type: s.type, lr: s.lr, momentum: s.momentum ?? 0.9, rho: s.rho ?? 0.9,
    eps: s.eps ?? 1e-8, epsInsideSqrt: s.epsInsideSqrt ?? true,
    beta1: s.beta1 ?? 0.9, beta2: s.beta2 ?? 0.999,
  };
}

/** Names of the state tensors each optimizer keeps per parameter. */
export function stateNames(type: OptKind): string[] {
  return type === 'momentum' ? ['velocity'] : type === 'rmsprop' ? ['square_avg'] : type === 'adam' ? ['exp_avg', 'exp_avg_sq'] : [];
}

export class Optimizer<B> {
  readonly state: B[];
  /** Steps taken so far (Adam's t before the next step). */
  t = 0;
  constructor(private be: Backend<B>, readonly config: OptimizerConfig, readonly n: number) {
    this.state = stateNames(config.type).map((name) => be.buffer(n, `optimizer.${name}`));
  }

  params(): UpdateParams {
    const c = this.config, t = this.t + 1;
    const h1 = c.type === 'momentum' ? c.momentum : c.type === 'rmsprop' ? c.rho : c.beta1;
    return {
      n: this.n, opt: c.type, epsInside: c.epsInsideSqrt, lr: c.lr, h1, h2: c.beta2, eps: c.eps,
      bc1: c.type === 'adam' ? 1 - Math.pow(c.beta1, t) : 1, bc2: c.type === 'adam' ? 1 - Math.pow(c.beta2, t) : 1,
    };
  }

  step(params: B, grads: B): void {
    this.be.run('update', this.params(), { P: params, G: grads, S1: this.state[0], S2: this.state[1] });
    this.t++;
  }

  dispose(): void { for (const s of this.state) this.be.free(s); }
}
