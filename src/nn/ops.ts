// Thin helpers that turn views into kernel calls, so that layers read like the math.
import type { Backend, View } from '../backend.js';
import { type Act, hasEpilogue, type LossKind, type MatmulParams, type MatmulTile } from '../kernels.js';

export interface MatmulArgs<B> {
  /** where Z = op(a)·op(b) (+ bias) (+ add) goes, [M][N] */
  z: View<B>;
  a: View<B>; b: View<B>;
  transA?: boolean; transB?: boolean;
  bias?: View<B>; add?: View<B>;
  /** activation written to `act` (softmax is applied afterwards, row by row) */
  activation?: Act; act?: View<B>;
  /**
   * Backpropagation through an activation, fused: Z = (op(a)·op(b)) ⊙ f'(z) where `through.a` =
   * f(`through.z`) are the forward tensors of the same shape as Z. Not with bias or act; with
   * add, Z = (op(a)·op(b) + add) ⊙ f'(z) (a recurrent layer's dh from the next step and from above).
   */
  through?: { act: Act; z: View<B>; a: View<B> };
  /** GPU tile shape, for benchmarks and tests; chosen from the shape when absent */
  tile?: MatmulTile;
  /** GPU: one workgroup tile buffer instead of two, for benchmarks comparing */
  singleBuffer?: boolean;
  /** GPU: operands read as vec4s where aligned, for benchmarks comparing; the backend's choice when absent */
  vec4?: boolean;
  /** K ranges summed side by side then added up (split-K), for benchmarks and tests; the backend's choice when absent */
  splits?: number;
  /** bias, add, derivative and activation in a pass of their own, for benchmarks and tests; the backend's choice when absent */
  separateEpilogue?: boolean;
}

export function matmul<B>(be: Backend<B>, o: MatmulArgs<B>): void {
  const transA = o.transA ?? false, transB = o.transB ?? false;
  const M = transA ? o.a.cols : o.a.rows;
  const K = transA ? o.a.rows : o.a.cols;
  const N = transB ? o.b.rows : o.b.cols;
  const activation = o.activation ?? 'identity';
  // f(Z) is written by the matmul itself unless it is softmax (row-wise) or Act is Z (identity)
  const sameAsZ = !o.act || (o.act.buf === o.z.buf && o.act.off === o.z.off);
  if (sameAsZ && activation !== 'identity') throw new Error(`matmul: ${activation} needs an act view apart from z`);
  const fused = activation !== 'softmax' && !sameAsZ;
  const aFromAct = fused && o.a.buf === o.act!.buf;
  const aFromZ = !aFromAct && o.a.buf === o.z.buf;
  const through = o.through && o.through.act !== 'identity' ? o.through : undefined;
  if (through && (fused || o.bias || through.act === 'softmax')) throw new Error(`matmul: backpropagation through ${through.act} cannot be fused with bias or an activation`);
  // f' needs a = f(z), except square's, which needs z
  const d = through && (through.act === 'square' ? through.z : through.a);
  const p0: MatmulParams = {
    M, N, K, transA, transB, act: fused ? activation : (through?.act ?? 'identity') as Exclude<Act, 'softmax'>, writeAct: fused, hasBias: !!o.bias, hasAdd: !!o.add, aFromAct, aFromZ,
    mulDeriv: !!through, offA: o.a.off, offB: o.b.off, offZ: o.z.off, offAct: fused ? o.act!.off : 0,
    offBias: o.bias?.off ?? 0, offAdd: o.add?.off ?? 0, offD: d?.off ?? 0, tile: o.tile, singleBuffer: o.singleBuffer, vec4: o.vec4,
  };
  const out = { Z: o.z.buf, Act: fused ? o.act!.buf : undefined, Bias: o.bias?.buf, Add: o.add?.buf, D: d?.buf };
  const plan = be.matmulPlan?.(p0);
  const p: MatmulParams = { ...p0, tile: o.tile ?? plan?.tile, singleBuffer: o.singleBuffer ?? plan?.singleBuffer, vec4: o.vec4 ?? plan?.vec4 };
  const splits = o.splits ?? plan?.splits ?? 1;
  const separate = (o.separateEpilogue ?? plan?.separateEpilogue ?? false) && hasEpilogue(p);
  // two passes need a workspace of splits·M·N floats: where one buffer cannot hold it, one pass
  if ((splits > 1 || separate) && splits * M * N <= be.bufferLimit.floats) {
    // the partial products (or the one product) read A where it is (no aliasing: they write only
    // the workspace), then the reduction writes Z and Act as the one-pass product would
    const part = be.workspace(splits * M * N);
    be.run('matmul', { ...p, splits, aFromAct: false, aFromZ: false, hasBias: false, hasAdd: false, writeAct: false, mulDeriv: false, act: 'identity', offZ: 0 },
      { A: o.a.buf, B: o.b.buf, Z: part });
    be.run('matmul_reduce', { ...p, splits }, { Part: part, ...out });
  } else {
    be.run('matmul', p, { A: aFromAct || aFromZ ? undefined : o.a.buf, B: o.b.buf, ...out });
  }
  if (activation === 'softmax') softmaxRows(be, o.z, o.act!, M, N);
}

