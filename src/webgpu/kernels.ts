// Every GPU kernel described as data: its shader files, entry point, compile-time flags, the
// uniform fields (in WGSL struct order), the bindings and the dispatch size. The runner
// (runner.ts) is the only code that turns these into pipelines and dispatches.
import {
  type Act,
  hasEpilogue,
  type KernelName,
  type KernelParams,
  type LossKind,
  type MatmulParams,
  type MatmulPlan,
  type MatmulTile,
  type OptKind,
  vec4Aligned,
} from '../kernels.js';
import type { ShaderFile } from './shaders.js';

export interface KernelSpec<K extends KernelName> {
  files: readonly ShaderFile[];
  entry: string;
  flags(p: KernelParams[K]): Record<string, boolean>;
  /** Uniform fields in struct order; 'f32' fields are floats, the rest u32. */
  uniforms: readonly (readonly [keyof KernelParams[K] & string, 'u32' | 'f32'])[];
  /** Uniform fields that change from step to step: written before each submission, not cached. */
  dynamic?: readonly (keyof KernelParams[K] & string)[];
  bindings: Record<string, number>;
  /** The bindings this variant uses, when not all of them. */
  used?(p: KernelParams[K]): string[];
  workgroups(p: KernelParams[K]): [number, number, number];
}

const actFlags = (act: Act) => ({
  ACT_SIGMOID: act === 'sigmoid',
  ACT_TANH: act === 'tanh',
  ACT_RELU: act === 'relu',
  ACT_SQUARE: act === 'square',
});
const lossFlags = (l: LossKind, classIndex?: boolean) => ({
  LOSS_CE: l === 'crossEntropy',
  LOSS_HALF_MSE: l === 'halfMse',
  CLASS_INDEX: l === 'crossEntropy' && !!classIndex,
});
const optFlags = (o: OptKind) => ({
  OPT_MOMENTUM: o === 'momentum',
  OPT_RMSPROP: o === 'rmsprop',
  OPT_ADAM: o === 'adam',
  HAS_S1: o !== 'sgd',
});
const MAX_X = 65535;
/** n threads in workgroups of `size`, folded into two dimensions past 65535 workgroups. */
export function grid1d(n: number, size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(n / size));
  return groups <= MAX_X ? [groups, 1, 1] : [MAX_X, Math.ceil(groups / MAX_X), 1];
}

// Matmul tile shapes: threads WX×WY, each RA×RB blocks of 4×4 outputs, K-slices of TK.
// Large outputs take 128×128 tiles (8×8 per thread: the most arithmetic per workgroup-memory
// read); smaller ones take smaller tiles so that there are enough workgroups to fill the GPU.
export const MATMUL_TILES: Record<MatmulTile, { WX: number; WY: number; RA: number; RB: number; TK: number }> = {
  big: { WX: 16, WY: 16, RA: 2, RB: 2, TK: 8 },
  big16: { WX: 16, WY: 16, RA: 2, RB: 2, TK: 16 }, // half the barriers, twice the workgroup memory: for tuning
  mid: { WX: 16, WY: 16, RA: 1, RB: 1, TK: 16 },
  small: { WX: 8, WY: 8, RA: 1, RB: 1, TK: 16 },
};
/** The outputs a tile covers: TM rows × TN columns. */
export function tileShape(tile: MatmulTile): { TM: number; TN: number } {
  const t = MATMUL_TILES[tile];
  return { TM: 4 * t.RA * t.WY, TN: 4 * t.RB * t.WX };
}
/** Workgroup memory of a tile: its two operand slices (TK × TM and TK × TN floats), once or twice (double-buffered). */
export function tileBytes(tile: MatmulTile, singleBuffer = false): number {
  const { TM, TN } = tileShape(tile);
  return (singleBuffer ? 1 : 2) * MATMUL_TILES[tile].TK * (TM + TN) * 4;
}
export function matmulTile(p: MatmulParams): MatmulTile {
  if (p.tile) return p.tile;
  const outputs = p.M * p.N;
  return outputs >= 2048 * 2048 ? 'big' : outputs >= 1024 * 1024 ? 'mid' : 'small';
}

// Split-K: a product whose output gives the GPU too few threads (the RNN's 256×1024 step from a
// 1024-long sum: 256 workgroups of 64 threads) is cut along K into ranges summed side by side,
// then added up by matmul_reduce. Not for the 128×128 tile (registers, not threads, bound it),
// nor for small work, where the extra pass would cost more than it saves.
const SPLIT_THREADS = 65536; // aim: this many threads on a product
const SPLIT_MIN_K = 512,
  SPLIT_MIN_RANGE = 256,
  SPLIT_MAX = 16,
  SPLIT_MIN_MACS = 2 ** 26;
