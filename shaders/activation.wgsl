// activation.wgsl — the activation functions f(z) and their derivatives f'(z), given z and a = f(z).
// Included by matmul.wgsl and elementwise.wgsl; exactly one ACT_* flag is set per pipeline.
// Softmax is row-wise and lives in elementwise.wgsl; here it is the identity.
fn act_f(z: f32) -> f32 {
#if ACT_SIGMOID
  return 1.0 / (1.0 + exp(-z));
#elif ACT_TANH
  return tanh(z);
#elif ACT_RELU
  return max(z, 0.0);
#elif ACT_SQUARE
  return z * z;
#else
  return z;
#endif
}

fn act_df(z: f32, a: f32) -> f32 {
#if ACT_SIGMOID
  return a * (1.0 - a);
#elif ACT_TANH
  return 1.0 - a * a;
#elif ACT_RELU
  return select(0.0, 1.0, z > 0.0);
#elif ACT_SQUARE
  return 2.0 * z;
#else
  return 1.0;
#endif
}