/** The products `record` asks the backend to plan while it records them (the work itself is done as usual). */
export function productsOf<B>(be: Backend<B>, record: () => void): MatmulParams[] {
  const plan = be.matmulPlan;
  if (!plan) { record(); return []; }
  const seen: MatmulParams[] = [];
  be.matmulPlan = (p) => { seen.push(p); return plan.call(be, p); };
  try {
    record();
  } finally {
    be.matmulPlan = plan;
  }
  return seen;
}

function softmaxRows<B>(be: Backend<B>, z: View<B>, a: View<B>, rows: number, cols: number): void {
  be.run('softmax_rows', { rows, cols, act: 'softmax', offZ: z.off, offA: a.off, offDA: 0, offDZ: 0 }, { Z: z.buf, A: a.buf });
}

/** dZ = dA ⊙ f'(Z) for `rows` rows (softmax: the row-wise Jacobian). Nothing to do for identity when dZ is dA. */
export function activationBackward<B>(be: Backend<B>, act: Act, rows: number, t: { z: View<B>; a: View<B>; da: View<B>; dz: View<B> }): void {
  const p = { rows, cols: t.z.cols, act, offZ: t.z.off, offA: t.a.off, offDA: t.da.off, offDZ: t.dz.off };
  if (act === 'softmax') be.run('softmax_backward', p, { A: t.a.buf, dA: t.da.buf, dZ: t.dz.buf });
  else if (act !== 'identity' || t.da.buf !== t.dz.buf || t.da.off !== t.dz.off) {
    be.run('act_backward', p, { Z: t.z.buf, A: t.a.buf, dA: t.da.buf, dZ: t.dz.buf });
  }
}

export function colSum<B>(be: Backend<B>, m: View<B>, rows: number, out: View<B>): void {
  be.run('col_sum', { rows, cols: m.cols, offM: m.off, offOut: out.off }, { M: m.buf, Out: out.buf });
}

/** Partial sums of the loss a batch is split into (one workgroup each on the GPU); at most this many. */
export const LOSS_PARTS = 256;

// about 2048 elements a part (8 per thread), so that a small batch is not spread thin
const lossParts = (rows: number, cols: number) => Math.max(1, Math.min(LOSS_PARTS, rows, Math.ceil((rows * cols) / 2048)));

/**
 * The loss of a batch into `out`, through LOSS_PARTS partial sums in `parts`; with `grad`, the
 * partial sums pass also writes the loss's gradient there as it reads P and Y (a training step's way).
 */
export function lossValue<B>(be: Backend<B>, loss: LossKind, rows: number, p: View<B>, y: View<B>, out: View<B>, parts: View<B>, grad?: View<B>): void {
  const n = lossParts(rows, p.cols);
  const lp = { rows, cols: p.cols, loss, offP: p.off, offY: y.off, offOut: out.off, offPart: parts.off, parts: n };
  if (grad) be.run('loss_partial', { ...lp, offOut: grad.off, withGrad: true }, { P: p.buf, Y: y.buf, Part: parts.buf, Out: grad.buf });
  else be.run('loss_partial', lp, { P: p.buf, Y: y.buf, Part: parts.buf });
  be.run('loss_value', lp, { Part: parts.buf, Out: out.buf });
}

export function lossGrad<B>(be: Backend<B>, loss: LossKind, rows: number, p: View<B>, y: View<B>, out: View<B>): void {
  be.run('loss_grad', { rows, cols: p.cols, loss, offP: p.off, offY: y.off, offOut: out.off, offPart: 0, parts: 1 }, { P: p.buf, Y: y.buf, Out: out.buf });
}

/** Rows [start, start+count) of a matrix view. */
export const rowsOf = <B>(v: View<B>, start: number, count: number): View<B> =>
  ({ buf: v.buf, off: v.off + start * v.cols, rows: count, cols: v.cols });
