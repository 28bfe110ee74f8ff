// Miya's own backends as benchmark contenders.
import type { Backend } from '../src/backend.js';
import { matmul, productsOf } from '../src/nn/ops.js';
import { memorySince } from '../src/train/memory.js';
import { Session, type SessionConfig } from '../src/train/session.js';
import type { TuneStore } from '../src/tuneStore.js';
import type { Contender, StepSetup, TimedMatmul, TimedStep } from './contender.js';
import type { MatmulCase } from './cases.js';

async function settle<B>(be: Backend<B>): Promise<void> {
  const gpu = be as unknown as { sync?: () => Promise<void> };
  if (gpu.sync) await gpu.sync();
}

const sessionConfig = (s: StepSetup, batch: number): SessionConfig => ({
  model: s.c.spec.model,
  loss: s.c.spec.loss,
  optimizer: s.c.spec.optimizer,
  batchSize: batch,
  seed: s.c.spec.seed!,
  historySize: 1,
});

/** A session on the setup's data, starting from the weights the harness gives every contender (s.init). */
function sessionOf<B>(be: Backend<B>, s: StepSetup, batch: number): Session<B> {
  const session = new Session(be, sessionConfig(s, batch), s.data);
  be.write(session.net.paramBuf, s.init);
  return session;
}

/**
 * `ownsBackend`: dispose the backend with the contender (the CLI's); false where it is shared (the
 * page's). `tune`: tune each step case's products before timing it, telling `tune` each choice,
 * with the choices kept in `tuneStore` (if given) used and added to.
 */
export function miyaContender<B>(be: Backend<B>, ownsBackend = true, tune?: (line: string) => void, tuneStore?: TuneStore): Contender {
  return {
    name: be.name,
    device: be.device,
    fast: be.name !== 'cpu',
    miya: true,
    tiles: be.matmulTiles?.(),
    matmul(c: MatmulCase, a: Float64Array, b: Float64Array): TimedMatmul {
      const A = be.buffer(a.length, 'A'),
        Bm = be.buffer(b.length, 'B'),
        Z = be.buffer(c.M * c.N, 'Z');
      const Act = be.buffer(c.epilogue ? c.M * c.N : 1, 'Act'),
        Bias = be.buffer(c.N, 'bias');
      be.write(A, a);
      be.write(Bm, b);
      be.write(Bias, new Float64Array(c.N));
      const fixed = c.tile || c.singleBuffer !== undefined || c.separateEpilogue !== undefined || c.vec4 !== undefined;
      const timed: TimedMatmul = {
        // a case that names its variant (the tiles suite) is not tuned
        prepare: async () => {
          if (!tune || !be.tuneProducts || fixed) return undefined;
          await be.tuneProducts(
            productsOf(be, () => timed.run()),
            tune,
            tuneStore,
          );
          return 'tuned';
        },
        run() {
          matmul(be, {
            z: { buf: Z, off: 0, rows: c.M, cols: c.N },
            transA: c.transA,
            transB: c.transB,
            tile: c.tile,
            singleBuffer: c.singleBuffer,
            vec4: c.vec4,
            splits: c.splits,
            separateEpilogue: c.separateEpilogue,
            a: { buf: A, off: 0, rows: c.transA ? c.K : c.M, cols: c.transA ? c.M : c.K },
            b: { buf: Bm, off: 0, rows: c.transB ? c.N : c.K, cols: c.transB ? c.K : c.N },
            ...(c.epilogue ? { bias: { buf: Bias, off: 0, rows: 1, cols: c.N }, activation: 'sigmoid', act: { buf: Act, off: 0, rows: c.M, cols: c.N } } : {}),
          });
          be.submit();
        },
        sync: () => settle(be),
        rows: (rows) => be.read(Z, 0, rows * c.N),
        dispose() {
          for (const x of [A, Bm, Z, Act, Bias]) be.free(x);
        },
      };
      return timed;
    },
    step(s: StepSetup): TimedStep {
      const before = be.inventory();
      const session = sessionOf(be, s, s.data.n);
      const bytes = be.name === 'cpu' ? 8 : 4;
      return {
        memory() {
          // the backend's workspace (split-K partials) outlives a model: count it whoever made it
          const use = { ...memorySince(be, before), workspace: 0 };
          for (const { label, floats } of be.inventory().values()) if (label === 'workspace') use.workspace += floats;
          return Object.fromEntries(Object.entries(use).map(([k, floats]) => [k, floats * bytes]));
        },
        run: () => session.step(session.batches.at(0), 0),
        prepare: async () => {
          if (!tune || !be.tuneProducts) return undefined;
          await be.tuneProducts(session.productsOfStep(), tune, tuneStore);
          return 'tuned';
        },
        sync: () => settle(be),
        firstLoss: async () => (await session.readLosses(0, 1))[0],
        dispose: () => session.dispose(),
      };
    },
    async validationLoss(s: StepSetup): Promise<number> {
      const session = sessionOf(be, s, s.data.n);
      session.evaluate(session.batches.at(0), 0);
      const loss = (await session.readLosses(0, 1))[0];
      session.dispose();
      return loss;
    },
    async validationOutputs(s: StepSetup): Promise<Float64Array> {
      const session = sessionOf(be, s, s.data.n);
      try {
        session.evaluate(session.batches.at(0), 0);
        return await session.readView(session.net.prediction(s.data.n));
      } finally {
        session.dispose();
      }
    },
    dispose: () => {
      if (ownsBackend) be.dispose();
    },
  };
}
