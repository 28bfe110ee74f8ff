// Jobs off the main thread: a small protocol for code that runs its own async functions in a
// dedicated worker (the playground's train, race, verify and bench; see ARCHITECTURE.md, "Off the
// main thread"). A worker serves named jobs (serveJobs); the page starts them by name through a
// JobWorker with arguments that survive structured cloning, and gets back the events a job emits
// as it goes, then its result, or its error rebuilt as the same class with the same message
// (errors.ts). The page's AbortSignal aborts the job's own signal in the worker. One worker serves
// many jobs, one after another or at once, so what it keeps between them (a GPU device, compiled
// pipelines) is made once. runJobHere runs the same job on the calling thread, for comparison.
// (runInWorker keeps its own messages, protocol.ts: its checkpoint saves wait for the page.)
import { RunError } from '../errors.js';
import { errorData, rebuildError } from './errors.js';
import type { ErrorData } from './protocol.js';

export interface JobContext<E = unknown> {
  /** Aborted when the page aborts the signal it started the job with. */
  signal: AbortSignal;
  /** Sends an event to the page's onEvent (the buffers in `transfer` are moved, not copied). */
  emit(event: E, transfer?: Transferable[]): void;
}

/** A job: its arguments and events are whatever the page and the job agree on (structured-cloneable). */
export type Job<A = never, R = unknown, E = never> = (args: A, ctx: JobContext<E>) => Promise<R>;

export interface JobOptions<E> {
  onEvent?: (event: E) => void;
  signal?: AbortSignal;
  /** Buffers in the arguments to move into the worker instead of copying them. */
  transfer?: Transferable[];
}

type ToJobs = { type: 'job'; id: number; name: string; args: unknown } | { type: 'stop'; id: number };
type FromJobs = { type: 'event'; id: number; event: unknown } | { type: 'done'; id: number; result: unknown } | { type: 'error'; id: number; error: ErrorData };

interface Scope {
  postMessage(m: FromJobs, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToJobs>) => void): void;
}

/** In a worker: answers the page's JobWorker with these jobs. */
export function serveJobs(jobs: Record<string, Job>, scope: Scope = globalThis as unknown as Scope): void {
  const running = new Map<number, AbortController>();
  scope.addEventListener('message', (e) => {
    const m = e.data;
    if (m.type === 'stop') {
      running.get(m.id)?.abort();
      return;
    }
    if (m.type !== 'job') return;
    const stop = new AbortController();
    running.set(m.id, stop);
    const emit = (event: unknown, transfer: Transferable[] = []) => scope.postMessage({ type: 'event', id: m.id, event }, transfer);
    const job = Object.hasOwn(jobs, m.name) ? jobs[m.name] : undefined;
    Promise.resolve()
      .then(() => {
        if (!job) throw new RunError(`no job named ${m.name} in this worker (it has ${Object.keys(jobs).join(', ')})`);
        return job(m.args as never, { signal: stop.signal, emit });
      })
      .then(
        (result) => scope.postMessage({ type: 'done', id: m.id, result }),
        (err) => scope.postMessage({ type: 'error', id: m.id, error: errorData(err) }),
      )
      .catch((err) => scope.postMessage({ type: 'error', id: m.id, error: errorData(err) })) // a result that cannot be cloned
      .finally(() => running.delete(m.id));
  });
}

interface Pending {
  ok(result: unknown): void;
  fail(e: unknown): void;
  onEvent?: (event: unknown) => void;
}

/**
 * On the page: one worker (started on the first run, and again after it failed) that runs jobs by
 * name. `what` names the worker in errors ("the playground's worker").
 */
export class JobWorker {
  private worker?: Worker;
  private pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(
    private readonly start: () => Worker,
    private readonly what = 'the worker',
  ) {}

  run<R, E = unknown>(name: string, args: unknown, opts: JobOptions<E> = {}): Promise<R> {
    if (typeof Worker === 'undefined') return Promise.reject(new RunError(`${this.what}: no Web Workers here`));
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => worker.postMessage({ type: 'stop', id } satisfies ToJobs);
      const settle = () => {
        this.pending.delete(id);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, {
        ok: (r) => {
          settle();
          resolve(r as R);
        },
        fail: (e) => {
          settle();
          reject(e);
        },
        onEvent: opts.onEvent as ((event: unknown) => void) | undefined,
      });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        worker.postMessage({ type: 'job', id, name, args } satisfies ToJobs, opts.transfer ?? []);
      } catch (err) {
        this.pending.get(id)?.fail(err); // arguments that cannot be cloned (a function in them, say)
        return;
      }
      if (opts.signal?.aborted) onAbort();
    });
  }

  /** Ends the worker; jobs still running fail with a RunError. */
  terminate(): void {
    this.fail(new RunError(`${this.what} was stopped`));
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = this.start();
    worker.onmessage = (e: MessageEvent<FromJobs>) => {
      const m = e.data,
        p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'done') p.ok(m.result);
      else if (m.type === 'error') p.fail(rebuildError(m.error));
      else {
        try {
          p.onEvent?.(m.event);
        } catch (err) {
          worker.postMessage({ type: 'stop', id: m.id } satisfies ToJobs);
          p.fail(err); // a throwing onEvent fails its job, as a throwing onProgress fails runSpec
        }
      }
    };
    // a worker that could not be loaded, or an error thrown outside any job: every job fails with
    // its message, and the next run starts a fresh worker
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.fail(new RunError(`${this.what} failed${e.message ? `: ${e.message}` : ' to load'}`));
    };
    worker.onmessageerror = () => this.fail(new RunError(`a message from ${this.what} could not be read`));
    this.worker = worker;
    return worker;
  }

  private fail(e: Error): void {
    this.worker?.terminate();
    this.worker = undefined;
    for (const p of [...this.pending.values()]) p.fail(e);
  }
}

/** The same job on this thread, with the same events, Stop and errors: what the worker spares the page. */
export async function runJobHere<A, R, E>(job: Job<A, R, E>, args: A, opts: JobOptions<E> = {}): Promise<R> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  try {
    return await job(args, { signal: stop.signal, emit: (event) => opts.onEvent?.(event) });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
