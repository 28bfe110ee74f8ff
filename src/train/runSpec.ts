// runSpec: the library function behind `miya train --json`. Same result in the browser and Node.
import type { Backend } from '../backend.js';
import { type BackendName, createBackend } from '../backends.js';
import { loadDataset } from '../data/load.js';
import { validateSpec } from '../spec/validate.js';
import { guardFinite, type ParamsJson, shapeParams } from './result.js';
import { type Evaluation, type Progress, Trainer } from './trainer.js';
export { stepCount } from './trainer.js';

export interface RunOptions {
  backend?: BackendName | Backend;
  /** overrides the spec's steps */
  steps?: number;
  notice?: (message: string) => void;
  onProgress?: (p: Progress) => void;
  /** steps between loss read-backs and progress reports */
  reportEvery?: number;
}

export interface RunResult {
  backend: string; device: string; losses: number[]; params: ParamsJson; grads: ParamsJson;
  /** Only when the data has a held-out test set (MNIST): its loss and accuracy after training. */
  test?: Evaluation;
}

export async function runSpec(raw: unknown, opts: RunOptions = {}): Promise<RunResult> {
  const spec = validateSpec(raw);
  const data = await loadDataset(spec);
  const be = typeof opts.backend === 'object' ? opts.backend : await createBackend(opts.backend ?? 'auto', { notice: opts.notice });
  const trainer = new Trainer(be, spec, data, opts.steps);
  try {
    const losses = Array.from(await trainer.train({ onProgress: opts.onProgress, reportEvery: opts.reportEvery, evaluateEachEpoch: !!opts.onProgress }));
    const session = trainer.session;
    const params = await session.readParams();
    const grads = await session.readGrads();
    guardFinite(trainer.steps, session.net.params, grads, '.grad');
    guardFinite(trainer.steps, session.net.params, params);
    const result: RunResult = {
      backend: be.name, device: be.device, losses,
      params: shapeParams(spec.model, session.net.params, params), grads: shapeParams(spec.model, session.net.params, grads),
    };
    if (data.test) result.test = await trainer.evaluate();
    return result;
  } finally {
    trainer.dispose();
    if (typeof opts.backend !== 'object') be.dispose();
  }
}
