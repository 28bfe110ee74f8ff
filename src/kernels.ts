// The kernels both backends implement, described by their parameters. A kernel's CPU function
// (src/cpu/kernels.ts) and its GPU twin (shaders/*.wgsl via src/webgpu/kernels.ts) share the name
// and take the same parameter object and the same named buffers.

export const ACTIVATIONS = ['identity', 'sigmoid', 'tanh', 'relu', 'square', 'softmax'] as const;
export type Act = (typeof ACTIVATIONS)[number];
export const LOSSES = ['mse', 'halfMse', 'crossEntropy'] as const;
export type LossKind = (typeof LOSSES)[number];
export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adam'] as const;
export type OptKind = (typeof OPTIMIZERS)[number];

/** Z[M][N] = op(A)·op(B) (+ Bias[N]) (+ Add[M][N]); Act = f(Z) when writeAct. */
export interface MatmulParams {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  act: Exclude<Act, 'softmax'>;
  hasBias: boolean;
  hasAdd: boolean;
  /** also write f(Z) to Act */
  writeAct: boolean;
  /** op(A) is read from the Act buffer (the GPU cannot bind one buffer twice when one binding writes) */
  aFromAct: boolean;
  /** op(A) is read from the Z buffer (other rows of it than those written) */
  aFromZ: boolean;
  /**
   * Z ⊙= f'(D) for the activation `act` (backpropagation through it, fused into the product):
   * D holds what f' needs, the activation's output a = f(z), or z itself for square. Not with writeAct.
   */
  mulDeriv: boolean;
  offA: number;
  offB: number;
  offZ: number;
  offAct: number;
  offBias: number;
  offAdd: number;
  offD: number;
  /** GPU tile shape; chosen from M and N when absent (the CPU reference ignores it). */
  tile?: MatmulTile;
  /** GPU: one workgroup tile buffer instead of two taken in turn (benchmarks compare; the CPU reference ignores it). */
  singleBuffer?: boolean;
  /** GPU: operands fetched from global memory as vec4s where vec4Aligned allows (the same sums; the CPU reference ignores it). */
  vec4?: boolean;
  /**
   * Split-K: when > 1, K is cut into `splits` consecutive ranges (splitRange) and Z receives their
   * partial products, [splits][M][N] from offZ, with nothing else applied (no bias, add, act or
   * derivative); `matmul_reduce` then adds them up in order and applies the rest.
   */
  splits?: number;
}
/**
 * Whether a product's operands can be read as vec4s: A is its own buffer, both offsets and both
 * contiguous dimensions (K of a row-major A, M of a transposed one; N of a row-major B, K of a
 * transposed one) are multiples of 4, so that every vec4 is wholly inside or wholly outside.
 */
export const vec4Aligned = (p: MatmulParams): boolean =>
  !p.aFromAct && !p.aFromZ && p.offA % 4 === 0 && p.offB % 4 === 0 && (p.transA ? p.M : p.K) % 4 === 0 && (p.transB ? p.K : p.N) % 4 === 0;
/** Whether a product applies anything after its sum (bias, add, activation or derivative). */
export const hasEpilogue = (p: MatmulParams): boolean => p.hasBias || p.hasAdd || p.writeAct || p.mulDeriv;

/**
 * How a backend runs one product: summed in `splits` ranges of K side by side, and whether bias,
 * add, derivative and activation are applied in a pass of their own (matmul_reduce, which also
 * adds the ranges up) instead of at the end of the product's.
 */
export interface MatmulPlan {
  splits: number;
  separateEpilogue: boolean;
  /** GPU tile shape, workgroup buffering and vec4 reads, where a tuning chose them (else the shape's) */
  tile?: MatmulTile;
  singleBuffer?: boolean;
  vec4?: boolean;
}
/** The k range [k0, k1) of split s of K: ranges of ⌈K / splits⌉ rounded up to a multiple of 16. */
export function splitRange(K: number, splits: number, s: number): [number, number] {
  const chunk = Math.ceil(K / splits / 16) * 16;
  return [Math.min(K, s * chunk), Math.min(K, (s + 1) * chunk)];
}
/** GPU tile shapes (webgpu/kernels.ts): 128×128 (K-slices of 8, or of 16 where a workgroup may have 32 KiB), 64×64, 32×32. */
export const MATMUL_TILE_NAMES = ['big', 'big16', 'mid', 'small'] as const;
export type MatmulTile = (typeof MATMUL_TILE_NAMES)[number];
/** Row-wise or element-wise activation work on [rows][cols] matrices. */
export interface EltParams {
  rows: number;
  cols: number;
  act: Act;
  offZ: number;
  offA: number;
  offDA: number;
  offDZ: number;
}
/**
 * Loss of predictions P[rows][cols] against targets Y, in two passes (`loss_partial`: `parts`
 * partial sums over consecutive row ranges into Part; `loss_value`: their sum, normalised, into
 * Out), or its gradient (`loss_grad`, which ignores offPart and parts).
 */
