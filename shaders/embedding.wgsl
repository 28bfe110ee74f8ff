// embedding.wgsl — an embedding's rows and its weight's gradient (src/cpu/embedding.ts is the
// float64 definition; src/nn/embedding.ts the layer). W: [vocab][units]; ids one a row, stored as
// f32 (exact below 2^24).
//   embedding:          Out[r][d] = W[Idx[r]][d]      one thread per (r, d); 0 for an id outside 0…vocab−1
//   embedding_backward: dW[v][d] = Σ_{r: Idx[r] = v} dOut[r][d]
// The backward has one workgroup per vocabulary row v (and block of 256 units d), one thread per
// d: the workgroup reads the ids 256 at a time into workgroup memory, and each thread walks them
// from r = 0 upwards, summing from 0 the rows whose id is v: a fixed order without atomics, so the
// same bits every run and the CPU twin's order; the ids are read once per v, not once per (v, d).
struct Params { rows: u32, units: u32, vocab: u32, offIdx: u32, offW: u32, offOut: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Idx: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
@group(0) @binding(4) var<storage, read> dOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> dW: array<f32>;

@compute @workgroup_size(256)
fn embedding(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= p.rows * p.units) { return; }
  let r = e / p.units;
  let d = e % p.units;
  let id = Idx[p.offIdx + r];
  var v = 0.0;
  if (id >= 0.0 && id < f32(p.vocab) && floor(id) == id) { v = W[p.offW + u32(id) * p.units + d]; }
  Out[p.offOut + e] = v;
}

var<workgroup> ids: array<f32, 256>;

// workgroup (x + 65535·z, y): vocabulary row v = x + 65535·z, units [256·y, 256·y + 256)
@compute @workgroup_size(256)
fn embedding_backward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u) {
  let v = wg.x + wg.z * 65535u;
  if (v >= p.vocab) { return; } // the whole workgroup: its barriers stay uniform
  let d = wg.y * 256u + t;
  let fv = f32(v);
  var s = 0.0;
  for (var r0 = 0u; r0 < p.rows; r0 += 256u) {
    workgroupBarrier(); // the previous chunk has been read by every thread
    if (r0 + t < p.rows) { ids[t] = Idx[p.offIdx + r0 + t]; }
    workgroupBarrier();
    let n = min(256u, p.rows - r0);
    if (d < p.units) {
      for (var k = 0u; k < n; k++) {
        if (ids[k] == fv) { s += dOut[p.offOut + (r0 + k) * p.units + d]; }
      }
    }
  }
  if (d < p.units) { dW[p.offW + v * p.units + d] = s; }
}
