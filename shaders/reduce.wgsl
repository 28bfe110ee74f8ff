// reduce.wgsl — column sums: Out[c] = Σ_r M[r][c] over a row-major M[rows][cols] (bias gradients).
// One thread per column adds the rows in order 0..rows-1; neighbouring threads read neighbouring words.
struct Params { rows: u32, cols: u32, offM: u32, offOut: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> M: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(64)
fn col_sum(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { s += M[p.offM + r * p.cols + c]; }
  Out[p.offOut + c] = s;
}