/** How many K ranges the webgpu backend cuts a product into (1: none). The same shape, the same answer. */
export function matmulSplits(p: MatmulParams): number {
  const tile = matmulTile(p);
  if (tile === 'big' || tile === 'big16' || p.K < SPLIT_MIN_K || p.M * p.N * p.K < SPLIT_MIN_MACS) return 1;
  const t = MATMUL_TILES[tile],
    { TM, TN } = tileExtent(p);
  const threads = Math.ceil(p.M / TM) * Math.ceil(p.N / TN) * t.WX * t.WY;
  return Math.max(1, Math.min(SPLIT_MAX, Math.floor(p.K / SPLIT_MIN_RANGE), Math.ceil(SPLIT_THREADS / threads)));
}

// The 128×128 and 64×64 tiles ran at 15.0 and 16.1 TFLOP/s with bias → sigmoid applied at their
// end and at 34.6 and 21.2 without (H100, 4096³; bench/RESULTS.md): there the epilogue is a pass
// of its own over the product (matmul_reduce of one range), ~50 MB of memory traffic at the MLP's
// 1024×4096. The 32×32 tile, which small and latency-bound products use, keeps it fused.
/** How the webgpu backend runs a product: a plain function of its shape. */
export function matmulPlan(p: MatmulParams): MatmulPlan {
  return { splits: matmulSplits(p), separateEpilogue: matmulTile(p) !== 'small' };
}
const tileExtent = (p: MatmulParams) => tileShape(matmulTile(p));

// the cell kernels' uniforms (shaders/recurrent.wgsl's Params, in order) and one thread per (row, unit)
const cellU = ['batch', 'H', 'offG', 'offX', 'offGh', 'offC', 'offCPrev', 'offH', 'offHPrev', 'offDH', 'offDC', 'offDG', 'offDGh', 'offCarry', 'offDOut'].map(
  (u) => [u, 'u32'] as const,
) as KernelSpec<'lstm_cell'>['uniforms'];
const cellBindings = { G: 1, C: 2, Hs: 3, X: 4, Gh: 5, dH: 6, dC: 7, dG: 8, dGh: 9, Carry: 10, DOut: 11 };
const cellGrid = (p: KernelParams['lstm_cell']) => grid1d(p.batch * p.H, 256);

const embeddingU = ['rows', 'units', 'vocab', 'offIdx', 'offW', 'offOut'].map((u) => [u, 'u32'] as const) as KernelSpec<'embedding'>['uniforms'];
const embeddingBindings = { Idx: 1, W: 2, Out: 3, dOut: 4, dW: 5 };
const elt = ['rows', 'cols', 'offZ', 'offA', 'offDA', 'offDZ'].map((u) => [u, 'u32'] as const);
const lossU = ['rows', 'cols', 'offP', 'offY', 'offOut', 'offPart', 'parts'].map((u) => [u, 'u32'] as const);
const eltBindings = { Z: 1, A: 2, dA: 3, dZ: 4 };

const matmulUniforms = ['M', 'N', 'K', 'offA', 'offB', 'offZ', 'offAct', 'offBias', 'offAdd', 'offD', 'splits'].map(
  (u) => [u, 'u32'] as const,
) as KernelSpec<'matmul'>['uniforms'];
const matmulBindings = { A: 1, B: 2, Z: 3, Act: 4, Bias: 5, Add: 6, D: 7, Part: 8 };
const epilogueBuffers = (p: MatmulParams) => [
  ...(p.writeAct || p.aFromAct ? ['Act'] : []),
  ...(p.hasBias ? ['Bias'] : []),
  ...(p.hasAdd ? ['Add'] : []),
  ...(p.mulDeriv ? ['D'] : []),
];

