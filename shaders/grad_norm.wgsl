// grad_norm.wgsl — ‖G‖², the square of the global gradient norm that clipNorm scales by, in two
// passes, each summing in a fixed order (the cpu twin, grad_norm_partial and grad_norm_total in
// src/cpu/kernels.ts, writes the same order out):
//   grad_norm_partial: workgroup w sums part w of G, [w·R, min(n, (w+1)·R)), R = ⌈n / parts⌉: thread t
//                      takes elements t, t+256, …, and a tree in workgroup memory adds the 256 sums
//                      into Part[offPart + w];
//   grad_norm_total:   one workgroup adds the parts (thread t: parts t, t+256, …; then the tree) into
//                      Part[offOut], which the update kernel reads in the same submission: no read-back.
struct Params { n: u32, parts: u32, offPart: u32, offOut: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Part: array<f32>;

var<workgroup> lanes: array<f32, 256>;

fn tree(t: u32, s: f32) {
  lanes[t] = s;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half >>= 1u) {
    if (t < half) { lanes[t] += lanes[t + half]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn grad_norm_partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u) {
  let per = (p.n + p.parts - 1u) / p.parts;
  let r0 = min(p.n, wg.x * per);
  let r1 = min(p.n, r0 + per);
  var s = 0.0;
  for (var i = r0 + t; i < r1; i += 256u) { let g = G[i]; s += g * g; }
  tree(t, s);
  if (t == 0u) { Part[p.offPart + wg.x] = lanes[0]; }
}

@compute @workgroup_size(256)
fn grad_norm_total(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var w = t; w < p.parts; w += 256u) { s += Part[p.offPart + w]; }
  tree(t, s);
  if (t == 0u) { Part[p.offOut] = lanes[0]; }
}
