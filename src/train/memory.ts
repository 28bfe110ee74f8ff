// What a model holds on its device, by kind: parameters and gradients, optimizer state, one
// batch's activations (and their gradients), the resident data set and the gathered batch, and
// the loss bookkeeping, and the backend's workspace (split-K partials). Sorted by the labels buffers are made with (nn/, optim/, train/session.ts).
import type { Backend } from '../backend.js';

export const MEMORY_KINDS = ['parameters', 'gradients', 'optimizer', 'activations', 'data', 'batch', 'loss', 'workspace'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];
export type MemoryUse = Record<MemoryKind, number>;

export function memoryKind(label: string): MemoryKind {
  if (label === 'parameters' || label === 'gradients') return label;
  const head = label.split(/[. ]/)[0];
  if (head === 'optimizer' || head === 'data' || head === 'batch' || head === 'loss' || head === 'workspace') return head;
  return 'activations';
}

/** Floats per kind held by the buffers made between `before` (an inventory) and now. */
export function memorySince<B>(be: Backend<B>, before: Map<B, unknown>): MemoryUse {
  const use = Object.fromEntries(MEMORY_KINDS.map((k) => [k, 0])) as MemoryUse;
  for (const [buf, { label, floats }] of be.inventory()) if (!before.has(buf)) use[memoryKind(label)] += floats;
  return use;
}
