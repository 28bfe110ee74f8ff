// TensorFlow.js 4.22 as a benchmark peer: the same matmul and the same training steps (same
// initial weights, data, loss and RMSprop settings) written the way a TF.js user would, with
// variables and optimizer.minimize; the recurrent suites' stacks (lstm, gru) as a TF.js user
// builds them, with tf.layers.lstm / tf.layers.gru in a tf.sequential model. `tf` is passed in
// with its backend already set.
import type * as TF from '@tensorflow/tfjs';
import type { ParamTensor } from '../src/nn/network.js';
import type { MlpSpec, RnnSpec, SequentialSpec } from '../src/spec/types.js';
import type { Contender, StepSetup, TimedMatmul, TimedStep } from './contender.js';
import type { GruCell } from './recurrentRef.js';

type Tf = typeof TF;

function tensorOf(tf: Tf, init: Float64Array, p: ParamTensor, transpose: boolean): TF.Variable {
  const v = Float32Array.from(init.subarray(p.off, p.off + p.rows * p.cols));
  if (p.shape.length === 1) return tf.variable(tf.tensor1d(v));
  const w = tf.tensor2d(v, [p.rows, p.cols]);
  const t = transpose ? tf.transpose(w) : w; // Miya keeps W [out][in]; x·W wants [in][out]
  const out = tf.variable(t);
  w.dispose();
  t.dispose();
  return out;
}

function activate(tf: Tf, a: TF.Tensor2D, act: string): TF.Tensor2D {
  switch (act) {
    case 'sigmoid':
      return tf.sigmoid(a);
    case 'tanh':
      return tf.tanh(a);
    case 'relu':
      return tf.relu(a);
    case 'identity':
      return a;
    default:
      throw new Error(`tfjs peer: activation ${act} is not in the benchmark`);
  }
}

/**
 * A layer's weights as tf.layers wants them, from Miya's (PyTorch's) layout: Keras keeps the
 * transposes, kernel [in][G·H] and recurrent kernel [H][G·H], and one bias. For an LSTM the gate
 * blocks are in PyTorch's order (i, f, c, o) and the bias is b_ih + b_hh. Keras's GRU stacks its
 * gates z, r, h where PyTorch has r, z, n, and its reset_after = false cell has no b_hn: its bias
 * is b_ir + b_hr, b_iz + b_hz, b_in (recurrentRef.ts says how the two cells differ).
 */
export function kerasWeights(m: SequentialSpec, layout: ParamTensor[], init: Float64Array): { shape: number[]; values: Float32Array }[] {
  const at = new Map(layout.map((p) => [p.name, p]));
  const out: { shape: number[]; values: Float32Array }[] = [];
  // W [rows][cols] as [cols][rows], with block b of the columns taken from block order[b] of W's rows
  const transposed = (name: string, order: number[], H: number) => {
    const p = at.get(name)!,
      t = new Float32Array(p.rows * p.cols);
    for (let b = 0; b < order.length; b++) {
      for (let j = 0; j < H; j++) for (let k = 0; k < p.cols; k++) t[k * p.rows + b * H + j] = init[p.off + (order[b] * H + j) * p.cols + k];
    }
    return { shape: [p.cols, p.rows], values: t };
  };
  m.layers.forEach((l, i) => {
    const name = (n: string) => `layers.${i}.${n}`;
    if (l.type === 'dense') {
      const b = at.get(name('bias'))!;
      out.push(transposed(name('weight'), [0], l.units), { shape: [l.units], values: Float32Array.from(init.subarray(b.off, b.off + l.units)) });
      return;
    }
    if (l.type === 'embedding' || l.type === 'dropout') throw new Error(`tfjs peer: no ${l.type} layers here`);
    const H = l.units,
      order = l.type === 'gru' ? [1, 0, 2] : l.type === 'lstm' ? [0, 1, 2, 3] : [0];
    const bi = at.get(name('bias_ih_l0'))!.off,
      bh = at.get(name('bias_hh_l0'))!.off;
    const bias = new Float32Array(order.length * H);
    order.forEach((g, b) => {
      // GRU's n gate (2): b_hn sits inside r ⊙ (…) in PyTorch's cell and has no place in Keras's
      const both = !(l.type === 'gru' && g === 2);
      for (let j = 0; j < H; j++) bias[b * H + j] = init[bi + g * H + j] + (both ? init[bh + g * H + j] : 0);
    });
    out.push(transposed(name('weight_ih_l0'), order, H), transposed(name('weight_hh_l0'), order, H), { shape: [order.length * H], values: bias });
  });
  return out;
}

