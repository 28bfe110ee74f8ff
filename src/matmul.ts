// The `matmul` kernel's entry point: turns views of one product (with its fused epilogue) into
// MatmulParams and runs it as the backend plans it (one pass, split-K, or a separate epilogue
// pass). It is part of the contract, below both nn/ (which multiplies) and webgpu/ (whose tuner
// times the variants), so neither imports the other; see ARCHITECTURE.md.
import type { Backend, View } from './backend.js';
import { type Act, hasEpilogue, type MatmulParams, type MatmulTile } from './kernels.js';

export interface MatmulArgs<B> {
  /** where Z = op(a)·op(b) (+ bias) (+ add) goes, [M][N] */
  z: View<B>;
  a: View<B>;
  b: View<B>;
  transA?: boolean;
  transB?: boolean;
  bias?: View<B>;
  add?: View<B>;
  /** activation written to `act` (softmax is applied afterwards, row by row) */
  activation?: Act;
  act?: View<B>;
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
  const transA = o.transA ?? false,
    transB = o.transB ?? false;
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
  if (through && (fused || o.bias || through.act === 'softmax'))
    throw new Error(`matmul: backpropagation through ${through.act} cannot be fused with bias or an activation`);
  // f' needs a = f(z), except square's, which needs z
  const d = through && (through.act === 'square' ? through.z : through.a);
  const p0: MatmulParams = {
    M,
    N,
    K,
    transA,
    transB,
    act: fused ? activation : ((through?.act ?? 'identity') as Exclude<Act, 'softmax'>),
    writeAct: fused,
    hasBias: !!o.bias,
    hasAdd: !!o.add,
    aFromAct,
    aFromZ,
    mulDeriv: !!through,
    offA: o.a.off,
    offB: o.b.off,
    offZ: o.z.off,
    offAct: fused ? o.act!.off : 0,
    offBias: o.bias?.off ?? 0,
    offAdd: o.add?.off ?? 0,
    offD: d?.off ?? 0,
    tile: o.tile,
    singleBuffer: o.singleBuffer,
    vec4: o.vec4,
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
    be.run(
      'matmul',
      { ...p, splits, aFromAct: false, aFromZ: false, hasBias: false, hasAdd: false, writeAct: false, mulDeriv: false, act: 'identity', offZ: 0 },
      { A: o.a.buf, B: o.b.buf, Z: part },
    );
    be.run('matmul_reduce', { ...p, splits }, { Part: part, ...out });
  } else {
    be.run('matmul', p, { A: aFromAct || aFromZ ? undefined : o.a.buf, B: o.b.buf, ...out });
  }
  if (activation === 'softmax') softmaxRows(be, o.z, o.act!, M, N);
}

function softmaxRows<B>(be: Backend<B>, z: View<B>, a: View<B>, rows: number, cols: number): void {
  be.run('softmax_rows', { rows, cols, act: 'softmax', offZ: z.off, offA: a.off, offDA: 0, offDZ: 0 }, { Z: z.buf, A: a.buf });
}
