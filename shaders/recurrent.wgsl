// recurrent.wgsl — one time step of an LSTM or GRU cell over a batch, after the step's products.
// One thread per (row, unit); the expressions are those of src/cpu/recurrent.ts, in the same
// order (that file is the definition; the equations are written there). Gate blocks are
// [batch][G·H] with the gates side by side in PyTorch's order (LSTM i, f, g, o; GRU r, z, n).
//   lstm_cell:           G (pre-activations → activations, in place), c_t, h_t
//   lstm_cell_backward:  dG from dh_t and the carried dc; dC ← dc ⊙ f
//   gru_cell:            G = r, z, n; h_t
//   gru_cell_backward:   dG (x side), dGh (h side), Carry = dh ⊙ z (+ dOut_{t−1})
struct Params {
  batch: u32, H: u32,
  offG: u32, offX: u32, offGh: u32, offC: u32, offCPrev: u32, offH: u32, offHPrev: u32,
  offDH: u32, offDC: u32, offDG: u32, offDGh: u32, offCarry: u32, offDOut: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read_write> Hs: array<f32>;
@group(0) @binding(4) var<storage, read_write> X: array<f32>;
@group(0) @binding(5) var<storage, read_write> Gh: array<f32>;
@group(0) @binding(6) var<storage, read_write> dH: array<f32>;
@group(0) @binding(7) var<storage, read_write> dC: array<f32>;
@group(0) @binding(8) var<storage, read_write> dG: array<f32>;
@group(0) @binding(9) var<storage, read_write> dGh: array<f32>;
@group(0) @binding(10) var<storage, read_write> Carry: array<f32>;
@group(0) @binding(11) var<storage, read_write> DOut: array<f32>;

fn sigmoid(z: f32) -> f32 { return 1.0 / (1.0 + exp(-z)); }

// (row, unit) of this thread, or false past the batch
fn unit(gid: vec3u, nwg: vec3u) -> vec3u {
  let e = gid.x + gid.y * nwg.x * 256u;
  return vec3u(e / p.H, e % p.H, select(0u, 1u, e < p.batch * p.H));
}

@compute @workgroup_size(256)
fn lstm_cell(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let u = unit(gid, nwg);
  if (u.z == 0u) { return; }
  let H = p.H;
  let g0 = p.offG + u.x * 4u * H + u.y;
  let s = u.x * H + u.y;
  let i = sigmoid(G[g0]);
  let f = sigmoid(G[g0 + H]);
  let g = tanh(G[g0 + 2u * H]);
  let o = sigmoid(G[g0 + 3u * H]);
  let c = f * C[p.offCPrev + s] + i * g;
  G[g0] = i; G[g0 + H] = f; G[g0 + 2u * H] = g; G[g0 + 3u * H] = o;
  C[p.offC + s] = c;
  Hs[p.offH + s] = o * tanh(c);
}

@compute @workgroup_size(256)
fn lstm_cell_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let u = unit(gid, nwg);
  if (u.z == 0u) { return; }
  let H = p.H;
  let g0 = p.offG + u.x * 4u * H + u.y;
  let d0 = p.offDG + u.x * 4u * H + u.y;
  let s = u.x * H + u.y;
  let i = G[g0]; let f = G[g0 + H]; let g = G[g0 + 2u * H]; let o = G[g0 + 3u * H];
  let dh = dH[p.offDH + s];
  let tc = tanh(C[p.offC + s]);
#if HAS_CARRY
  let carry = dC[p.offDC + s];
#else
  let carry = 0.0;
#endif
  let dc = carry + dh * o * (1.0 - tc * tc);
  dG[d0] = dc * g * i * (1.0 - i);
  dG[d0 + H] = dc * C[p.offCPrev + s] * f * (1.0 - f);
  dG[d0 + 2u * H] = dc * i * (1.0 - g * g);
  dG[d0 + 3u * H] = dh * tc * o * (1.0 - o);
  dC[p.offDC + s] = dc * f;
}

@compute @workgroup_size(256)
fn gru_cell(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let u = unit(gid, nwg);
  if (u.z == 0u) { return; }
  let H = p.H;
  let x0 = p.offX + u.x * 3u * H + u.y;
  let h0 = p.offGh + u.x * 3u * H + u.y;
  let g0 = p.offG + u.x * 3u * H + u.y;
  let s = u.x * H + u.y;
  let r = sigmoid(X[x0] + Gh[h0]);
  let z = sigmoid(X[x0 + H] + Gh[h0 + H]);
  let n = tanh(X[x0 + 2u * H] + r * Gh[h0 + 2u * H]);
  G[g0] = r; G[g0 + H] = z; G[g0 + 2u * H] = n;
  Hs[p.offH + s] = (1.0 - z) * n + z * Hs[p.offHPrev + s];
}

@compute @workgroup_size(256)
fn gru_cell_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let u = unit(gid, nwg);
  if (u.z == 0u) { return; }
  let H = p.H;
  let g0 = p.offG + u.x * 3u * H + u.y;
  let h0 = p.offGh + u.x * 3u * H + u.y;
  let d0 = p.offDG + u.x * 3u * H + u.y;
  let e0 = p.offDGh + u.x * 3u * H + u.y;
  let s = u.x * H + u.y;
  let r = G[g0]; let z = G[g0 + H]; let n = G[g0 + 2u * H];
  let dh = dH[p.offDH + s];
  let hp = Hs[p.offHPrev + s];
  let dan = dh * (1.0 - z) * (1.0 - n * n);
  let dar = dan * Gh[h0 + 2u * H] * r * (1.0 - r);
  let daz = dh * (hp - n) * z * (1.0 - z);
  dG[d0] = dar; dG[d0 + H] = daz; dG[d0 + 2u * H] = dan;
  dGh[e0] = dar; dGh[e0 + H] = daz; dGh[e0 + 2u * H] = dan * r;
#if HAS_CARRY
#if HAS_DOUT
  Carry[p.offCarry + s] = dh * z + DOut[p.offDOut + s];
#else
  Carry[p.offCarry + s] = dh * z;
#endif
#endif
}
