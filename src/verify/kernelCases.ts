// `miya verify`'s kernel rows as data: for every kernel of src/kernels.ts, the cases run on a
// device against the float64 twin (ARCHITECTURE.md, "One kernel, two twins"). The table is typed
// over KernelName, so a kernel added without a verify case does not compile. Sizes are odd, with
// offsets everywhere and partial workgroups, which a small network's step never reaches.
import {
  type CellParams,
  dropoutThreshold,
  type EltParams,
  type KernelName,
  type KernelParams,
  type LossParams,
  type MatmulParams,
  type MatmulTile,
  type UpdateParams,
} from '../kernels.js';
import { seededNumbers } from './seeded.js';

/** One kernel run: parameters, buffer sizes (seeded unless `given`), the buffers compared, those seeded positive. */
export interface KernelCase<K extends KernelName> {
  name: string;
  p: KernelParams[K];
  sizes: Record<string, number>;
  outputs: string[];
  positive?: string[];
  given?: Record<string, number[]>;
}
export type KernelCases = { [K in KernelName]: KernelCase<K>[] };

/** A matmul's parameters: the plain product unless `o` says otherwise. */
export const matmulParams = (M: number, N: number, K: number, o: Partial<MatmulParams> = {}): MatmulParams => ({
  M,
  N,
  K,
  transA: false,
  transB: false,
  act: 'identity',
  writeAct: false,
  hasBias: false,
  hasAdd: false,
  aFromAct: false,
  aFromZ: false,
  mulDeriv: false,
  offA: 0,
  offB: 0,
  offZ: 0,
  offAct: 0,
  offBias: 0,
  offAdd: 0,
  offD: 0,
  ...o,
});

const TRANSPOSITIONS = [
  [false, false, 'A·B'],
  [false, true, 'A·Bᵀ'],
  [true, false, 'Aᵀ·B'],
] as const;

function matmulCases(tiles: readonly MatmulTile[]): KernelCase<'matmul'>[] {
  const out: KernelCase<'matmul'>[] = [];
  const [M, N, K] = [131, 67, 37];
  for (const tile of tiles) {
    for (const [transA, transB, how] of TRANSPOSITIONS) {
      out.push({
        name: `matmul ${tile} tile, ${how} + bias → tanh, ${M}×${N} from ${K}`,
        p: matmulParams(M, N, K, { transA, transB, tile, offA: 3, offB: 5, offZ: 1, hasBias: true, offBias: 2, act: 'tanh', writeAct: true }),
        sizes: { A: 3 + M * K, B: 5 + K * N, Z: 1 + M * N, Act: M * N, Bias: 2 + N },
        outputs: ['Z', 'Act'],
      });
    }
    // vec4 reads need multiples of 4: one more row and column of partial tiles, a dense layer's A·Bᵀ
    const [M4, N4, K4] = [M + 1, N + 1, K - 1];
    out.push({
      name: `matmul ${tile} tile, A·Bᵀ read as vec4s + bias → tanh, ${M4}×${N4} from ${K4}`,
      p: matmulParams(M4, N4, K4, { transB: true, tile, vec4: true, offA: 4, offB: 8, offZ: 1, hasBias: true, offBias: 2, act: 'tanh', writeAct: true }),
      sizes: { A: 4 + M4 * K4, B: 8 + K4 * N4, Z: 1 + M4 * N4, Act: M4 * N4, Bias: 2 + N4 },
      outputs: ['Z', 'Act'],
    });
    out.push({
      name: `matmul ${tile} tile, A·B ⊙ sigmoid′ (fused backward), ${M}×${N} from ${K}`,
      p: matmulParams(M, N, K, { tile, act: 'sigmoid', mulDeriv: true, offD: 4 }),
      sizes: { A: M * K, B: K * N, Z: M * N, D: 4 + M * N },
      outputs: ['Z'],
      positive: ['D'],
    });
  }
  const [m, n, k, S] = [45, 70, 100, 3];
  out.push({
    name: `matmul split-K: ${S} partial products of A·Bᵀ, ${m}×${n} from ${k}`,
    p: matmulParams(m, n, k, { transB: true, splits: S }),
    sizes: { A: m * k, B: n * k, Z: S * m * n },
    outputs: ['Z'],
  });
  return out;
}