export const gpuKernels: { [K in KernelName]: KernelSpec<K> } = {
  matmul: {
    files: ['activation', 'matmul'],
    entry: 'main',
    flags: (p) => ({
      ...actFlags(p.act),
      TRANS_A: p.transA,
      TRANS_B: p.transB,
      HAS_BIAS: p.hasBias,
      HAS_ADD: p.hasAdd,
      WRITE_ACT: p.writeAct,
      A_FROM_ACT: p.aFromAct,
      A_FROM_Z: p.aFromZ,
      TILE_BIG: matmulTile(p) === 'big',
      TILE_BIG16: matmulTile(p) === 'big16',
      TILE_SMALL: matmulTile(p) === 'small',
      MUL_DERIV: p.mulDeriv,
      EPILOGUE: hasEpilogue(p),
      SPLIT: (p.splits ?? 1) > 1,
      SINGLE_BUFFER: !!p.singleBuffer,
      VEC4: !!p.vec4 && vec4Aligned(p), // asked for and possible: else the scalar reads
    }),
    uniforms: matmulUniforms,
    bindings: matmulBindings,
    used: (p) => ['B', 'Z', ...(p.aFromAct || p.aFromZ ? [] : ['A']), ...epilogueBuffers(p)],
    workgroups: (p) => {
      const t = tileExtent(p);
      return [Math.ceil(p.N / t.TN), Math.ceil(p.M / t.TM), p.splits ?? 1];
    },
  },
  matmul_reduce: {
    files: ['activation', 'matmul'],
    entry: 'reduce',
    flags: (p) => ({ ...actFlags(p.act), HAS_BIAS: p.hasBias, HAS_ADD: p.hasAdd, WRITE_ACT: p.writeAct, MUL_DERIV: p.mulDeriv }),
    uniforms: matmulUniforms,
    bindings: matmulBindings,
    used: (p) => ['Part', 'Z', ...epilogueBuffers(p)],
    workgroups: (p) => grid1d(p.M * p.N, 256),
  },
  act_backward: {
    files: ['activation', 'elementwise'],
    entry: 'act_backward',
    flags: (p) => actFlags(p.act),
    uniforms: elt as KernelSpec<'act_backward'>['uniforms'],
    bindings: eltBindings,
    workgroups: (p) => grid1d(p.rows * p.cols, 256),
  },
  softmax_rows: {
    files: ['activation', 'elementwise'],
    entry: 'softmax_rows',
    flags: () => ({}),
    uniforms: elt as KernelSpec<'softmax_rows'>['uniforms'],
    bindings: { Z: 1, A: 2 },
    workgroups: (p) => grid1d(p.rows, 64),
  },
  softmax_backward: {
    files: ['activation', 'elementwise'],
    entry: 'softmax_backward',
    flags: () => ({}),
    uniforms: elt as KernelSpec<'softmax_backward'>['uniforms'],
    bindings: { A: 2, dA: 3, dZ: 4 },
    workgroups: (p) => grid1d(p.rows, 64),
  },
  loss_partial: {
    files: ['loss'],
    entry: 'loss_partial',
    flags: (p) => ({ ...lossFlags(p.loss, p.classIndex), WITH_GRAD: !!p.withGrad }),
    uniforms: lossU as KernelSpec<'loss_partial'>['uniforms'],
    bindings: { P: 1, Y: 2, Out: 3, Part: 4 },
    used: (p) => ['P', 'Y', 'Part', ...(p.withGrad ? ['Out'] : [])],
    workgroups: (p) => [p.parts, 1, 1],
  },
  loss_value: {
    files: ['loss'],
    entry: 'loss_value',
    flags: (p) => lossFlags(p.loss),
    uniforms: lossU as KernelSpec<'loss_value'>['uniforms'],
    bindings: { Out: 3, Part: 4 },
    workgroups: () => [1, 1, 1],
  },
  loss_grad: {
    files: ['loss'],
    entry: 'loss_grad',
    flags: (p) => lossFlags(p.loss, p.classIndex),
    uniforms: lossU as KernelSpec<'loss_grad'>['uniforms'],
    bindings: { P: 1, Y: 2, Out: 3 },
    workgroups: (p) => grid1d(p.loss === 'crossEntropy' ? p.rows : p.rows * p.cols, 256),
  },
  col_sum: {
    files: ['reduce'],
    entry: 'col_sum',
    flags: () => ({}),
    uniforms: [
      ['rows', 'u32'],
      ['cols', 'u32'],
      ['offM', 'u32'],
      ['offOut', 'u32'],
    ],
    bindings: { M: 1, Out: 2 },
    workgroups: (p) => grid1d(p.cols, 16),
  },
  gather: {
    files: ['gather'],
    entry: 'gather',
    flags: () => ({}),
    uniforms: ['rows', 'steps', 'features', 'offIdx', 'offIn', 'offOut'].map((u) => [u, 'u32'] as const) as KernelSpec<'gather'>['uniforms'],
    bindings: { Idx: 1, In: 2, Out: 3 },
    workgroups: (p) => grid1d(p.rows * p.steps * p.features, 256),
  },
  update: {
    files: ['optimizers'],
    entry: 'update',
    flags: (p) => ({
      ...optFlags(p.opt),
      EPS_INSIDE: p.epsInside,
      WEIGHT_DECAY: (p.wd ?? 0) !== 0,
      DECOUPLED: (p.wd ?? 0) !== 0 && !!p.decoupled,
      NESTEROV: p.opt === 'momentum' && !!p.nesterov,
      CLIP_NORM: p.clipMode === 'norm',
      CLIP_VALUE: p.clipMode === 'value',
    }),
    uniforms: [
      ['n', 'u32'],
      ['lr', 'f32'],
      ['h1', 'f32'],
      ['h2', 'f32'],
      ['eps', 'f32'],
      ['bc1', 'f32'],
      ['bc2', 'f32'],
      ['wd', 'f32'],
      ['clip', 'f32'],
      ['offNorm', 'u32'],
    ],
    dynamic: ['lr', 'bc1', 'bc2'],
    bindings: { P: 1, G: 2, S1: 3, S2: 4, Norm: 5 },
    used: (p) => ['P', 'G', ...(p.opt === 'sgd' ? [] : ['S1']), ...(p.opt === 'adam' ? ['S2'] : []), ...(p.clipMode === 'norm' ? ['Norm'] : [])],
    workgroups: (p) => grid1d(p.n, 256),
  },
  grad_norm_partial: {
    files: ['grad_norm'],
    entry: 'grad_norm_partial',
    flags: () => ({}),
    uniforms: [
      ['n', 'u32'],
      ['parts', 'u32'],
      ['offPart', 'u32'],
      ['offOut', 'u32'],
    ],
    bindings: { G: 1, Part: 2 },
    workgroups: (p) => [p.parts, 1, 1],
  },
  grad_norm_total: {
    files: ['grad_norm'],
    entry: 'grad_norm_total',
    flags: () => ({}),
    uniforms: [
      ['n', 'u32'],
      ['parts', 'u32'],
      ['offPart', 'u32'],
      ['offOut', 'u32'],
    ],
    bindings: { Part: 2 },
    workgroups: () => [1, 1, 1],
  },
  lstm_cell: {
    files: ['recurrent'],
    entry: 'lstm_cell',
    flags: () => ({}),
    uniforms: cellU,
    bindings: cellBindings,
    used: () => ['G', 'C', 'Hs'],
    workgroups: cellGrid,
  },
  lstm_cell_backward: {
    files: ['recurrent'],
    entry: 'lstm_cell_backward',
    flags: (p) => ({ HAS_CARRY: p.hasCarry }),
    uniforms: cellU,
    bindings: cellBindings,
    used: () => ['dH', 'G', 'C', 'dC', 'dG'],
    workgroups: cellGrid,
  },
  gru_cell: {
    files: ['recurrent'],
    entry: 'gru_cell',
    flags: () => ({}),
    uniforms: cellU,
    bindings: cellBindings,
    used: () => ['X', 'Gh', 'G', 'Hs'],
    workgroups: cellGrid,
  },
  gru_cell_backward: {
    files: ['recurrent'],
    entry: 'gru_cell_backward',
    flags: (p) => ({ HAS_CARRY: p.hasCarry, HAS_DOUT: p.hasCarry && p.hasDOut }),
    uniforms: cellU,
    bindings: cellBindings,
    used: (p) => ['dH', 'G', 'Gh', 'Hs', 'dG', 'dGh', ...(p.hasCarry ? ['Carry'] : []), ...(p.hasCarry && p.hasDOut ? ['DOut'] : [])],
    workgroups: cellGrid,
  },
  embedding: {
    files: ['embedding'],
    entry: 'embedding',
    flags: () => ({}),
    uniforms: embeddingU,
    bindings: embeddingBindings,
    used: () => ['Idx', 'W', 'Out'],
    workgroups: (p) => grid1d(p.rows * p.units, 256),
  },
  embedding_backward: {
    files: ['embedding'],
    entry: 'embedding_backward',
    flags: () => ({}),
    uniforms: embeddingU,
    bindings: embeddingBindings,
    // a workgroup per vocabulary row (folded past 65535 rows) and block of 256 units (shaders/embedding.wgsl)
    used: () => ['Idx', 'dOut', 'dW'],
    workgroups: (p) => [Math.min(p.vocab, 65535), Math.ceil(p.units / 256), Math.ceil(p.vocab / 65535)],
  },
  dropout: {
    files: ['dropout'],
    entry: 'dropout',
    flags: () => ({}),
    uniforms: [
      ['n', 'u32'],
      ['threshold', 'u32'],
      ['scale', 'f32'],
      ['seed', 'u32'],
      ['step', 'u32'],
      ['layer', 'u32'],
      ['offIn', 'u32'],
      ['offOut', 'u32'],
    ],
    dynamic: ['step'], // the mask changes every training step: the prepared dispatch is kept, its step rewritten
    bindings: { In: 1, Out: 2 },
    workgroups: (p) => grid1d(p.n, 256),
  },
};
