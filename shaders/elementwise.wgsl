// elementwise.wgsl — activations applied outside a matmul and their backward passes.
//   act_backward:      dZ[i] = dA[i] · f'(Z[i], A[i])                  one thread per element
//   softmax_rows:      A[r][:] = softmax(Z[r][:])                      one thread per row
//   softmax_backward:  dZ[r][:] = A ⊙ (dA − Σ_c dA[r][c]·A[r][c])      one thread per row
// Matrices are row-major [rows][cols] at element offsets from Params.
struct Params { rows: u32, cols: u32, offZ: u32, offA: u32, offDA: u32, offDZ: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Z: array<f32>;
@group(0) @binding(2) var<storage, read_write> A: array<f32>;
@group(0) @binding(3) var<storage, read_write> dA: array<f32>;
@group(0) @binding(4) var<storage, read_write> dZ: array<f32>;

@compute @workgroup_size(256)
fn act_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.rows * p.cols) { return; }
  dZ[p.offDZ + i] = dA[p.offDA + i] * act_df(Z[p.offZ + i], A[p.offA + i]);
}

@compute @workgroup_size(64)
fn softmax_rows(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  let z0 = p.offZ + r * p.cols;
  let a0 = p.offA + r * p.cols;
  var m = Z[z0];
  for (var c = 1u; c < p.cols; c++) { m = max(m, Z[z0 + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += exp(Z[z0 + c] - m); }
  for (var c = 0u; c < p.cols; c++) { A[a0 + c] = exp(Z[z0 + c] - m) / s; }
}

@compute @workgroup_size(64)
fn softmax_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var dot = 0.0;
  for (var c = 0u; c < p.cols; c++) { dot += dA[p.offDA + base + c] * A[p.offA + base + c]; }
  for (var c = 0u; c < p.cols; c++) {
    dZ[p.offDZ + base + c] = A[p.offA + base + c] * (dA[p.offDA + base + c] - dot);
  }
}
