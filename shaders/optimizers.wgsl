// optimizers.wgsl — one pass over every parameter of a model: P, G and the state S1, S2 are flat
// f32 arrays of n elements (all layers' tensors back to back). One thread per element.
// First the loss gradient g = G[i] is clipped, then weight decay applies, then the rule (as PyTorch
// orders clip_grad_norm_ / clip_grad_value_, weight_decay and the optimizer's step):
//   CLIP_NORM:     g ·= min(1, clip / (√Norm[offNorm] + 1e-6))   (Norm: ‖G‖², grad_norm.wgsl's total)
//   CLIP_VALUE:    g = clamp(g, −clip, clip)
//   WEIGHT_DECAY:  g += wd·p;  with DECOUPLED (AdamW) p ·= 1 − lr·wd instead
//   OPT_SGD:       p −= lr·g
//   OPT_MOMENTUM:  v = μ·v + g;  p −= lr·v,  or with NESTEROV p −= lr·(g + μ·v)     (S1 = v)
//   OPT_RMSPROP:   s = ρ·s + (1−ρ)·g²;  p −= lr·g/√(s+ε)  or, without EPS_INSIDE, lr·g/(√s+ε)   (S1 = s)
//   OPT_ADAM:      m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//                  p −= lr·(m/bc1) / (√(v/bc2) + ε),  bc = 1 − β^t                 (S1 = m, S2 = v)
// h1 is μ, ρ or β1; h2 is β2; lr, bc1 and bc2 change every step (written before each submission).
struct Params { n: u32, lr: f32, h1: f32, h2: f32, eps: f32, bc1: f32, bc2: f32, wd: f32, clip: f32, offNorm: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> G: array<f32>;
#if HAS_S1
@group(0) @binding(3) var<storage, read_write> S1: array<f32>;
#endif
#if OPT_ADAM
@group(0) @binding(4) var<storage, read_write> S2: array<f32>;
#endif
#if CLIP_NORM
@group(0) @binding(5) var<storage, read_write> Norm: array<f32>;
#endif

@compute @workgroup_size(256)
fn update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  var g = G[i];
#if CLIP_NORM
  g = g * min(1.0, p.clip / (sqrt(Norm[p.offNorm]) + 1e-6));
#elif CLIP_VALUE
  g = clamp(g, -p.clip, p.clip);
#endif
  var w = P[i];
#if DECOUPLED
  w = w * (1.0 - p.lr * p.wd);
#elif WEIGHT_DECAY
  g = g + p.wd * w;
#endif
#if OPT_MOMENTUM
  let v = p.h1 * S1[i] + g;
  S1[i] = v;
#if NESTEROV
  P[i] = w - p.lr * (g + p.h1 * v);
#else
  P[i] = w - p.lr * v;
#endif
#elif OPT_RMSPROP
  let s = p.h1 * S1[i] + (1.0 - p.h1) * g * g;
  S1[i] = s;
#if EPS_INSIDE
  P[i] = w - p.lr * g / sqrt(s + p.eps);
#else
  P[i] = w - p.lr * g / (sqrt(s) + p.eps);
#endif
#elif OPT_ADAM
  let m = p.h1 * S1[i] + (1.0 - p.h1) * g;
  let v = p.h2 * S2[i] + (1.0 - p.h2) * g * g;
  S1[i] = m;
  S2[i] = v;
  P[i] = w - p.lr * (m / p.bc1) / (sqrt(v / p.bc2) + p.eps);
#else
  P[i] = w - p.lr * g;
#endif
}
