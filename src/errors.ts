/** Bad input: the CLI prints the message and exits 2. `path` is the JSON path or file at fault. */
export class SpecError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path}: ${expected}`);
    this.name = 'SpecError';
  }
}

/** A run that failed (NaN/Inf, device lost): the CLI prints the message and exits 1. */
export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}

/** "NaN", "+Inf" or "-Inf": how a non-finite value is named in messages. */
export const nonFiniteText = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

/** Training produced NaN or Inf: names the step (1-based) and the tensor. */
export class NonFiniteError extends RunError {
  constructor(
    readonly step: number,
    readonly tensor: string,
    value: number,
  ) {
    super(`diverged at step ${step}: ${tensor} is ${nonFiniteText(value)}`);
    this.name = 'NonFiniteError';
  }
}

/** The GPU device was lost (driver reset, device destroyed, tab in the background too long). */
export class DeviceLostError extends RunError {
  constructor(reason: string, message: string) {
    super(`the GPU device was lost (${reason}${message ? `: ${message}` : ''}); the run cannot go on on this device`);
    this.name = 'DeviceLostError';
  }
}
