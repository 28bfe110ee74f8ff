// reduce.wgsl — column sums: Out[c] = Σ_r M[r][c] over a row-major M[rows][cols] (bias gradients).
// A workgroup takes 16 neighbouring columns; each of its 16 rows of threads takes every 16th row
// of M (thread row s: rows s, s+16, s+32, …, in four running sums so that four loads are in
// flight), and a tree in workgroup memory adds the 16 partial sums of each column. A tall M (an
// RNN's T·batch rows) is so read by 16 times as many threads as columns, each with a short loop,
// rather than one thread per column walking every row; the order of every addition is still fixed.
struct Params { rows: u32, cols: u32, offM: u32, offOut: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> M: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

const COLS = 16u;
const SLICES = 16u;
var<workgroup> part: array<f32, 256>; // [slice][column]

@compute @workgroup_size(16, 16)
fn col_sum(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = (wg.x + wg.y * nwg.x) * COLS + lid.x;
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  if (c < p.cols) {
    let at = p.offM + c;
    var r = lid.y;
    for (; r + 3u * SLICES < p.rows; r += 4u * SLICES) {
      s0 += M[at + r * p.cols];
      s1 += M[at + (r + SLICES) * p.cols];
      s2 += M[at + (r + 2u * SLICES) * p.cols];
      s3 += M[at + (r + 3u * SLICES) * p.cols];
    }
    for (; r < p.rows; r += SLICES) { s0 += M[at + r * p.cols]; }
  }
  part[lid.y * COLS + lid.x] = (s0 + s1) + (s2 + s3);
  workgroupBarrier();
  for (var half = SLICES / 2u; half > 0u; half >>= 1u) {
    if (lid.y < half) { part[lid.y * COLS + lid.x] += part[(lid.y + half) * COLS + lid.x]; }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < p.cols) { Out[p.offOut + c] = part[lid.x]; }
}