export interface LossParams {
  rows: number;
  cols: number;
  loss: LossKind;
  offP: number;
  offY: number;
  offOut: number;
  offPart: number;
  parts: number;
  /** loss_partial: also write the gradient (loss_grad's) to Out at offOut, in the same pass over P and Y */
  withGrad?: boolean;
  /**
   * crossEntropy only: Y holds one class index per row (Y[r], an integer in 0…cols−1, as
   * PyTorch's CrossEntropyLoss takes them) instead of a one-hot row Y[r][cols]; the same numbers.
   */
  classIndex?: boolean;
}
/** Out[t][r][i] = In[Idx[offIdx + r]][t][i]: a mini-batch gathered from resident samples. */
export interface GatherParams {
  rows: number;
  steps: number;
  features: number;
  offIdx: number;
  offIn: number;
  offOut: number;
}
export interface ColSumParams {
  rows: number;
  cols: number;
  offM: number;
  offOut: number;
}
/** One optimizer step over n flat parameters; h1 = μ, ρ or β1; h2 = β2; bc = 1 − β^t (Adam). */
export interface UpdateParams {
  n: number;
  opt: OptKind;
  epsInside: boolean;
  lr: number;
  h1: number;
  h2: number;
  eps: number;
  bc1: number;
  bc2: number;
  /** Weight decay (0 or absent: none): g + wd·p, as PyTorch's weight_decay; with `decoupled` (AdamW) p·(1 − lr·wd) first instead. */
  wd?: number;
  decoupled?: boolean;
  /** momentum: Nesterov's form, as torch.optim.SGD(nesterov=True) */
  nesterov?: boolean;
  /**
   * Clipping of the loss gradient, before weight decay: 'norm' scales it by min(1, clip / (‖G‖ + 1e-6))
   * with ‖G‖² read from Norm[offNorm] (grad_norm_total's result), as clip_grad_norm_; 'value' clamps
   * each element to [−clip, clip], as clip_grad_value_.
   */
  clipMode?: 'norm' | 'value';
  clip?: number;
  offNorm?: number;
}
/**
 * Sum of squares of G[0..n) in two passes: `grad_norm_partial` writes Part[offPart + w], w < parts,
 * the sum over part w's range; `grad_norm_total` adds them into Part[offOut].
 */
export interface GradNormParams {
  n: number;
  parts: number;
  offPart: number;
  offOut: number;
}

/**
 * One time step of an LSTM or GRU cell over a batch, after the step's products (src/nn/lstm.ts,
 * src/nn/gru.ts; shaders/recurrent.wgsl). Offsets are in elements; a gate block is [batch][G·H]
 * with the gates side by side in PyTorch's order (LSTM i, f, g, o; GRU r, z, n).
 * `hasCarry`: lstm_cell_backward reads dc_{t+1} from dC (else it is 0: the last step);
 * gru_cell_backward writes the carry z ⊙ dh_t (+ dOut_{t−1} with `hasDOut`) for step t − 1.
 */
export interface CellParams {
  batch: number;
  H: number;
  offG: number;
  offX: number;
  offGh: number;
  offC: number;
  offCPrev: number;
  offH: number;
  offHPrev: number;
  offDH: number;
  offDC: number;
  offDG: number;
  offDGh: number;
  offCarry: number;
  offDOut: number;
  hasCarry: boolean;
  hasDOut: boolean;
}

/**
 * An embedding's rows (src/nn/embedding.ts, shaders/embedding.wgsl), W: [vocab][units], ids one a
 * row (as floats, exact below 2^24): `embedding` Out[r][d] = W[Idx[r]][d] (0 for an id outside
 * 0…vocab−1, which the data's checks keep out); `embedding_backward` dW[v][d] = Σ over the rows r
 * whose id is v, in ascending r, of dOut[r][d] (W's offset is dW's, Out's is dOut's).
 */
