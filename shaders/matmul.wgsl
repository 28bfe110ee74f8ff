// matmul.wgsl — Z[M][N] = op(A)·op(B) (+ Bias[N]) (+ Add[M][N]); Act = f(Z) when WRITE_ACT;
// Z ⊙= f'(D) when MUL_DERIV (backpropagation through f fused into the product: D holds f(z), or z
// for square, so act_df(D, D) is f').
// Layout: row-major f32 at element offsets from Params. op(A) is [M][K]: A is stored [M][K], or
// [K][M] when TRANS_A. op(B) is [K][N]: B is stored [K][N], or [N][K] when TRANS_B (a dense layer's
// W[out][in] times x[batch][in] is A = x, B = W, TRANS_B).
// Register tiling: a workgroup of WX×WY threads computes a TM×TN tile (TM = 4·RA·WY, TN = 4·RB·WX);
// each thread owns RA×RB blocks of 4×4 outputs, the blocks WY·4 rows / WX·4 columns apart, so
// that a thread reads its operands from workgroup memory as vec4s and neighbouring threads read
// neighbouring vec4s. The next K-slice is fetched into registers while the current one is
// multiplied, and stored into the other half of the double-buffered tiles.
// Every element is summed over k in order 0..K-1: no atomics, the same bits on every run.
// A_FROM_ACT reads op(A) from the Act buffer (an RNN step reads h_t and writes h_t+1 of one
// buffer, and WebGPU forbids binding one buffer both read-only and writable); A_FROM_Z reads it
// from the Z buffer (backpropagation through time reads dz_t and writes dz_t-1 of one buffer).
// VEC4 (where offA, offB and both operands' contiguous dimensions are multiples of 4, and A is
// its own buffer): the tiles are fetched from global memory as vec4s, four times fewer loads and
// bounds checks; the same numbers reach workgroup memory, so the sums and their bits are the same.
// SPLIT (split-K, for outputs too small to fill the GPU): workgroup z sums only its range of k
// (⌈K / splits⌉ rounded up to 16, as splitRange in src/kernels.ts) into Z[z][M][N] from offZ, and
// the `reduce` entry point adds the partials up in order and applies bias, add, derivative and
// activation. With one range, `reduce` is the epilogue as a pass of its own (the large tiles').
struct Params { M: u32, N: u32, K: u32, offA: u32, offB: u32, offZ: u32, offAct: u32, offBias: u32, offAdd: u32, offD: u32, splits: u32 }
@group(0) @binding(0) var<uniform> p: Params;
#if A_FROM_ACT
#elif A_FROM_Z
#elif VEC4
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read> A: array<f32>;
#endif
#if VEC4
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
#else
@group(0) @binding(2) var<storage, read> B: array<f32>;
#endif
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
#if MUL_DERIV
@group(0) @binding(7) var<storage, read> D: array<f32>;
#endif
@group(0) @binding(8) var<storage, read> Part: array<f32>;

// Tile shapes (kernels.ts picks one per matrix shape). Plain constants rather than override
// constants: the driver then sees fixed loop bounds and keeps every array in registers.
#if TILE_BIG
const WX = 16u; const WY = 16u; const RA = 2u; const RB = 2u; const TK = 8u;
#elif TILE_BIG16
const WX = 16u; const WY = 16u; const RA = 2u; const RB = 2u; const TK = 16u;
#elif TILE_SMALL
const WX = 8u; const WY = 8u; const RA = 1u; const RB = 1u; const TK = 16u;
#else
const WX = 16u; const WY = 16u; const RA = 1u; const RB = 1u; const TK = 16u;
#endif
const TM = 4u * RA * WY;  // tile rows
const TN = 4u * RB * WX;  // tile columns
const THREADS = WX * WY;
const LOADS_A = TM * TK / THREADS;
const LOADS_B = TN * TK / THREADS;
const SA = TM / 4u; // vec4s per row of As
const SB = TN / 4u;
// Two of each, taken in turn: the next K-slice is stored into one while the other is multiplied,
// so that one barrier a slice suffices (2 × 8 KiB for the big tile: WebGPU's 16 KiB minimum;
// 2 × 16 KiB for big16, on devices that allow a workgroup 32 KiB).
// SINGLE_BUFFER (for benchmarks comparing): one of each and a second barrier before refilling it.
#if SINGLE_BUFFER
const HALVES = 1u;
#else
const HALVES = 2u;
#endif
var<workgroup> As: array<vec4<f32>, HALVES * TK * SA>; // [HALVES][TK][TM/4]
var<workgroup> Bs: array<vec4<f32>, HALVES * TK * SB>; // [HALVES][TK][TN/4]

