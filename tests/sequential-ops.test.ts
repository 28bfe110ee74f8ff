// The LSTM and GRU cell kernels (shaders/recurrent.wgsl, src/cpu/recurrent.ts): the float64 twin's
// backward against central finite differences of its own forward, and each webgpu kernel against
// the twin, at offsets and with a batch·H that leaves a partial workgroup.
import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.js';
import { gru_cell, gru_cell_backward, lstm_cell, lstm_cell_backward } from '../src/cpu/recurrent.js';
import type { CellParams } from '../src/kernels.js';
import { kernelError as against, seededNumbers as rand } from '../src/verify/kernelChecks.js';
import { backendCases, describeBackends } from './backends.js';

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
const F = (v: number[]) => Float64Array.from(v);
const EPS = 1e-6;

// L = Σ wh ⊙ h_t + Σ wc ⊙ c_t of the forward from pre-activations a and c_{t−1}: the backward with
// dH = wh and the carry dC = wc must give dL/da (dG) and dL/dc_{t−1} (dC afterwards).
test('lstm_cell_backward (cpu twin) is the gradient of lstm_cell: central differences, to 1e-8', () => {
  const B = 3,
    H = 4,
    n = B * H;
  const a = rand(4 * n, 11).map((v) => 2 * v),
    cp = rand(n, 12),
    wh = rand(n, 13),
    wc = rand(n, 14);
  const L = (a0: number[], c0: number[]) => {
    const G = F(a0),
      C = F([...c0, ...new Array(n).fill(0)]),
      Hs = new Float64Array(n);
    lstm_cell(cell(B, H, { offCPrev: 0, offC: n }), { G, C, Hs });
    let s = 0;
    for (let i = 0; i < n; i++) s += wh[i] * Hs[i] + wc[i] * C[n + i];
    return s;
  };
  const G = F(a),
    C = F([...cp, ...new Array(n).fill(0)]),
    Hs = new Float64Array(n);
  lstm_cell(cell(B, H, { offC: n }), { G, C, Hs });
  const dG = new Float64Array(4 * n),
    dC = F(wc);
  lstm_cell_backward(cell(B, H, { offC: n, hasCarry: true }), { dH: F(wh), G, C, dC, dG });
  const fd = (f: (d: number) => number) => (f(EPS) - f(-EPS)) / (2 * EPS);
  let worst = 0;
  for (let i = 0; i < 4 * n; i++)
    worst = Math.max(
      worst,
      Math.abs(
        dG[i] -
          fd((d) =>
            L(
              a.map((v, j) => (j === i ? v + d : v)),
              cp,
            ),
          ),
      ),
    );
  for (let i = 0; i < n; i++)
    worst = Math.max(
      worst,
      Math.abs(
        dC[i] -
          fd((d) =>
            L(
              a,
              cp.map((v, j) => (j === i ? v + d : v)),
            ),
          ),
      ),
    );
  expect(worst).toBeLessThan(1e-8);
});

// L = Σ wh ⊙ h_t of the forward from X, Gh and h_{t−1}: dG = dL/dX, dGh = dL/dGh, and the carry
// dL/dh_{t−1} (the direct part, z ⊙ dh; the rest flows through Gh = h·W_hhᵀ) plus dOut_{t−1}.
test('gru_cell_backward (cpu twin) is the gradient of gru_cell: central differences, to 1e-8', () => {
  const B = 2,
    H = 5,
    n = B * H;
  const x = rand(3 * n, 21).map((v) => 2 * v),
    gh = rand(3 * n, 22).map((v) => 2 * v),
    hp = rand(n, 23),
    wh = rand(n, 24),
    dout = rand(n, 25);
  const L = (x0: number[], g0: number[], h0: number[]) => {
    const Hs = F([...h0, ...new Array(n).fill(0)]);
    gru_cell(cell(B, H, { offH: n }), { X: F(x0), Gh: F(g0), G: new Float64Array(3 * n), Hs });
    let s = 0;
    for (let i = 0; i < n; i++) s += wh[i] * Hs[n + i];
    return s;
  };
  const Hs = F([...hp, ...new Array(n).fill(0)]),
    G = new Float64Array(3 * n);
  gru_cell(cell(B, H, { offH: n }), { X: F(x), Gh: F(gh), G, Hs });
  const dG = new Float64Array(3 * n),
    dGh = new Float64Array(3 * n),
    Carry = new Float64Array(n);
  gru_cell_backward(cell(B, H, { hasCarry: true, hasDOut: true }), { dH: F(wh), G, Gh: F(gh), Hs, dG, dGh, Carry, DOut: F(dout) });
  const fd = (f: (d: number) => number) => (f(EPS) - f(-EPS)) / (2 * EPS);
  const bump = (v: number[], i: number, d: number) => v.map((u, j) => (j === i ? u + d : u));
  let worst = 0;
  for (let i = 0; i < 3 * n; i++) {
    worst = Math.max(worst, Math.abs(dG[i] - fd((d) => L(bump(x, i, d), gh, hp))));
    worst = Math.max(worst, Math.abs(dGh[i] - fd((d) => L(x, bump(gh, i, d), hp))));
  }
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(Carry[i] - dout[i] - fd((d) => L(x, gh, bump(hp, i, d)))));
  expect(worst).toBeLessThan(1e-8);
});