export interface EmbeddingParams {
  rows: number;
  units: number;
  vocab: number;
  offIdx: number;
  offW: number;
  offOut: number;
}
/**
 * Inverted dropout of n values (src/nn/dropout.ts, shaders/dropout.wgsl): Out[i] = In[i]·scale
 * where value i is kept, else 0. Whether it is kept is a counter-based draw, the same in WGSL and
 * in JS: h = mix(mix(mix(mix(seed) + step) + layer) + i) in u32 arithmetic (mix: a 32-bit integer
 * hash), kept when h >> 8 ≥ threshold (= round(rate·2^24)). The backward is the same kernel on
 * the gradient: the mask is its own transpose.
 */
export interface DropoutParams {
  n: number;
  threshold: number;
  scale: number;
  seed: number;
  step: number;
  layer: number;
  offIn: number;
  offOut: number;
}
/** The integer threshold of a dropout rate: round(rate·2^24), so the kept fraction is 1 − threshold/2^24. */
export const dropoutThreshold = (rate: number): number => Math.round(rate * 2 ** 24);

export interface KernelParams {
  matmul: MatmulParams;
  /** Z = Σ_s Part[s] (the `splits` partial products at the start of Part) + Bias + Add ⊙ f'(D); Act = f(Z) */
  matmul_reduce: MatmulParams;
  act_backward: EltParams;
  softmax_rows: EltParams;
  softmax_backward: EltParams;
  loss_partial: LossParams;
  loss_value: LossParams;
  loss_grad: LossParams;
  col_sum: ColSumParams;
  gather: GatherParams;
  update: UpdateParams;
  grad_norm_partial: GradNormParams;
  grad_norm_total: GradNormParams;
  lstm_cell: CellParams;
  lstm_cell_backward: CellParams;
  gru_cell: CellParams;
  gru_cell_backward: CellParams;
  embedding: EmbeddingParams;
  embedding_backward: EmbeddingParams;
  dropout: DropoutParams;
}
export type KernelName = keyof KernelParams;

export interface KernelBuffers<B> {
  matmul: { A?: B; B: B; Z: B; Act?: B; Bias?: B; Add?: B; D?: B };
  matmul_reduce: { Part: B; Z: B; Act?: B; Bias?: B; Add?: B; D?: B };
  act_backward: { Z: B; A: B; dA: B; dZ: B };
  softmax_rows: { Z: B; A: B };
  softmax_backward: { A: B; dA: B; dZ: B };
  loss_partial: { P: B; Y: B; Part: B; Out?: B };
  loss_value: { Part: B; Out: B };
  loss_grad: { P: B; Y: B; Out: B };
  col_sum: { M: B; Out: B };
  gather: { Idx: B; In: B; Out: B };
  update: { P: B; G: B; S1?: B; S2?: B; Norm?: B };
  grad_norm_partial: { G: B; Part: B };
  grad_norm_total: { Part: B };
  /** G: gate pre-activations in, activations out (in place); C: c_{t−1} read, c_t written; Hs: h_t written */
  lstm_cell: { G: B; C: B; Hs: B };
  /** dH: dh_t; G: gates; C: c_{t−1}, c_t; dC: dc_{t+1} in, dc_t out (in place); dG: gate pre-activation gradients out */
  lstm_cell_backward: { dH: B; G: B; C: B; dC: B; dG: B };
  /** X: x·W_ihᵀ + b_ih; Gh: h·W_hhᵀ + b_hh; G: gates r, z, n out; Hs: h_{t−1} read, h_t written */
  gru_cell: { X: B; Gh: B; G: B; Hs: B };
  /** dH: dh_t; G, Gh, Hs as forward; dG: d(x-side pre-activations) out; dGh: d(h-side products) out; Carry: out; DOut: dOut_{t−1} */
  gru_cell_backward: { dH: B; G: B; Gh: B; Hs: B; dG: B; dGh: B; Carry?: B; DOut?: B };
  embedding: { Idx: B; W: B; Out: B };
  embedding_backward: { Idx: B; dOut: B; dW: B };
  dropout: { In: B; Out: B };
}
