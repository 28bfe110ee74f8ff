// runSpec: the library function behind `miya train --json`. Same result in the browser and Node.
import type { Backend } from '../backend.js';
import { type BackendName, createBackend } from '../backends.js';
import { NonFiniteError } from '../errors.js';
import { loadDataset } from '../data/load.js';
import { validateSpec } from '../spec/validate.js';
import type { RunSpec } from '../spec/types.js';
import { guardFinite, type ParamsJson, shapeParams } from './result.js';
import { type Dataset, Session } from './session.js';

export interface RunOptions {
  backend?: BackendName | Backend;
  /** overrides the spec's steps */
  steps?: number;
  notice?: (message: string) => void;
  onStep?: (step: number, total: number) => void;
}

export interface RunResult {
  backend: string; device: string; losses: number[]; params: ParamsJson; grads: ParamsJson;
  /** Only when the data has a held-out test set (MNIST): its loss and accuracy after training. */
  test?: { loss: number; accuracy: number; samples: number };
}

/** The number of steps a spec asks for: `steps`, else `epochs` passes over the data, else one. */
export function stepCount(spec: RunSpec, batches: number): number {
  return spec.steps ?? (spec.epochs !== undefined ? spec.epochs * batches : 1);
}

/** Loss and accuracy (argmax of ŷ against argmax of y) of trained parameters on held-out data. */
export async function evaluate<B>(be: Backend<B>, spec: RunSpec, test: Dataset, params: Float64Array): Promise<NonNullable<RunResult['test']>> {
  const batchSize = Math.min(test.n, 512);
  const s = new Session(be, { model: spec.model, loss: spec.loss, optimizer: spec.optimizer, batchSize, seed: 0, historySize: Math.ceil(test.n / batchSize) }, test);
  try {
    be.write(s.net.paramBuf, params);
    let correct = 0;
    for (const b of s.batches) {
      s.evaluate(b, b.index);
      const yhat = await s.readView(s.net.prediction(b.size));
      const y = test.y.subarray(b.start * test.outputs, (b.start + b.size) * test.outputs);
      for (let r = 0; r < b.size; r++) {
        const row = (v: ArrayLike<number>) => Array.from({ length: test.outputs }, (_, c) => v[r * test.outputs + c]);
        const p = row(yhat), t = row(y);
        if (p.indexOf(Math.max(...p)) === t.indexOf(Math.max(...t))) correct++;
      }
    }
    const losses = await s.readLosses(0, s.batches.length);
    const loss = s.batches.reduce((sum, b, i) => sum + losses[i] * b.size, 0) / test.n;
    return { loss, accuracy: correct / test.n, samples: test.n };
  } finally {
    s.dispose();
  }
}

export async function runSpec(raw: unknown, opts: RunOptions = {}): Promise<RunResult> {
  const spec = validateSpec(raw);
  const data = await loadDataset(spec);
  const be = typeof opts.backend === 'object' ? opts.backend : await createBackend(opts.backend ?? 'auto', { notice: opts.notice });
  const batchSize = spec.batchSize ?? data.train.n;
  const nBatches = Math.ceil(data.train.n / Math.min(batchSize, data.train.n));
  const steps = opts.steps ?? stepCount(spec, nBatches);
  const session = new Session(be, {
    model: spec.model, loss: spec.loss, optimizer: spec.optimizer, batchSize, seed: spec.seed ?? 0, historySize: steps,
  }, data.train);
  try {
    for (let s = 0; s < steps; s++) {
      session.step(session.batches[s % session.batches.length], s);
      opts.onStep?.(s + 1, steps);
    }
    const losses = Array.from(await session.readLosses(0, steps));
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) throw new NonFiniteError(bad + 1, 'loss', losses[bad]);
    const params = await session.readParams();
    const grads = await session.readGrads();
    guardFinite(steps, session.net.params, grads, '.grad');
    guardFinite(steps, session.net.params, params);
    const result: RunResult = {
      backend: be.name, device: be.device, losses,
      params: shapeParams(spec.model, session.net.params, params), grads: shapeParams(spec.model, session.net.params, grads),
    };
    if (data.test) result.test = await evaluate(be, spec, data.test, params);
    return result;
  } finally {
    session.dispose();
    if (typeof opts.backend !== 'object') be.dispose();
  }
}