test('a cell kernel runs through the cpu backend as the twin it names', () => {
  const be = new CpuBackend(),
    n = 6;
  const G = be.buffer(4 * n, 'G'),
    C = be.buffer(2 * n, 'C'),
    Hs = be.buffer(n, 'H');
  be.write(G, rand(4 * n, 3));
  be.run('lstm_cell', cell(2, 3, { offC: n }), { G, C, Hs });
  expect(Array.from(Hs).every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
});

const backends = await backendCases();
describeBackends(
  backends.filter((b) => b.name !== 'cpu'),
  'cell kernels on %s against the float64 twin',
  (_, be) => {
    const tol = 1e-5;
    // batch 7 × H 43 = 301 threads: one full workgroup of 256 and a partial one; offsets everywhere
    const [B, H] = [7, 43],
      n = B * H;
    test('lstm_cell', async () =>
      expect(
        await against(be, 'lstm_cell', cell(B, H, { offG: 5, offCPrev: 2, offC: 2 + n, offH: 3 }), { G: 5 + 4 * n, C: 2 + 2 * n, Hs: 3 + n }, ['G', 'C', 'Hs']),
      ).toBeLessThanOrEqual(tol));
    test.each([false, true])('lstm_cell_backward, carry %s', async (hasCarry) =>
      expect(
        await against(
          be,
          'lstm_cell_backward',
          cell(B, H, { offDH: 1, offG: 4, offCPrev: 0, offC: n, offDC: 2, offDG: 3, hasCarry }),
          { dH: 1 + n, G: 4 + 4 * n, C: 2 * n, dC: 2 + n, dG: 3 + 4 * n },
          ['dC', 'dG'],
          ['G'],
        ),
      ).toBeLessThanOrEqual(tol),
    );
    test('gru_cell', async () =>
      expect(
        await against(
          be,
          'gru_cell',
          cell(B, H, { offX: 3, offGh: 1, offG: 2, offHPrev: 4, offH: 4 + n }),
          { X: 3 + 3 * n, Gh: 1 + 3 * n, G: 2 + 3 * n, Hs: 4 + 2 * n },
          ['G', 'Hs'],
        ),
      ).toBeLessThanOrEqual(tol));
    test.each([
      [false, false],
      [true, false],
      [true, true],
    ])('gru_cell_backward, carry %s, dOut %s', async (hasCarry, hasDOut) => {
      const sizes: Record<string, number> = {
        dH: 2 + n,
        G: 1 + 3 * n,
        Gh: 3 * n,
        Hs: 5 + n,
        dG: 3 + 3 * n,
        dGh: 4 + 3 * n,
        ...(hasCarry ? { Carry: 6 + n } : {}),
        ...(hasDOut ? { DOut: 7 + n } : {}),
      };
      const p = cell(B, H, { offDH: 2, offG: 1, offHPrev: 5, offDG: 3, offDGh: 4, offCarry: 6, offDOut: 7, hasCarry, hasDOut });
      expect(await against(be, 'gru_cell_backward', p, sizes, ['dG', 'dGh', ...(hasCarry ? ['Carry'] : [])], ['G'])).toBeLessThanOrEqual(tol);
    });
  },
);
