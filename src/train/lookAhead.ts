// How far a training loop may record ahead of the device (Trainer.train uses it): a fence a step,
// and the host waits while more than about half a second of measured device work is unfinished.
import type { Backend } from '../backend.js';

/** How much device work, in seconds, may be recorded ahead of what the device has finished. */
const AHEAD_SECONDS = 0.5;
/** The shortest stretch the device's pace is measured over, in ms. */
const PACE_MS = 50;

/**
 * How far the host may record ahead of the device. On a backend that runs each step at once (cpu)
 * there is nothing to wait for. On a GPU, each step gets a fence (the backend's idle()); before a
 * step is recorded, the host waits until fewer than `limit` steps are unfinished, where `limit` is
 * AHEAD_SECONDS of the device's measured pace (at least 1; at most the read-back interval, as
 * before). A fast GPU keeps its queue full; a slow one (SwiftShader: ~0.6 s a step of the MNIST
 * MLP) runs one step at a time, the host recording the next in the moment between, and a stop
 * waits for that one step only.
 */
export class LookAhead {
  private fences: { step: number; done: Promise<void> }[] = [];
  /** The latest step the device is known to have finished. */
  private finished: number;
  /** The pace is measured from this step and time on. */
  private mark: { step: number; at: number };
  private secondsPerStep = 0;

  constructor(
    private be: Backend<unknown>,
    private most: number,
    start: number,
  ) {
    this.finished = start;
    this.mark = { step: start, at: performance.now() };
  }

  private get limit(): number {
    if (this.secondsPerStep <= 0) return 1; // not measured yet (the first step compiles the kernels)
    return Math.max(1, Math.min(this.most, Math.floor(AHEAD_SECONDS / this.secondsPerStep)));
  }

  /** After step `step` has been submitted. */
  recorded(step: number): void {
    if (!this.be.idle) return;
    const done = this.be.idle().then(() => {
      if (step <= this.finished) return;
      this.finished = step;
      // fences are often answered several at once: the pace is taken over at least PACE_MS
      const now = performance.now(),
        ms = now - this.mark.at;
      if (ms >= PACE_MS) {
        this.secondsPerStep = ms / 1000 / (step - this.mark.step);
        this.mark = { step, at: now };
      }
    });
    this.fences.push({ step, done });
    while (this.fences.length > 0 && this.fences[0].step <= this.finished) this.fences.shift();
  }

  /** Waits until step `next` (0-based) may be recorded. */
  async room(next: number): Promise<void> {
    while (this.fences.length > 0 && next - this.finished >= this.limit) await this.fences.shift()!.done;
  }
}
