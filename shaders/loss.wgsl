// loss.wgsl — the loss of a batch and its gradient with respect to the prediction P[rows][cols].
//   mse:          mean over rows·cols of (P − Y)²          grad 2(P − Y)/(rows·cols)
//   halfMse:      ½·mse                                    grad (P − Y)/(rows·cols)
//   crossEntropy: P are logits; mean over rows of −Σ_c Y·log softmax(P)   grad (softmax(P) − Y)/rows
// loss_value runs as one workgroup: thread t sums rows t, t+256, …, then a tree in workgroup
// memory adds the 256 partial sums, so the order of every addition is fixed.
struct Params { rows: u32, cols: u32, offP: u32, offY: u32, offOut: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn row_loss(r: u32) -> f32 {
  let b = r * p.cols;
  var s = 0.0;
#if LOSS_CE
  var m = P[p.offP + b];
  for (var c = 1u; c < p.cols; c++) { m = max(m, P[p.offP + b + c]); }
  var e = 0.0;
  for (var c = 0u; c < p.cols; c++) { e += exp(P[p.offP + b + c] - m); }
  let lse = m + log(e);
  for (var c = 0u; c < p.cols; c++) { s += Y[p.offY + b + c] * (lse - P[p.offP + b + c]); }
#else
  for (var c = 0u; c < p.cols; c++) {
    let d = P[p.offP + b + c] - Y[p.offY + b + c];
    s += d * d;
  }
#endif
  return s;
}

@compute @workgroup_size(256)
fn loss_value(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var r = t; r < p.rows; r += 256u) { s += row_loss(r); }
  partial[t] = s;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half >>= 1u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) {
#if LOSS_CE
    Out[p.offOut] = partial[0] / f32(p.rows);
#elif LOSS_HALF_MSE
    Out[p.offOut] = 0.5 * partial[0] / f32(p.rows * p.cols);
#else
    Out[p.offOut] = partial[0] / f32(p.rows * p.cols);
#endif
  }
}

// One thread per element for the mse forms, one thread per row for crossEntropy.
@compute @workgroup_size(256)
fn loss_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
#if LOSS_CE
  if (i >= p.rows) { return; }
  let b = i * p.cols;
  var m = P[p.offP + b];
  for (var c = 1u; c < p.cols; c++) { m = max(m, P[p.offP + b + c]); }
  var e = 0.0;
  for (var c = 0u; c < p.cols; c++) { e += exp(P[p.offP + b + c] - m); }
  for (var c = 0u; c < p.cols; c++) {
    Out[p.offOut + b + c] = (exp(P[p.offP + b + c] - m) / e - Y[p.offY + b + c]) / f32(p.rows);
  }
#else
  if (i >= p.rows * p.cols) { return; }
  let d = P[p.offP + i] - Y[p.offY + i];
#if LOSS_HALF_MSE
  Out[p.offOut + i] = d / f32(p.rows * p.cols);
#else
  Out[p.offOut + i] = 2.0 * d / f32(p.rows * p.cols);
#endif
#endif
}
