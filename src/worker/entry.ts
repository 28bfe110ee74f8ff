// The training worker (built as dist/miya-worker.js, a module worker beside dist/miya.js): one
// run per worker. It receives the spec and options from runInWorker, runs runSpec, and posts
// progress, notices, checkpoint bytes and the result (or the error, as data) back to the page.
import { type RunOptions, runSpec } from '../train/runSpec.js';
import { checkData } from './checkData.js';
import { errorData, rebuildError } from './errors.js';
import type { FromWorker, ToWorker } from './protocol.js';

interface WorkerScope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

const stop = new AbortController();
const saves = new Map<number, { ok: () => void; fail: (e: Error) => void }>();
let nextSave = 0;

// The cpu backend's steps are synchronous: unless something hands the event loop a turn, the
// worker never reads its message queue and a Stop posted by the page waits for the end of the
// run. The trainer now yields on its own every few ms, but Stop should not hang on that, so the
// worker takes a turn at most every 10 ms of training too. A MessageChannel round trip is a task
// without setTimeout's 4 ms clamp. (Measured: Stop honoured 15–143 ms after the abort.)
const channel = new MessageChannel();
let wake: (() => void) | undefined;
channel.port1.onmessage = () => wake?.();
let lastYield = performance.now();
async function yieldToMessages(): Promise<void> {
  if (performance.now() - lastYield < 10) return;
  await new Promise<void>((ok) => {
    wake = ok;
    channel.port2.postMessage(null);
  });
  lastYield = performance.now();
}

scope.addEventListener('message', (e) => {
  const m = e.data;
  if (m.type === 'stop') stop.abort();
  else if (m.type === 'saved') {
    const s = saves.get(m.id);
    saves.delete(m.id);
    if (m.error) s?.fail(rebuildError(m.error));
    else s?.ok();
  } else if (m.type === 'run') {
    run(m).then(
      (result) => post({ type: 'done', result }),
      (err) => post({ type: 'error', error: errorData(err) }),
    );
  }
});

async function run(m: Extract<ToWorker, { type: 'run' }>) {
  const o = m.options;
  if (m.data) checkData(m.spec, m.data);
  const opts: RunOptions = {
    backend: o.backend,
    steps: o.steps,
    reportEvery: o.reportEvery,
    tune: o.tune,
    resume: o.resume,
    data: m.data,
    signal: stop.signal,
    afterStep: yieldToMessages,
  };
  if (o.progress) opts.onProgress = (progress) => post({ type: 'progress', progress });
  if (o.start) opts.onStart = (at) => post({ type: 'start', at });
  if (o.notices) opts.notice = (message) => post({ type: 'notice', message });
  if (o.checkpoint) {
    opts.checkpoint = {
      ...o.checkpoint,
      // the page's save runs before training goes on, as it would on the page: a failed save fails the run
      save: (bytes, step) =>
        new Promise<void>((ok, fail) => {
          const id = nextSave++;
          saves.set(id, { ok, fail });
          post({ type: 'save', id, bytes, step }, [bytes.buffer as ArrayBuffer]);
        }),
    };
  }
  return runSpec(m.spec, opts);
}
