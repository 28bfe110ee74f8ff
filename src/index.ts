// Miya's public API, the same in the browser and in Node.
export type { Backend, View } from './backend.js';
export { type BackendName, createBackend } from './backends.js';
export { CpuBackend } from './cpu/backend.js';
export { NonFiniteError, RunError, SpecError } from './errors.js';
export { tellStep } from './explain/story.js';
export { ACTIVATIONS, LOSSES, OPTIMIZERS } from './kernels.js';
export { Mlp } from './nn/mlp.js';
export { Rnn } from './nn/rnn.js';
export { Optimizer, optimizerConfig } from './optim/optimizer.js';
export type { RunSpec } from './spec/types.js';
export { validateSpec } from './spec/validate.js';
export { type RunResult, runSpec } from './train/runSpec.js';
export { Session } from './train/session.js';
export { traceStep } from './verify/trace.js';
export { formatRows, verifyAll } from './verify/verify.js';
export { WebGpuBackend } from './webgpu/backend.js';
