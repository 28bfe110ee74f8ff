// Finite-difference check of the CPU reference's backward: for every parameter p,
// (L(p + h) − L(p − h)) / 2h against the analytic gradient, as ‖numeric − analytic‖ / ‖analytic‖.
// L is the training step's loss, with the step's dropout masks (drawn from the seed and the step
// number, src/nn/dropout.ts): the same function the backward differentiates. Evaluation's loss
// would have dropout off, a different function wherever a model has dropout.
import { CpuBackend } from '../cpu/backend.js';
import { loadDataset } from '../data/load.js';
import type { RunSpec } from '../spec/types.js';
import { Session } from '../train/session.js';
import { normRelError } from './compare.js';

export async function gradientCheck(spec: RunSpec, h = 1e-5): Promise<number> {
  const be = new CpuBackend();
  const data = (await loadDataset(spec)).train;
  const s = new Session(
    be,
    {
      model: spec.model,
      loss: spec.loss,
      optimizer: spec.optimizer,
      batchSize: spec.batchSize ?? data.n,
      seed: spec.seed ?? 0,
      historySize: 1,
    },
    data,
  );
  const batch = s.batches.at(0);
  s.step(batch, 0, false);
  const analytic = await s.readGrads();
  const p = s.net.paramBuf;
  const numeric = new Float64Array(analytic.length);
  // step 0 again without the update: its forward draws step 0's masks, and its loss lands in slot 0
  const lossAt = async () => {
    s.step(batch, 0, false);
    return (await s.readLosses(0, 1))[0];
  };
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    p[i] = v + h;
    const up = await lossAt();
    p[i] = v - h;
    const down = await lossAt();
    p[i] = v;
    numeric[i] = (up - down) / (2 * h);
  }
  s.dispose();
  return normRelError(numeric, analytic);
}
