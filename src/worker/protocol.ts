// The messages between a page and the training worker (runInWorker.ts ⇄ entry.ts). Everything
// here survives structured cloning: the spec as plain JSON, the samples as typed arrays (moved,
// not copied, when the caller asks), progress and the result as plain objects, errors as data.
import type { BackendName } from '../backends.js';
import type { Datasets } from '../data/dataset.js';
import type { Checkpoint } from '../io/checkpoint.js';
import type { RunOptions, RunResult } from '../train/runSpec.js';
import type { Progress } from '../train/trainer.js';

/** runSpec's options that can cross into a worker (functions and backends cannot). */
export interface WorkerRunOptions {
  backend?: BackendName;
  steps?: number;
  reportEvery?: number;
  tune?: boolean;
  resume?: { checkpoint: Checkpoint; from: string };
  /** Checkpoint every this many steps; the bytes come back to the page, whose `save` keeps them. */
  checkpoint?: { every: number; where: string };
  /** Whether the page listens for progress (runSpec evaluates each epoch only then), notices and the start. */
  progress: boolean;
  notices: boolean;
  start: boolean;
}

export type RunStart = Parameters<NonNullable<RunOptions['onStart']>>[0];

/** An error as data: rebuilt on the page as the same class with the same message and fields. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  /** The error's own fields with plain values (SpecError's path and expected, NonFiniteError's step and tensor). */
  fields: Record<string, string | number | boolean | null>;
  cause?: ErrorData;
}

export type ToWorker =
  | { type: 'run'; spec: unknown; options: WorkerRunOptions; data?: Datasets }
  | { type: 'stop' }
  | { type: 'saved'; id: number; error?: ErrorData };

export type FromWorker =
  | { type: 'start'; at: RunStart }
  | { type: 'progress'; progress: Progress }
  | { type: 'notice'; message: string }
  | { type: 'save'; id: number; bytes: Uint8Array; step: number }
  | { type: 'done'; result: RunResult }
  | { type: 'error'; error: ErrorData };
