// runSpec off the main thread: the run happens in a dedicated module worker (dist/miya-worker.js,
// built beside dist/miya.js), so that a page stays responsive while the cpu backend trains or
// while WebGPU steps are recorded (a dedicated worker has navigator.gpu too). It resolves with
// what runSpec resolves with, bit for bit; progress, notices, Stop and checkpoints cross over as
// messages, and errors come back as the same classes (SpecError, RunError, NonFiniteError,
// DeviceLostError) with the same messages.
import type { BackendName } from '../backends.js';
import type { Datasets } from '../data/dataset.js';
import { moduleBase } from '../browser/moduleBase.js';
import { RunError } from '../errors.js';
import type { Checkpoint } from '../io/checkpoint.js';
import type { CheckpointOptions } from '../train/checkpointing.js';
import type { RunResult } from '../train/runSpec.js';
import type { Progress } from '../train/trainer.js';
import { errorData, rebuildError } from './errors.js';
import type { FromWorker, RunStart, ToWorker } from './protocol.js';

export interface WorkerOptions {
  /** A backend by name ('cpu', 'webgpu', 'auto'); a Backend object cannot cross into a worker. */
  backend?: BackendName;
  /** overrides the spec's steps */
  steps?: number;
  reportEvery?: number;
  tune?: boolean;
  /** Called once before the first step, as runSpec's onStart. */
  onStart?: (at: RunStart) => void;
  onProgress?: (p: Progress) => void;
  notice?: (message: string) => void;
  /** Stop: the step in progress is finished and the run resolves with the steps done, as runSpec does. */
  signal?: AbortSignal;
  /** Checkpoints are encoded in the worker; their bytes are handed (moved, not copied) to this `save` on the page. */
  checkpoint?: CheckpointOptions;
  resume?: { checkpoint: Checkpoint; from: string };
  /**
   * The worker script, or a function that starts the worker. Default: miya-worker.js beside this
   * module (dist/miya.js's folder). A page that bundles Miya's sources itself (the playground)
   * passes `() => new Worker(new URL('…/src/worker/entry.ts', import.meta.url), { type: 'module' })`,
   * which Vite recognizes and bundles as a worker.
   */
  worker?: string | URL | (() => Worker);
}

export interface TrainInWorkerOptions extends WorkerOptions {
  /** Move the samples' buffers into the worker instead of copying them (the page's arrays are then empty). */
  transfer?: boolean;
}

// A name, not a literal in `new URL(…)`, and a base that is not import.meta.url itself
// (moduleBase.ts), so that bundlers leave it to be resolved at run time against wherever the built
// library is served from.
const WORKER_FILE = './miya-worker.js';

/** runSpec(spec, opts) in a dedicated worker. */
export function runInWorker(spec: unknown, opts: WorkerOptions = {}): Promise<RunResult> {
  return start(spec, opts);
}

/**
 * Trains the spec's model on the page's own samples (as `new Trainer(be, spec, data)` does) in a
 * dedicated worker. The spec is checked as runSpec checks it; its `data` is kept in checkpoints
 * but not loaded. The samples cross as typed arrays (structured clone, or moved with `transfer`).
 */
export function trainInWorker(spec: unknown, data: Datasets, opts: TrainInWorkerOptions = {}): Promise<RunResult> {
  const buffers = new Set<ArrayBuffer>();
  if (opts.transfer) {
    for (const d of [data.train, data.test]) for (const a of d ? [d.x, d.y] : []) if (a?.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
  }
  return start(spec, opts, data, [...buffers]);
}

function start(spec: unknown, opts: WorkerOptions, data?: Datasets, transfer: Transferable[] = []): Promise<RunResult> {
  if (typeof Worker === 'undefined') return Promise.reject(new RunError('runInWorker: no Web Workers here (in Node, call runSpec)'));
  const url = typeof opts.worker === 'function' ? 'started by the worker option' : (opts.worker ?? new URL(WORKER_FILE, moduleBase(import.meta.url)));
  return new Promise<RunResult>((resolve, reject) => {
    const worker = typeof opts.worker === 'function' ? opts.worker() : new Worker(url, { type: 'module', name: 'miya' });
    const post = (m: ToWorker, moved: Transferable[] = []) => worker.postMessage(m, moved);
    const onAbort = () => post({ type: 'stop' });
    let settled = false;
    const end = (failure: unknown, result?: RunResult) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      worker.terminate();
      if (result) resolve(result);
      else reject(failure);
    };
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      try {
        if (m.type === 'progress') opts.onProgress?.(m.progress);
        else if (m.type === 'start') opts.onStart?.(m.at);
        else if (m.type === 'notice') opts.notice?.(m.message);
        else if (m.type === 'save') {
          Promise.resolve()
            .then(() => opts.checkpoint!.save(m.bytes, m.step))
            .then(
              () => post({ type: 'saved', id: m.id }),
              (err) => post({ type: 'saved', id: m.id, error: errorData(err) }),
            );
        } else if (m.type === 'done') end(undefined, m.result);
        else if (m.type === 'error') end(rebuildError(m.error));
      } catch (err) {
        end(err); // a throwing onProgress or onStart fails the run, as it fails runSpec
      }
    };
    // a worker that could not be loaded (a missing or broken miya-worker.js) or failed outside a run
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      end(new RunError(`the training worker (${url}) failed${e.message ? `: ${e.message}` : ' to load'}`));
    };
    worker.onmessageerror = () => end(new RunError('a message from the training worker could not be read'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const o = opts;
    try {
      post(
        {
          type: 'run',
          spec,
          data,
          options: {
            backend: o.backend,
            steps: o.steps,
            reportEvery: o.reportEvery,
            tune: o.tune,
            resume: o.resume,
            checkpoint: o.checkpoint && { every: o.checkpoint.every, where: o.checkpoint.where },
            progress: !!o.onProgress,
            notices: !!o.notice,
            start: !!o.onStart,
          },
        },
        transfer,
      );
    } catch (err) {
      end(err); // a spec that cannot be cloned (a function in it, say)
    }
    if (o.signal?.aborted) onAbort();
  });
}