const elt = (rows: number, cols: number, act: EltParams['act']): EltParams => ({ rows, cols, act, offZ: 1, offA: 2, offDA: 3, offDZ: 4 });
const loss = (rows: number, cols: number, l: LossParams['loss'], o: Partial<LossParams> = {}): LossParams => ({
  rows,
  cols,
  loss: l,
  offP: 3,
  offY: 2,
  offOut: 1,
  offPart: 4,
  parts: 7,
  ...o,
});
const cell = (batch: number, H: number, o: Partial<CellParams> = {}): CellParams => ({
  batch,
  H,
  offG: 0,
  offX: 0,
  offGh: 0,
  offC: 0,
  offCPrev: 0,
  offH: 0,
  offHPrev: 0,
  offDH: 0,
  offDC: 0,
  offDG: 0,
  offDGh: 0,
  offCarry: 0,
  offDOut: 0,
  hasCarry: false,
  hasDOut: false,
  ...o,
});
const upd = (opt: UpdateParams['opt'], o: Partial<UpdateParams> = {}): UpdateParams => ({
  n: 300,
  opt,
  epsInside: true,
  lr: 0.01,
  h1: 0.9,
  h2: 0.999,
  eps: 1e-8,
  bc1: 0.19,
  bc2: 0.002,
  ...o,
});
/** n integers in 0…k−1 (class indices, token ids), every one of them present when n ≥ k. */
const ints = (n: number, k: number, seed: number) => seededNumbers(n, seed, true).map((u, i) => (i < k ? i : Math.min(k - 1, Math.floor((u - 0.1) * k))));

const ACTS = ['sigmoid', 'tanh', 'relu', 'square', 'identity'] as const;
const LOSS_KINDS = ['mse', 'halfMse', 'crossEntropy'] as const;

