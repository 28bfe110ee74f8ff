// The mlp and rnn model types are stacks of the sequential model's layers (src/nn/mlp.ts, rnn.ts,
// StackForm in src/nn/sequential.ts): they keep their own parameter and tensor names (checkpoints,
// exports and explain read them), the RNN's numbers (here against plain loops), and the launches
// a step took when they were fixed models (the head writes the last step's δ through f' itself).
import { expect, test } from 'vitest';
import type { Backend } from '../src/backend.js';
import type { KernelName, LossKind } from '../src/kernels.js';
import { Mlp } from '../src/nn/mlp.js';
import type { Network } from '../src/nn/network.js';
import { Rnn } from '../src/nn/rnn.js';
import type { MlpSpec, RnnSpec } from '../src/spec/types.js';
import { backendCases, describeBackends } from './backends.js';

const rnn = (outputActivation: RnnSpec['outputActivation']): RnnSpec => ({
  type: 'rnn',
  inputSize: 3,
  hiddenSize: 4,
  outputSize: 2,
  activation: 'tanh',
  outputActivation,
});
const mlp: MlpSpec = {
  type: 'mlp',
  inputSize: 3,
  layers: [
    { units: 5, activation: 'relu' },
    { units: 4, activation: 'tanh' },
    { units: 2, activation: 'sigmoid' },
  ],
};
const wave = (n: number, s: number) => Float64Array.from({ length: n }, (_, i) => 0.6 * Math.sin(1.7 * i + s));

/** Launches of forward and of backward (a product the GPU plans as two passes counts once: matmul_reduce is its second). */
function launches<B>(be: Backend<B>, net: Network<B>, batch: number, loss: LossKind): [number, number] {
  const x = be.buffer(net.sampleSize * batch, 'data.x');
  be.write(net.paramBuf, wave(net.size, 1));
  be.write(x, wave(net.sampleSize * batch, 2));
  const xv = { buf: x, off: 0, rows: batch, cols: net.sampleSize };
  const run = be.run;
  let n = 0;
  be.run = function (this: Backend<B>, k: KernelName, ...rest: unknown[]) {
    if (k !== 'matmul_reduce') n++;
    return (run as (...a: unknown[]) => void).call(this, k, ...rest);
  } as typeof be.run;
  try {
    net.forward(xv, batch);
    const fwd = n;
    net.backward(xv, batch, loss);
    return [fwd, n - fwd];
  } finally {
    be.run = run;
    be.free(x);
  }
}

describeBackends(await backendCases(), '%s', (_, be) => {
  test('the rnn type keeps its names: rnn.* without bias_hh_l0 and head.*, its tensors rnn.z/h/dz[t=…] and head.*', () => {
    const net = new Rnn(be, rnn('sigmoid'), 3, 2);
    try {
      expect(net.kind).toBe('rnn');
      expect(net.params.map((p) => [p.name, p.shape])).toEqual([
        ['rnn.weight_ih_l0', [4, 3]],
        ['rnn.weight_hh_l0', [4, 4]],
        ['rnn.bias_ih_l0', [4]],
        ['head.weight', [2, 4]],
        ['head.bias', [2]],
      ]);
      expect(net.tensors(2).map((t) => t.name)).toEqual([
        'rnn.z[t=1]',
        'rnn.h[t=1]',
        'rnn.z[t=2]',
        'rnn.h[t=2]',
        'rnn.z[t=3]',
        'rnn.h[t=3]',
        'head.z',
        'head.a',
        'head.dz',
        'rnn.dz[t=3]',
        'rnn.dz[t=2]',
        'rnn.dz[t=1]',
        'rnn.weight_ih_l0.grad',
        'rnn.weight_hh_l0.grad',
        'rnn.bias_ih_l0.grad',
        'head.weight.grad',
        'head.bias.grad',
      ]);
    } finally {
      net.dispose();
    }
  });

  test("the mlp type keeps its names and order: layers.i.*, each layer's δ with its gradients", () => {
    const net = new Mlp(
      be,
      {
        type: 'mlp',
        inputSize: 3,
        layers: [
          { units: 2, activation: 'relu' },
          { units: 1, activation: 'identity' },
        ],
      },
      2,
    );
    try {
      expect(net.kind).toBe('mlp');
      expect(net.params.map((p) => p.name)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
      expect(net.tensors(2).map((t) => t.name)).toEqual([
        'layers.0.z',
        'layers.0.a',
        'layers.1.z',
        'layers.1.dz',
        'layers.1.weight.grad',
        'layers.1.bias.grad',
        'layers.0.dz',
        'layers.0.weight.grad',
        'layers.0.bias.grad',
      ]);
    } finally {
      net.dispose();
    }
  });

  test('an RNN step: 1 + T + 1 launches forward; backward T + 5 (the head fused into dz_T; + 1 for its activation unless the loss takes logits)', () => {
    for (const T of [1, 4]) {
      for (const [act, loss, headBack] of [
        ['sigmoid', 'mse', 1],
        ['softmax', 'crossEntropy', 0],
        ['identity', 'mse', 0],
      ] as const) {
        const net = new Rnn(be, rnn(act), T, 3);
        try {
          expect(launches(be, net, 3, loss), `T ${T}, ${act}, ${loss}`).toEqual([1 + T + 1 + (act === 'softmax' ? 1 : 0), T + 5 + headBack]);
        } finally {
          net.dispose();
        }
      }
    }
  });

  test("an MLP step: one launch a layer forward; backward 3 a layer (+ its activation's derivative), the first layer no dx", () => {
    const net = new Mlp(be, mlp, 3);
    try {
      expect(launches(be, net, 3, 'mse')).toEqual([3, 3 * 3 - 1 + 3]);
    } finally {
      net.dispose();
    }
  });

  test('the rnn type computes h_t = f(x_t·W_ihᵀ + b_ih + h_(t−1)·W_hhᵀ), ŷ = g(h_T·W_yᵀ + b_y), as plain loops do', async () => {
    const spec = rnn('sigmoid'),
      T = 3,
      B = 2,
      { inputSize: I, hiddenSize: H, outputSize: O } = spec;
    const net = new Rnn(be, spec, T, B);
    const x = be.buffer(T * B * I, 'data.x');
    try {
      const p = wave(net.size, 3),
        xs = wave(T * B * I, 4);
      be.write(net.paramBuf, p);
      be.write(x, xs);
      net.forward({ buf: x, off: 0, rows: B, cols: T * I }, B);
      const got = await be.read(net.prediction(B).buf, net.prediction(B).off, B * O);
      const [wih, whh, bih, wy, by] = net.params.map((t) => p.subarray(t.off, t.off + t.rows * t.cols));
      for (let b = 0; b < B; b++) {
        let h = new Float64Array(H);
        for (let t = 0; t < T; t++) {
          const xt = xs.subarray((t * B + b) * I, (t * B + b + 1) * I); // time-major within the batch
          h = Float64Array.from({ length: H }, (_, j) => {
            let z = bih[j];
            for (let k = 0; k < I; k++) z += wih[j * I + k] * xt[k];
            for (let k = 0; k < H; k++) z += whh[j * H + k] * h[k];
            return Math.tanh(z);
          });
        }
        for (let o = 0; o < O; o++) {
          let z = by[o];
          for (let k = 0; k < H; k++) z += wy[o * H + k] * h[k];
          expect(Math.abs(got[b * O + o] - 1 / (1 + Math.exp(-z)))).toBeLessThan(be.precision === 'f64' ? 1e-12 : 1e-5);
        }
      }
    } finally {
      be.free(x);
      net.dispose();
    }
  });
});
