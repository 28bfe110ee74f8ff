// Thin helpers that turn views into kernel calls, so that layers read like the math.
import type { Backend, View } from '../backend.js';
import type { Act, LossKind, MatmulParams } from '../kernels.js';

// The product's entry point is named as its kernel and sits below nn/ and webgpu/ (webgpu/tune.ts
// times it); see ARCHITECTURE.md, "The parts".
export { matmul, type MatmulArgs } from '../matmul.js';

/** The products `record` asks the backend to plan while it records them (the work itself is done as usual). */
export function productsOf<B>(be: Backend<B>, record: () => void): MatmulParams[] {
  const plan = be.matmulPlan;
  if (!plan) {
    record();
    return [];
  }
  const seen: MatmulParams[] = [];
  be.matmulPlan = (p) => {
    seen.push(p);
    return plan.call(be, p);
  };
  try {
    record();
  } finally {
    be.matmulPlan = plan;
  }
  return seen;
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
export function lossValue<B>(be: Backend<B>, loss: LossKind, rows: number, p: View<B>, y: Targets<B>, out: View<B>, parts: View<B>, grad?: View<B>): void {
  const n = lossParts(rows, p.cols);
  const lp = {
    rows,
    cols: p.cols,
    loss,
    offP: p.off,
    offY: y.off,
    offOut: out.off,
    offPart: parts.off,
    parts: n,
    classIndex: loss === 'crossEntropy' && y.classIndex,
  };
  if (grad) be.run('loss_partial', { ...lp, offOut: grad.off, withGrad: true }, { P: p.buf, Y: y.buf, Part: parts.buf, Out: grad.buf });
  else be.run('loss_partial', lp, { P: p.buf, Y: y.buf, Part: parts.buf });
  be.run('loss_value', lp, { Part: parts.buf, Out: out.buf });
}

export function lossGrad<B>(be: Backend<B>, loss: LossKind, rows: number, p: View<B>, y: Targets<B>, out: View<B>): void {
  be.run(
    'loss_grad',
    { rows, cols: p.cols, loss, offP: p.off, offY: y.off, offOut: out.off, offPart: 0, parts: 1, classIndex: loss === 'crossEntropy' && y.classIndex },
    { P: p.buf, Y: y.buf, Out: out.buf },
  );
}

/**
 * The targets of a loss, saying whether they are class indices (one a row, PyTorch's
 * CrossEntropyLoss form, Dataset.classIndex) or rows as wide as the prediction's. The shapes
 * cannot tell: with one output, index 0 and a one-hot 0 are the same column but not the same target.
 */
export type Targets<B> = View<B> & { classIndex: boolean };

/** Rows [start, start+count) of a matrix view. */
export const rowsOf = <B>(v: View<B>, start: number, count: number): View<B> => ({ buf: v.buf, off: v.off + start * v.cols, rows: count, cols: v.cols });