// Where vec4 v of row k lies: rows are swizzled (v XOR k mod 8). A tile of a K-contiguous operand is
// stored by consecutive threads on consecutive k, one row apart, and rows of 32, 64 or 128 floats
// would put all of them in one bank of workgroup memory; swizzled, 8 consecutive k hit 8 banks.
// Rows are at least 8 vec4s long, so the XOR stays inside the row.
fn swz(k: u32, v: u32) -> u32 { return v ^ (k & 7u); }

#if VEC4
// A thread's share of the next K-slice, in registers between its fetch and its store.
alias RegsA = array<vec4<f32>, LOADS_A / 4u>;
alias RegsB = array<vec4<f32>, LOADS_B / 4u>;

// vec4 g of the A (or B) tile: 4 consecutive elements along the operand's contiguous dimension,
// consecutive threads on consecutive vec4s. (m or n, k) of its first element.
fn tileA(g: u32) -> vec2u {
#if TRANS_A
  return vec2u(4u * (g % (TM / 4u)), g / (TM / 4u));
#else
  return vec2u(g / (TK / 4u), 4u * (g % (TK / 4u)));
#endif
}

fn tileB(g: u32) -> vec2u {
#if TRANS_B
  return vec2u(g / (TK / 4u), 4u * (g % (TK / 4u)));
#else
  return vec2u(4u * (g % (TN / 4u)), g / (TN / 4u));
#endif
}

// The vec4 is wholly inside the operand or wholly outside (dimensions and ranges are multiples of 4).
fn loadA(m: u32, k: u32, kEnd: u32) -> vec4<f32> {
  if (m >= p.M || k >= kEnd) { return vec4(0.0); }
#if TRANS_A
  return A[(p.offA + k * p.M + m) / 4u];
#else
  return A[(p.offA + m * p.K + k) / 4u];
#endif
}

fn loadB(k: u32, n: u32, kEnd: u32) -> vec4<f32> {
  if (k >= kEnd || n >= p.N) { return vec4(0.0); }
#if TRANS_B
  return B[(p.offB + n * p.K + k) / 4u];
#else
  return B[(p.offB + k * p.N + n) / 4u];
#endif
}

fn fetchTiles(li: u32, row0: u32, col0: u32, k0: u32, kEnd: u32, ra: ptr<function, RegsA>, rb: ptr<function, RegsB>) {
  for (var i = 0u; i < LOADS_A / 4u; i++) { let t = tileA(li + i * THREADS); (*ra)[i] = loadA(row0 + t.x, k0 + t.y, kEnd); }
  for (var i = 0u; i < LOADS_B / 4u; i++) { let t = tileB(li + i * THREADS); (*rb)[i] = loadB(k0 + t.y, col0 + t.x, kEnd); }
}

