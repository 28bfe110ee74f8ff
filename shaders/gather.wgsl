// gather.wgsl — assembles a mini-batch from data kept on the GPU, in the order of an index list:
//   Out[t][r][i] = In[Idx[offIdx + r]][t][i]   for r < rows, t < steps, i < features
// In holds whole samples [n][steps][features]; Out is the batch, time-major for an RNN
// ([steps][rows][features]; steps = 1 for an MLP). Indices are stored as f32 (exact below 2^24).
struct Params { rows: u32, steps: u32, features: u32, offIdx: u32, offIn: u32, offOut: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Idx: array<f32>;
@group(0) @binding(2) var<storage, read> In: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= p.rows * p.steps * p.features) { return; }
  let i = e % p.features;
  let r = (e / p.features) % p.rows;
  let t = e / (p.features * p.rows);
  let sample = u32(Idx[p.offIdx + r]);
  Out[p.offOut + e] = In[p.offIn + (sample * p.steps + t) * p.features + i];
}
