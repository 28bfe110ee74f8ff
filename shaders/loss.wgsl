// loss.wgsl — the loss of a batch and its gradient with respect to the prediction P[rows][cols].
//   mse:          mean over rows·cols of (P − Y)²          grad 2(P − Y)/(rows·cols)
//   halfMse:      ½·mse                                    grad (P − Y)/(rows·cols)
//   crossEntropy: P are logits; mean over rows of −Σ_c Y·log softmax(P)   grad (softmax(P) − Y)/rows
//   CLASS_INDEX:  Y[r] is row r's class y (PyTorch's class-index targets): the one-hot row of y,
//                 so the loss is lse − P[y] and the grad (softmax(P) − [c = y])/rows, the same bits
// Two passes make the loss, so that a large batch is summed by many workgroups, each in a fixed
// order: loss_partial's workgroup w sums the rows of part w (rows [w·R, (w+1)·R), R = ⌈rows /
// parts⌉; element-strided for the mse forms, so that reads are coalesced, row-strided for
// crossEntropy) and a tree in workgroup memory adds its 256 threads' sums into Part[w];
// loss_value, one workgroup, adds the parts the same way and normalises. WITH_GRAD: loss_partial
// also writes the gradient (loss_grad's, by the same functions, so the same bits) to Out while it
// reads P and Y: a training step's loss and gradient take one pass over them, not two.
struct Params { rows: u32, cols: u32, offP: u32, offY: u32, offOut: u32, offPart: u32, parts: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
@group(0) @binding(4) var<storage, read_write> Part: array<f32>;

var<workgroup> partial: array<f32, 256>;

#if LOSS_CE
// Row r's largest logit m and Σ_c exp(P − m): what both its loss and its gradient start from.
fn row_max_sum(r: u32) -> vec2<f32> {
  let b = r * p.cols;
  var m = P[p.offP + b];
  for (var c = 1u; c < p.cols; c++) { m = max(m, P[p.offP + b + c]); }
  var e = 0.0;
  for (var c = 0u; c < p.cols; c++) { e += exp(P[p.offP + b + c] - m); }
  return vec2(m, e);
}

// dLoss/dP of row r: (softmax(P_r) − Y_r) / rows
fn ce_grad_row(r: u32, me: vec2<f32>) {
  let b = r * p.cols;
#if CLASS_INDEX
  let y = u32(Y[p.offY + r]);
#endif
  for (var c = 0u; c < p.cols; c++) {
#if CLASS_INDEX
    let t = select(0.0, 1.0, c == y);
#else
    let t = Y[p.offY + b + c];
#endif
    Out[p.offOut + b + c] = (exp(P[p.offP + b + c] - me.x) / me.y - t) / f32(p.rows);
  }
}

fn row_loss(r: u32, me: vec2<f32>) -> f32 {
  let b = r * p.cols;
  let lse = me.x + log(me.y);
#if CLASS_INDEX
  // a class outside 0…cols−1 never comes here: the data is checked on the host (spec/sequential.ts)
  return lse - P[p.offP + b + min(u32(Y[p.offY + r]), p.cols - 1u)];
#else
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += Y[p.offY + b + c] * (lse - P[p.offP + b + c]); }
  return s;
#endif
}
#else
// dLoss/dP of element i, whose difference P − Y is d
fn mse_grad(i: u32, d: f32) {
#if LOSS_HALF_MSE
  Out[p.offOut + i] = d / f32(p.rows * p.cols);
#else
  Out[p.offOut + i] = 2.0 * d / f32(p.rows * p.cols);
#endif
}
#endif

/** Thread t's sum into partial[t], then the tree: partial[0] is the workgroup's sum. */
fn tree_sum(t: u32, s: f32) {
  partial[t] = s;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half >>= 1u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
}

@compute @workgroup_size(256)
fn loss_partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3u) {
  let per = (p.rows + p.parts - 1u) / p.parts;
  let r0 = min(p.rows, wg.x * per);
  let r1 = min(p.rows, r0 + per);
  var s = 0.0;
#if LOSS_CE
  for (var r = r0 + t; r < r1; r += 256u) {
    let me = row_max_sum(r);
    s += row_loss(r, me);
#if WITH_GRAD
    ce_grad_row(r, me);
#endif
  }
#else
  for (var i = r0 * p.cols + t; i < r1 * p.cols; i += 256u) {
    let d = P[p.offP + i] - Y[p.offY + i];
    s += d * d;
#if WITH_GRAD
    mse_grad(i, d);
#endif
  }
#endif
  tree_sum(t, s);
  if (t == 0u) { Part[p.offPart + wg.x] = partial[0]; }
}

@compute @workgroup_size(256)
fn loss_value(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var w = t; w < p.parts; w += 256u) { s += Part[p.offPart + w]; }
  tree_sum(t, s);
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
  ce_grad_row(i, row_max_sum(i));
#else
  if (i >= p.rows * p.cols) { return; }
  mse_grad(i, P[p.offP + i] - Y[p.offY + i]);
#endif
}
