// The cpu backend's matmul is register-blocked for speed; it must still be the definition — each
// Z[m][n] summed over k in order from 0 — to the bit, for every transpose and odd shape.
import { expect, test } from 'vitest';
import { matmul } from '../src/cpu/kernels.js';
import type { MatmulParams } from '../src/kernels.js';

function plain(p: MatmulParams, A: Float64Array, B: Float64Array, Bias: Float64Array, Add: Float64Array): Float64Array {
  const Z = new Float64Array(p.M * p.N);
  for (let m = 0; m < p.M; m++) {
    for (let n = 0; n < p.N; n++) {
      let s = 0;
      for (let k = 0; k < p.K; k++) {
        s += A[p.transA ? k * p.M + m : m * p.K + k] * B[p.transB ? n * p.K + k : k * p.N + n];
      }
      Z[m * p.N + n] = s + (p.hasBias ? Bias[n] : 0) + (p.hasAdd ? Add[m * p.N + n] : 0);
    }
  }
  return Z;
}

const random = (n: number, seed: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 3);

test.each([
  [1, 1, 1],
  [4, 4, 4],
  [5, 7, 3],
  [8, 12, 33],
  [13, 6, 17],
  [3, 9, 1],
  [16, 5, 8],
])('blocked matmul %i×%i×%i equals the plain triple loop to the bit, every transpose', (M, N, K) => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const A = random(M * K, M + 1),
        B = random(K * N, N + 2),
        Bias = random(N, 3),
        Add = random(M * N, 4);
      const p: MatmulParams = {
        M,
        N,
        K,
        transA,
        transB,
        act: 'identity',
        hasBias: true,
        hasAdd: K % 2 === 1,
        writeAct: false,
        aFromAct: false,
        aFromZ: false,
        mulDeriv: false,
        offD: 0,
        offA: 0,
        offB: 0,
        offZ: 0,
        offAct: 0,
        offBias: 0,
        offAdd: 0,
      };
      const Z = new Float64Array(M * N);
      matmul(p, { A, B, Z, Bias, Add });
      expect(Array.from(Z)).toEqual(Array.from(plain(p, A, B, Bias, Add)));
    }
  }
});