/** The stack as a tf.sequential of tf.layers (x [n][T][I]), with Miya's initial weights. */
function layersModel(tf: Tf, s: StepSetup, n: number) {
  const m = s.c.spec.model as SequentialSpec,
    d = s.data;
  const net = tf.sequential();
  // setWeights replaces the initial weights at once: zeros spare the default orthogonal recurrent
  // initialiser, a QR decomposition that takes minutes in JavaScript at hidden 512
  const zeros = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;
  const recurrentZeros = { ...zeros, recurrentInitializer: 'zeros' } as const;
  m.layers.forEach((l, i) => {
    const first = i === 0 ? { inputShape: [d.steps, d.features], ...zeros } : zeros;
    const recurrent = { ...first, ...recurrentZeros };
    if (l.type === 'dense') {
      if (l.activation === 'square') throw new Error('tfjs peer: activation square is not in the benchmark');
      net.add(tf.layers.dense({ units: l.units, activation: l.activation === 'identity' ? 'linear' : l.activation, ...first }));
    }
    // the gates' σ is the logistic function, as in PyTorch: tf.layers' default is hardSigmoid
    else if (l.type === 'lstm') net.add(tf.layers.lstm({ units: l.units, returnSequences: l.returnSequences, recurrentActivation: 'sigmoid', ...recurrent }));
    else if (l.type === 'gru') net.add(tf.layers.gru({ units: l.units, returnSequences: l.returnSequences, recurrentActivation: 'sigmoid', ...recurrent }));
    else throw new Error(`tfjs peer: ${l.type} layers are not in the recurrent suites`);
  });
  const given = kerasWeights(m, s.layout, s.init).map((w) => tf.tensor(w.values, w.shape));
  net.setWeights(given);
  for (const t of given) t.dispose();
  const x = tf.tensor3d(Float32Array.from(d.x.subarray(0, n * d.steps * d.features)), [n, d.steps, d.features]);
  const y = tf.tensor2d(Float32Array.from(d.y.subarray(0, n * d.outputs)), [n, d.outputs]);
  const vars = net.trainableWeights.map((w) => w.read() as TF.Variable);
  return {
    loss: () => tf.losses.meanSquaredError(y, net.apply(x, { training: true }) as TF.Tensor) as TF.Scalar,
    predict: async () => {
      const p = net.predict(x) as TF.Tensor;
      const out = Float64Array.from(await p.data());
      p.dispose();
      return out;
    },
    vars,
    dispose: () => {
      x.dispose();
      y.dispose();
      net.dispose();
    },
  };
}

