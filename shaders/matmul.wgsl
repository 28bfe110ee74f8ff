// matmul.wgsl — Z[M][N] = op(A)·op(B) (+ Bias[N]) (+ Add[M][N]); Act = f(Z) when WRITE_ACT.
// Layout: row-major f32 at element offsets from Params. op(A) is [M][K]: A is stored [M][K], or
// [K][M] when TRANS_A. op(B) is [K][N]: B is stored [K][N], or [N][K] when TRANS_B (a dense layer's
// W[out][in] times x[batch][in] is A = x, B = W, TRANS_B).
// Each workgroup computes a TM x TN tile with 16x16 threads, each thread a 4x4 block of outputs
// strided by 16 so that neighbouring threads read neighbouring words of workgroup memory.
// Every element is summed over k in order 0..K-1: no atomics, the same bits on every run.
// A_FROM_ACT reads op(A) from the Act buffer (an RNN step reads h_t and writes h_t+1 of one
// buffer, and WebGPU forbids binding one buffer both read-only and writable).
struct Params { M: u32, N: u32, K: u32, offA: u32, offB: u32, offZ: u32, offAct: u32, offBias: u32, offAdd: u32 }
@group(0) @binding(0) var<uniform> p: Params;
#if A_FROM_ACT
#else
@group(0) @binding(1) var<storage, read> A: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Z: array<f32>;
#if WRITE_ACT
@group(0) @binding(4) var<storage, read_write> Act: array<f32>;
#endif
#if HAS_BIAS
@group(0) @binding(5) var<storage, read> Bias: array<f32>;
#endif
#if HAS_ADD
@group(0) @binding(6) var<storage, read> Add: array<f32>;
#endif

const TM = 64u;
const TN = 64u;
const TK = 16u;
var<workgroup> As: array<f32, 1024>; // [TK][TM]
var<workgroup> Bs: array<f32, 1024>; // [TK][TN]

fn loadA(m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
#if TRANS_A
  let i = p.offA + k * p.M + m;
#else
  let i = p.offA + m * p.K + k;
#endif
#if A_FROM_ACT
  return Act[i];
#else
  return A[i];
#endif
}

fn loadB(k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
#if TRANS_B
  return B[p.offB + n * p.K + k];
#else
  return B[p.offB + k * p.N + n];
#endif
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      // Consecutive threads read consecutive addresses of global memory.
#if TRANS_A
      let ka = e / TM; let ma = e % TM;
#else
      let ka = e % TK; let ma = e / TK;
#endif
      As[ka * TM + ma] = loadA(row0 + ma, k0 + ka);
#if TRANS_B
      let kb = e % TK; let nb = e / TK;
#else
      let kb = e / TN; let nb = e % TN;
#endif
      Bs[kb * TN + nb] = loadB(k0 + kb, col0 + nb);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[kk * TM + lid.y + i * 16u]; }
      for (var j = 0u; j < 4u; j++) { b[j] = Bs[kk * TN + lid.x + j * 16u]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y + i * 16u;
    if (r >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x + j * 16u;
      if (c >= p.N) { continue; }
      var z = acc[i][j];
#if HAS_BIAS
      z += Bias[p.offBias + c];
#endif
#if HAS_ADD
      z += Add[p.offAdd + r * p.N + c];
#endif
      Z[p.offZ + r * p.N + c] = z;
#if WRITE_ACT
      Act[p.offAct + r * p.N + c] = act_f(z);
#endif
    }
  }
}
