// TensorFlow.js 4.22 as a benchmark peer: the same matmul and the same training steps (same
// initial weights, data, loss and RMSprop settings) written the way a TF.js user would, with
// variables and optimizer.minimize. `tf` is passed in with its backend already set.
import type * as TF from '@tensorflow/tfjs-core';
import type { ParamTensor } from '../src/nn/network.js';
import type { MlpSpec, RnnSpec } from '../src/spec/types.js';
import type { Contender, StepSetup, TimedMatmul, TimedStep } from './contender.js';

type Tf = typeof TF;

function tensorOf(tf: Tf, init: Float64Array, p: ParamTensor, transpose: boolean): TF.Variable {
  const v = Float32Array.from(init.subarray(p.off, p.off + p.rows * p.cols));
  if (p.shape.length === 1) return tf.variable(tf.tensor1d(v));
  const w = tf.tensor2d(v, [p.rows, p.cols]);
  const t = transpose ? tf.transpose(w) : w; // Miya keeps W [out][in]; x·W wants [in][out]
  const out = tf.variable(t);
  w.dispose(); t.dispose();
  return out;
}

function activate(tf: Tf, a: TF.Tensor2D, act: string): TF.Tensor2D {
  switch (act) {
    case 'sigmoid': return tf.sigmoid(a);
    case 'tanh': return tf.tanh(a);
    case 'relu': return tf.relu(a);
    case 'identity': return a;
    default: throw new Error(`tfjs peer: activation ${act} is not in the benchmark`);
  }
}

/** Builds the model's forward pass and loss as a closure over its variables. */
function model(tf: Tf, s: StepSetup, n: number) {
  const m = s.c.spec.model;
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
    const T = d.steps, I = d.features;
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
  const dispose = () => { for (const t of [...vars.values(), y, ...inputs]) t.dispose(); };
  return { loss, vars: [...vars.values()], dispose };
}

export function tfjsContender(tf: Tf, name: string, device: string): Contender {
  return {
    name, device, fast: name !== 'tfjs-cpu', miya: false,
    matmul(c, a, b): TimedMatmul {
      const A = tf.tensor2d(Float32Array.from(a), c.transA ? [c.K, c.M] : [c.M, c.K]);
      const B = tf.tensor2d(Float32Array.from(b), c.transB ? [c.N, c.K] : [c.K, c.N]);
      let Z: TF.Tensor | undefined;
      return {
        run() { Z?.dispose(); Z = tf.matMul(A, B, c.transA, c.transB); },
        // waits on one element, not a download of the whole product
        async sync() { const one = tf.slice(Z!, [0, 0], [1, 1]); await one.data(); one.dispose(); },
        async rows(rows) {
          const part = tf.slice(Z!, [0, 0], [rows, c.N]);
          const out = Float64Array.from(await part.data());
          part.dispose();
          return out;
        },
        dispose() { for (const t of [A, B, Z]) t?.dispose(); },
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
          if (!first) first = cost; else { if (last) last.dispose(); last = cost; }
        },
        async sync() { await (last ?? first)!.data(); },
        firstLoss: async () => (await first!.data())[0],
        dispose() { first?.dispose(); last?.dispose(); optimizer.dispose(); net.dispose(); },
      };
    },
    async validationLoss(s: StepSetup): Promise<number> {
      const net = model(tf, s, s.data.n);
      const l = tf.tidy(net.loss);
      const v = (await l.data())[0];
      l.dispose(); net.dispose();
      return v;
    },
    dispose() {},
  };
}