/** Every kernel's cases; matmul's for each of the device's tile shapes. */
export function kernelCases(tiles: readonly MatmulTile[]): KernelCases {
  // 300 rows of 6 in 7 parts (the last one short); class indices one a row
  const [R, C] = [300, 6],
    n = R * C;
  // batch 7 × H 43 = 301 cells: a full workgroup of 256 and a partial one
  const [B, H] = [7, 43],
    h = B * H;
  const [V, D, E] = [40, 7, 300]; // vocabulary, units, rows (token ids)
  return {
    matmul: matmulCases(tiles),
    matmul_reduce: [
      {
        name: 'matmul_reduce: 3 partials + add → tanh (a split RNN step)',
        p: matmulParams(45, 70, 100, { splits: 3, hasAdd: true, act: 'tanh', writeAct: true }),
        sizes: { Part: 3 * 45 * 70, Z: 45 * 70, Act: 45 * 70, Add: 45 * 70 },
        outputs: ['Z', 'Act'],
      },
    ],
    act_backward: ACTS.map((a) => ({
      name: `act_backward ${a}, 37×29`,
      p: elt(37, 29, a),
      sizes: { Z: 1 + 37 * 29, A: 2 + 37 * 29, dA: 3 + 37 * 29, dZ: 4 + 37 * 29 },
      outputs: ['dZ'],
    })),
    softmax_rows: [{ name: 'softmax_rows, 37×29', p: elt(37, 29, 'softmax'), sizes: { Z: 1 + 37 * 29, A: 2 + 37 * 29 }, outputs: ['A'] }],
    softmax_backward: [
      {
        name: 'softmax_backward, 37×29',
        p: elt(37, 29, 'softmax'),
        sizes: { A: 2 + 37 * 29, dA: 3 + 37 * 29, dZ: 4 + 37 * 29 },
        outputs: ['dZ'],
        positive: ['A'],
      },
    ],
    loss_partial: [
      ...LOSS_KINDS.map((l) => ({
        name: `loss_partial ${l} + its gradient in the same pass, ${R}×${C} in 7 parts`,
        p: loss(R, C, l, { withGrad: true }),
        sizes: { P: 3 + n, Y: 2 + n, Part: 4 + 7, Out: 1 + n },
        outputs: ['Part', 'Out'],
        positive: ['Y'],
      })),
      {
        name: `loss_partial crossEntropy, class-index targets + gradient, ${R}×${C} in 7 parts`,
        p: loss(R, C, 'crossEntropy', { withGrad: true, classIndex: true }),
        sizes: { P: 3 + n, Y: 2 + R, Part: 4 + 7, Out: 1 + n },
        outputs: ['Part', 'Out'],
        given: { Y: [0, 0, ...ints(R, C, 31)] },
      },
    ],
    loss_value: LOSS_KINDS.map((l) => ({
      name: `loss_value ${l}, 257 parts`,
      p: loss(R, C, l, { parts: 257 }),
      sizes: { Part: 4 + 257, Out: 1 + 1 },
      outputs: ['Out'],
      positive: ['Part'],
    })),
    loss_grad: [
      ...LOSS_KINDS.map((l) => ({
        name: `loss_grad ${l}, 30×${C}`,
        p: loss(30, C, l),
        sizes: { P: 3 + 30 * C, Y: 2 + 30 * C, Out: 1 + 30 * C },
        outputs: ['Out'],
        positive: ['Y'],
      })),
      {
        name: `loss_grad crossEntropy, class-index targets, 30×${C}`,
        p: loss(30, C, 'crossEntropy', { classIndex: true }),
        sizes: { P: 3 + 30 * C, Y: 2 + 30, Out: 1 + 30 * C },
        outputs: ['Out'],
        given: { Y: [0, 0, ...ints(30, C, 32)] },
      },
    ],
    col_sum: [{ name: 'col_sum, 1000×37', p: { rows: 1000, cols: 37, offM: 3, offOut: 2 }, sizes: { M: 3 + 1000 * 37, Out: 2 + 37 }, outputs: ['Out'] }],
    gather: [
      {
        name: 'gather, 5 rows of 3 steps × 4 features (time-major)',
        p: { rows: 5, steps: 3, features: 4, offIdx: 1, offIn: 2, offOut: 3 },
        sizes: { Idx: 6, In: 2 + 9 * 12, Out: 3 + 60 },
        outputs: ['Out'],
        given: { Idx: [0, 8, 0, 3, 7, 3] },
      },
    ],
    update: [
      ...(['sgd', 'momentum', 'rmsprop', 'adam'] as const).map((o) => ({
        name: `update ${o}, 300 parameters`,
        p: upd(o),
        sizes: { P: 300, G: 300, S1: 300, S2: 300 },
        outputs: ['P', 'S1', 'S2'],
        positive: ['S1', 'S2'],
      })),
      {
        name: 'update rmsprop, eps outside the root',
        p: upd('rmsprop', { epsInside: false }),
        sizes: { P: 300, G: 300, S1: 300 },
        outputs: ['P', 'S1'],
        positive: ['S1'],
      },
      {
        name: 'update adamw, clipped by the norm in Norm',
        p: upd('adam', { wd: 0.1, decoupled: true, clipMode: 'norm', clip: 0.5, offNorm: 2 }),
        sizes: { P: 300, G: 300, S1: 300, S2: 300, Norm: 3 },
        outputs: ['P', 'S1', 'S2'],
        positive: ['S1', 'S2', 'Norm'],
      },
      {
        name: 'update nesterov momentum + weight decay, clipped to ±0.3',
        p: upd('momentum', { nesterov: true, wd: 0.05, clipMode: 'value', clip: 0.3 }),
        sizes: { P: 300, G: 300, S1: 300 },
        outputs: ['P', 'S1'],
      },
    ],
    grad_norm_partial: [
      {
        name: 'grad_norm_partial, 70001 values in 7 parts',
        p: { n: 70_001, parts: 7, offPart: 2, offOut: 9 },
        sizes: { G: 70_001, Part: 10 },
        outputs: ['Part'],
      },
    ],
    grad_norm_total: [
      {
        name: "grad_norm_total, 300 parts (more than a workgroup's 256 lanes)",
        p: { n: 0, parts: 300, offPart: 1, offOut: 301 },
        sizes: { Part: 302 },
        outputs: ['Part'],
        positive: ['Part'],
      },
    ],
    lstm_cell: [
      {
        name: `lstm_cell, batch ${B} × H ${H}`,
        p: cell(B, H, { offG: 5, offCPrev: 2, offC: 2 + h, offH: 3 }),
        sizes: { G: 5 + 4 * h, C: 2 + 2 * h, Hs: 3 + h },
        outputs: ['G', 'C', 'Hs'],
      },
    ],
    lstm_cell_backward: [false, true].map((hasCarry) => ({
      name: `lstm_cell_backward, ${hasCarry ? 'with the carry dc_{t+1}' : 'the last step'}, batch ${B} × H ${H}`,
      p: cell(B, H, { offDH: 1, offG: 4, offCPrev: 0, offC: h, offDC: 2, offDG: 3, hasCarry }),
      sizes: { dH: 1 + h, G: 4 + 4 * h, C: 2 * h, dC: 2 + h, dG: 3 + 4 * h },
      outputs: ['dC', 'dG'],
      positive: ['G'],
    })),
    gru_cell: [
      {
        name: `gru_cell, batch ${B} × H ${H}`,
        p: cell(B, H, { offX: 3, offGh: 1, offG: 2, offHPrev: 4, offH: 4 + h }),
        sizes: { X: 3 + 3 * h, Gh: 1 + 3 * h, G: 2 + 3 * h, Hs: 4 + 2 * h },
        outputs: ['G', 'Hs'],
      },
    ],
    gru_cell_backward: (
      [
        [false, false],
        [true, false],
        [true, true],
      ] as const
    ).map(([hasCarry, hasDOut]) => ({
      name: `gru_cell_backward, ${hasCarry ? (hasDOut ? 'carry + dOut_{t−1}' : 'carry') : 'no carry'}, batch ${B} × H ${H}`,
      p: cell(B, H, { offDH: 2, offG: 1, offHPrev: 5, offDG: 3, offDGh: 4, offCarry: 6, offDOut: 7, hasCarry, hasDOut }),
      sizes: {
        dH: 2 + h,
        G: 1 + 3 * h,
        Gh: 3 * h,
        Hs: 5 + h,
        dG: 3 + 3 * h,
        dGh: 4 + 3 * h,
        ...(hasCarry ? { Carry: 6 + h } : {}),
        ...(hasDOut ? { DOut: 7 + h } : {}),
      },
      outputs: ['dG', 'dGh', ...(hasCarry ? ['Carry'] : [])],
      positive: ['G'],
    })),
    embedding: [
      {
        name: `embedding, ${E} ids of a vocabulary of ${V} → ${D} units`,
        p: { rows: E, units: D, vocab: V, offIdx: 5, offW: 3, offOut: 11 },
        sizes: { Idx: 5 + E, W: 3 + V * D, Out: 11 + E * D },
        outputs: ['Out'],
        given: { Idx: [0, 0, 0, 0, 0, ...ints(E, V, 33)] },
      },
    ],
    embedding_backward: [
      {
        name: `embedding_backward, ${E} ids (repeated) into ${V} rows of ${D}`,
        p: { rows: E, units: D, vocab: V, offIdx: 5, offW: 2, offOut: 4 },
        sizes: { Idx: 5 + E, dOut: 4 + E * D, dW: 2 + V * D },
        outputs: ['dW'],
        given: { Idx: [0, 0, 0, 0, 0, ...ints(E, V, 34)] },
      },
    ],
    dropout: [
      {
        name: 'dropout p 0.45, 70001 values at step 4e9',
        p: { n: 70_001, threshold: dropoutThreshold(0.45), scale: 1 / 0.55, seed: 0x9e3779b9, step: 4_000_000_000, layer: 3, offIn: 3, offOut: 5 },
        sizes: { In: 3 + 70_001, Out: 5 + 70_001 },
        outputs: ['Out'],
      },
    ],
  };
}
