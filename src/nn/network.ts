import type { Backend, View } from '../backend.js';
import { SpecError } from '../errors.js';
import type { Act, LossKind } from '../kernels.js';

/** One parameter tensor inside the flat parameter buffer. Vectors have rows = 1. */
export interface ParamTensor {
  name: string;
  shape: number[];
  off: number;
  rows: number;
  cols: number;
}

/** What a training step's forward needs beyond its data: dropout masks are drawn from the seed and the step (src/nn/dropout.ts). */
export interface Training {
  seed: number;
  step: number;
}

/** A tensor of a training step, for `explain` and `verify`. */
export interface StepTensor<B> {
  name: string;
  view: View<B>;
  stage: 'forward' | 'backward';
}

/**
 * A model written once against the Backend interface. All parameters live in one flat buffer
 * (and their gradients in another of the same layout) so the optimizer is one pass.
 */
export interface Network<B> {
  readonly kind: 'mlp' | 'rnn' | 'sequential';
  readonly params: ParamTensor[];
  readonly size: number;
  readonly paramBuf: B;
  readonly gradBuf: B;
  /** Floats per sample of the input (T·inputSize for an RNN, time-major within a batch). */
  readonly sampleSize: number;
  readonly outputSize: number;
  readonly outputActivation: Act;
  /** With `training` (a training step's), dropout layers drop; without (evaluation, predict), they pass values on. */
  forward(x: View<B>, batch: number, training?: Training): void;
  /** The loss reads its predictions (logits for crossEntropy with softmax) here... */
  lossInput(loss: LossKind, batch: number): View<B>;
  /** ...and writes dLoss/d(lossInput) here. */
  lossGradTarget(loss: LossKind, batch: number): View<B>;
  backward(x: View<B>, batch: number, loss: LossKind): void;
  /** ŷ for a batch. */
  prediction(batch: number): View<B>;
  tensors(batch: number): StepTensor<B>[];
  dispose(): void;
}

/** crossEntropy on a softmax output is fused: the loss takes the logits and returns dZ directly. */
export const fusedSoftmaxCE = (act: Act, loss: LossKind) => act === 'softmax' && loss === 'crossEntropy';

export function allocate<B>(be: Backend<B>, owned: B[], rows: number, cols: number, label: string): View<B> {
  const buf = be.buffer(rows * cols, label);
  owned.push(buf);
  return { buf, off: 0, rows, cols };
}

/**
 * The flat parameter and gradient buffers. A model the device cannot hold in one buffer is
 * refused before anything is allocated, naming its largest tensor and the device's limit.
 */
export function paramBuffers<B>(be: Backend<B>, params: ParamTensor[], size: number, owned: B[]): [B, B] {
  const limit = be.bufferLimit;
  if (size > limit.floats) {
    const big = params.reduce((a, p) => (p.rows * p.cols > a.rows * a.cols ? p : a));
    throw new SpecError(
      'model',
      `${size} parameters (${((size * 4) / 2 ** 20).toFixed(0)} MiB as float32) do not fit in one buffer: ${be.device} holds at most ${limit.floats} floats (${limit.what}); the largest tensor is ${big.name} [${big.shape.join(', ')}], ${big.rows * big.cols} floats`,
    );
  }
  const p = be.buffer(size, 'parameters'),
    g = be.buffer(size, 'gradients');
  owned.push(p, g);
  return [p, g];
}
