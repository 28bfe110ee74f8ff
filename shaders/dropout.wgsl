// dropout.wgsl — inverted dropout with a counter-based mask (src/cpu/dropout.ts is the definition,
// in the same u32 arithmetic; src/nn/dropout.ts the layer):
//   Out[i] = In[i]·scale if mix(key + i) >> 8 ≥ threshold, else 0,  key = mix(mix(mix(seed) + step) + layer)
// No state: the mask is a function of (seed, step, layer, i), so a resumed run and the CPU twin
// draw the same one. The backward is this kernel applied to the gradient.
struct Params { n: u32, threshold: u32, scale: f32, seed: u32, step: u32, layer: u32, offIn: u32, offOut: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> In: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

// a 32-bit integer hash ("lowbias32"); u32 arithmetic wraps as Math.imul and >>> 0 do in JS
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

@compute @workgroup_size(256)
fn dropout(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let key = mix32(mix32(mix32(p.seed) + p.step) + p.layer);
  var v = 0.0;
  if ((mix32(key + i) >> 8u) >= p.threshold) { v = In[p.offIn + i] * p.scale; }
  Out[p.offOut + i] = v;
}
