// Runs training steps on a backend and reads back every tensor of the last one: the parameters
// before it, the forward values, the loss, the backward values, the optimizer state and the
// parameters after. `explain` tells these; `verify` compares them across backends.
import type { Backend } from '../backend.js';
import { loadDataset } from '../data/load.js';
import { stateNames } from '../optim/optimizer.js';
import type { RunSpec } from '../spec/types.js';
import { Session } from '../train/session.js';

export interface StepTrace {
  backend: string;
  device: string;
  /** tensor name → values, in the order they are computed */
  before: Map<string, Float64Array>;
  forward: Map<string, Float64Array>;
  loss: number;
  backward: Map<string, Float64Array>;
  state: Map<string, Float64Array>;
  after: Map<string, Float64Array>;
  shapes: Map<string, number[]>;
  input: Float64Array;
  target: Float64Array;
  batch: number;
  timeSteps: number;
}

export async function traceStep<B>(be: Backend<B>, spec: RunSpec, steps = 1): Promise<StepTrace> {
  const data = (await loadDataset(spec)).train;
  const session = new Session(
    be,
    {
      model: spec.model,
      loss: spec.loss,
      optimizer: spec.optimizer,
      batchSize: spec.batchSize ?? data.n,
      seed: spec.seed ?? 0,
      historySize: steps,
    },
    data,
  );
  try {
    const split = async (flat: Float64Array) => new Map(session.net.params.map((p) => [p.name, flat.slice(p.off, p.off + p.rows * p.cols)]));
    for (let s = 0; s < steps - 1; s++) session.step(session.batches.at(s % session.batches.length), s);
    const batch = session.batches.at((steps - 1) % session.batches.length);
    const before = await split(await session.readParams());
    session.step(batch, steps - 1);
    const forward = new Map<string, Float64Array>(),
      backward = new Map<string, Float64Array>();
    const shapes = new Map<string, number[]>(session.net.params.map((p) => [p.name, p.shape]));
    for (const t of session.net.tensors(batch.size)) {
      (t.stage === 'forward' ? forward : backward).set(t.name, await session.readView(t.view));
      shapes.set(t.name, [t.view.rows, t.view.cols]);
    }
    const state = new Map<string, Float64Array>();
    const names = stateNames(session.opt.config.type);
    for (let i = 0; i < names.length; i++) {
      const flat = await be.read(session.opt.state[i], 0, session.net.size);
      for (const p of session.net.params) state.set(`${p.name}.${names[i]}`, flat.slice(p.off, p.off + p.rows * p.cols));
    }
    const { x, y } = session.batchViews(batch);
    return {
      backend: be.name,
      device: be.device,
      before,
      forward,
      loss: (await session.readLosses(steps - 1, 1))[0],
      backward,
      state,
      after: await split(await session.readParams()),
      shapes,
      input: await session.readView(x),
      target: await session.readView(y),
      batch: batch.size,
      timeSteps: data.steps,
    };
  } finally {
    session.dispose();
  }
}

/** Every tensor of a trace under one name space (params after an update keep their own names). */
export function allTensors(t: StepTrace): Map<string, Float64Array> {
  const m = new Map<string, Float64Array>([['loss', Float64Array.of(t.loss)]]);
  for (const part of [t.forward, t.backward, t.state, t.after]) for (const [k, v] of part) m.set(k, v);
  return m;
}