// A vec4 along m (or n) is one vec4 of a tile row; one along k is one element of four rows.
fn storeTiles(half: u32, li: u32, ra: ptr<function, RegsA>, rb: ptr<function, RegsB>) {
  for (var i = 0u; i < LOADS_A / 4u; i++) {
    let t = tileA(li + i * THREADS);
#if TRANS_A
    As[half * TK * SA + t.y * SA + swz(t.y, t.x / 4u)] = (*ra)[i];
#else
    for (var j = 0u; j < 4u; j++) { As[half * TK * SA + (t.y + j) * SA + swz(t.y + j, t.x / 4u)][t.x % 4u] = (*ra)[i][j]; }
#endif
  }
  for (var i = 0u; i < LOADS_B / 4u; i++) {
    let t = tileB(li + i * THREADS);
#if TRANS_B
    for (var j = 0u; j < 4u; j++) { Bs[half * TK * SB + (t.y + j) * SB + swz(t.y + j, t.x / 4u)][t.x % 4u] = (*rb)[i][j]; }
#else
    Bs[half * TK * SB + t.y * SB + swz(t.y, t.x / 4u)] = (*rb)[i];
#endif
  }
}
#else
alias RegsA = array<f32, LOADS_A>;
alias RegsB = array<f32, LOADS_B>;

// Element e of the A (or B) tile, numbered so that consecutive threads read consecutive addresses
// of global memory: along K when the matrix is stored with K contiguous, else along M (or N).
fn tileA(e: u32) -> vec2u {
#if TRANS_A
  return vec2u(e % TM, e / TM); // (m, k)
#else
  return vec2u(e / TK, e % TK);
#endif
}

fn tileB(e: u32) -> vec2u {
#if TRANS_B
  return vec2u(e / TK, e % TK); // (n, k)
#else
  return vec2u(e % TN, e / TN);
#endif
}

// kEnd: the end of the workgroup's range of k (K unless split)
fn loadA(m: u32, k: u32, kEnd: u32) -> f32 {
  if (m >= p.M || k >= kEnd) { return 0.0; }
#if TRANS_A
  let i = p.offA + k * p.M + m;
#else
  let i = p.offA + m * p.K + k;
#endif
#if A_FROM_ACT
  return Act[i];
#elif A_FROM_Z
  return Z[i];
#else
  return A[i];
#endif
}

fn loadB(k: u32, n: u32, kEnd: u32) -> f32 {
  if (k >= kEnd || n >= p.N) { return 0.0; }
#if TRANS_B
  return B[p.offB + n * p.K + k];
#else
  return B[p.offB + k * p.N + n];
#endif
}

fn fetchTiles(li: u32, row0: u32, col0: u32, k0: u32, kEnd: u32, ra: ptr<function, RegsA>, rb: ptr<function, RegsB>) {
  for (var i = 0u; i < LOADS_A; i++) { let t = tileA(li + i * THREADS); (*ra)[i] = loadA(row0 + t.x, k0 + t.y, kEnd); }
  for (var i = 0u; i < LOADS_B; i++) { let t = tileB(li + i * THREADS); (*rb)[i] = loadB(k0 + t.y, col0 + t.x, kEnd); }
}

fn storeTiles(half: u32, li: u32, ra: ptr<function, RegsA>, rb: ptr<function, RegsB>) {
  for (var i = 0u; i < LOADS_A; i++) { let t = tileA(li + i * THREADS); As[half * TK * SA + t.y * SA + swz(t.y, t.x / 4u)][t.x % 4u] = (*ra)[i]; }
  for (var i = 0u; i < LOADS_B; i++) { let t = tileB(li + i * THREADS); Bs[half * TK * SB + t.y * SB + swz(t.y, t.x / 4u)][t.x % 4u] = (*rb)[i]; }
}
#endif

// Bias, Add and the activation are applied in a second pass over the thread's own outputs,
// re-read from Z: folding them into the store of the accumulators made the compiler spill the
// 128×128 tile's accumulators to local memory (17× slower on an H100).
fn epilogue(r: u32, c: u32) {
  if (r >= p.M || c >= p.N) { return; }
  finish(r, c, Z[p.offZ + r * p.N + c]);
}