/** Builds the model's forward pass and loss as a closure over its variables. */
function model(tf: Tf, s: StepSetup, n: number) {
  const m = s.c.spec.model;
  if (m.type === 'sequential') return layersModel(tf, s, n);
  const vars = new Map(s.layout.map((p) => [p.name, tensorOf(tf, s.init, p, true)]));
  const d = s.data;
  const y = tf.tensor2d(Float32Array.from(d.y.subarray(0, n * d.outputs)), [n, d.outputs]);
  let loss: () => TF.Scalar;
  let inputs: TF.Tensor[];
  if (m.type === 'mlp') {
    const x = tf.tensor2d(Float32Array.from(d.x.subarray(0, n * d.features)), [n, d.features]);
    inputs = [x];
    loss = () => {
      let a = x as TF.Tensor2D;
      (m as MlpSpec).layers.forEach((l, i) => {
        a = activate(tf, tf.add(tf.matMul(a, vars.get(`layers.${i}.weight`)!), vars.get(`layers.${i}.bias`)!), l.activation ?? 'identity');
      });
      return tf.losses.meanSquaredError(y, a);
    };
  } else {
    const r = m as RnnSpec;
    const T = d.steps,
      I = d.features;
    const xs: TF.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      const step = new Float32Array(n * I);
      for (let i = 0; i < n; i++) step.set(d.x.subarray((i * T + t) * I, (i * T + t + 1) * I), i * I);
      xs.push(tf.tensor2d(step, [n, I]));
    }
    inputs = xs;
    const [wx, wh, bh, wy, by] = ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'head.weight', 'head.bias'].map((k) => vars.get(k)!);
    loss = () => {
      let h = tf.zeros([n, r.hiddenSize]) as TF.Tensor2D;
      for (const x of xs) h = activate(tf, tf.add(tf.add(tf.matMul(x, wx), tf.matMul(h, wh)), bh), r.activation ?? 'tanh');
      return tf.losses.meanSquaredError(y, activate(tf, tf.add(tf.matMul(h, wy), by), r.outputActivation ?? 'identity'));
    };
  }
  const dispose = () => {
    for (const t of [...vars.values(), y, ...inputs]) t.dispose();
  };
  return { loss, vars: [...vars.values()], dispose, predict: undefined };
}

export function tfjsContender(tf: Tf, name: string, device: string): Contender {
  return {
    name,
    device,
    fast: name !== 'tfjs-cpu',
    miya: false,
    // tf.layers.gru has only Keras's reset_after = false cell
    gruCell: 'resetBefore' satisfies GruCell,
    matmul(c, a, b): TimedMatmul {
      const A = tf.tensor2d(Float32Array.from(a), c.transA ? [c.K, c.M] : [c.M, c.K]);
      const B = tf.tensor2d(Float32Array.from(b), c.transB ? [c.N, c.K] : [c.K, c.N]);
      let Z: TF.Tensor | undefined;
      return {
        run() {
          Z?.dispose();
          Z = tf.matMul(A, B, c.transA, c.transB);
        },
        // waits on one element, not a download of the whole product
        async sync() {
          const one = tf.slice(Z!, [0, 0], [1, 1]);
          await one.data();
          one.dispose();
        },
        async rows(rows) {
          const part = tf.slice(Z!, [0, 0], [rows, c.N]);
          const out = Float64Array.from(await part.data());
          part.dispose();
          return out;
        },
        dispose() {
          for (const t of [A, B, Z]) t?.dispose();
        },
      };
    },
    step(s: StepSetup): TimedStep {
      const net = model(tf, s, s.data.n);
      const opt = s.c.spec.optimizer;
      if (opt.type !== 'rmsprop') throw new Error('tfjs peer: the benchmark steps use RMSprop');
      // Miya's RMSprop: rho 0.9, eps 1e-8 inside the square root, no momentum: TF.js's form exactly.
      const optimizer = tf.train.rmsprop(opt.lr, opt.rho ?? 0.9, 0, opt.eps ?? 1e-8);
      let first: TF.Scalar | undefined, last: TF.Scalar | undefined;
      return {
        run() {
          const cost = optimizer.minimize(net.loss, true, net.vars)!;
          if (!first) first = cost;
          else {
            if (last) last.dispose();
            last = cost;
          }
        },
        async sync() {
          await (last ?? first)!.data();
        },
        firstLoss: async () => (await first!.data())[0],
        dispose() {
          first?.dispose();
          last?.dispose();
          optimizer.dispose();
          net.dispose();
        },
      };
    },
    async validationLoss(s: StepSetup): Promise<number> {
      const net = model(tf, s, s.data.n);
      const l = tf.tidy(net.loss);
      const v = (await l.data())[0];
      l.dispose();
      net.dispose();
      return v;
    },
    async validationOutputs(s: StepSetup): Promise<Float64Array> {
      const net = model(tf, s, s.data.n);
      try {
        if (!net.predict) throw new Error('tfjs peer: outputs are validated for the recurrent suites only');
        return await net.predict();
      } finally {
        net.dispose();
      }
    },
    dispose() {},
  };
}