// Z[r][c] = the sum + Bias + Add, ⊙ f'(D); Act = f(Z)
fn finish(r: u32, c: u32, sum: f32) {
  let i = p.offZ + r * p.N + c;
  var z = sum;
#if HAS_BIAS
  z += Bias[p.offBias + c];
#endif
#if HAS_ADD
  z += Add[p.offAdd + r * p.N + c];
#endif
#if MUL_DERIV
  let d = D[p.offD + r * p.N + c];
  z *= act_df(d, d);
#endif
  Z[i] = z;
#if WRITE_ACT
  Act[p.offAct + r * p.N + c] = act_f(z);
#endif
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
#if SPLIT
  let chunk = ((p.K + p.splits - 1u) / p.splits + 15u) / 16u * 16u;
  let kBegin = min(p.K, wg.z * chunk);
  let kEnd = min(p.K, kBegin + chunk);
  let offZ = p.offZ + wg.z * p.M * p.N;
#else
  let kBegin = 0u;
  let kEnd = p.K;
  let offZ = p.offZ;
#endif
  var acc: array<array<vec4<f32>, RB>, 4u * RA>; // [row][column block] of 4 columns
  var ra: RegsA;
  var rb: RegsB;
  fetchTiles(li, row0, col0, kBegin, kEnd, &ra, &rb);
  storeTiles(0u, li, &ra, &rb);
  workgroupBarrier();
  var half = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += TK) {
    let k1 = k0 + TK;
    if (k1 < kEnd) { fetchTiles(li, row0, col0, k1, kEnd, &ra, &rb); }
    let a0 = half * TK * SA;
    let b0 = half * TK * SB;
    for (var kk = 0u; kk < TK; kk++) {
      var a: array<vec4<f32>, RA>;
      var b: array<vec4<f32>, RB>;
      for (var i = 0u; i < RA; i++) { a[i] = As[a0 + kk * SA + swz(kk, lid.y + i * WY)]; }
      for (var j = 0u; j < RB; j++) { b[j] = Bs[b0 + kk * SB + swz(kk, lid.x + j * WX)]; }
      for (var i = 0u; i < RA; i++) {
        for (var j = 0u; j < RB; j++) {
          acc[4u * i][j] = fma(vec4(a[i].x), b[j], acc[4u * i][j]);
          acc[4u * i + 1u][j] = fma(vec4(a[i].y), b[j], acc[4u * i + 1u][j]);
          acc[4u * i + 2u][j] = fma(vec4(a[i].z), b[j], acc[4u * i + 2u][j]);
          acc[4u * i + 3u][j] = fma(vec4(a[i].w), b[j], acc[4u * i + 3u][j]);
        }
      }
    }
#if SINGLE_BUFFER
    workgroupBarrier(); // every thread done reading before the one buffer is refilled
#endif
    // the other half was last read before the previous barrier: free to fill
    let next = (half + 1u) % HALVES;
    if (k1 < kEnd) { storeTiles(next, li, &ra, &rb); }
    workgroupBarrier();
    half = next;
  }
  for (var i = 0u; i < 4u * RA; i++) {
    let r = row0 + (i / 4u) * WY * 4u + lid.y * 4u + i % 4u;
    if (r < p.M) {
      for (var jb = 0u; jb < RB; jb++) {
        let c = col0 + jb * WX * 4u + lid.x * 4u;
        let v = acc[i][jb];
        let o = offZ + r * p.N + c;
        if (c < p.N) { Z[o] = v.x; }
        if (c + 1u < p.N) { Z[o + 1u] = v.y; }
        if (c + 2u < p.N) { Z[o + 2u] = v.z; }
        if (c + 3u < p.N) { Z[o + 3u] = v.w; }
      }
    }
  }
#if EPILOGUE
  for (var i = 0u; i < 4u * RA; i++) {
    for (var j = 0u; j < 4u * RB; j++) {
      epilogue(row0 + (i / 4u) * WY * 4u + lid.y * 4u + i % 4u, col0 + (j / 4u) * WX * 4u + lid.x * 4u + j % 4u);
    }
  }
#endif
}

// Split-K's second pass, one thread per output: Z = Part[0] + Part[1] + … (in that order), then finish.
@compute @workgroup_size(256)
fn reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let MN = p.M * p.N;
  if (i >= MN) { return; }
  var z = Part[i];
  for (var s = 1u; s < p.splits; s++) { z += Part[s * MN + i]; }
  finish(i / p.N, i % p.N, z);
}
