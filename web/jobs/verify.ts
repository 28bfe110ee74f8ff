// The Verify tab's run, without the page: `miya verify` (the worked examples, the kernels and
// random networks against the float64 reference), each row told as an event as it is checked.
import { CpuBackend, type VerifyRow, verifyAll } from '../../src/index.js';
import type { JobContext } from '../../src/worker/jobs.js';
import { webgpu } from '../backend.js';

export interface VerifyArgs {
  random: number;
  gpu: boolean;
}
export type VerifyEvent = { type: 'start'; backend: string; device: string } | { type: 'row'; row: VerifyRow };
export interface VerifyResult {
  backend: string;
  device: string;
  rows: VerifyRow[];
  passed: number;
  failed: number;
}

export async function verifyJob(a: VerifyArgs, { emit }: JobContext<VerifyEvent>): Promise<VerifyResult> {
  const be = (a.gpu ? await webgpu() : undefined) ?? new CpuBackend();
  emit({ type: 'start', backend: be.name, device: be.device });
  try {
    const rows = await verifyAll(be, { random: a.random, onRow: (row) => emit({ type: 'row', row }) });
    const failed = rows.filter((r) => !r.ok).length;
    return { backend: be.name, device: be.device, rows, passed: rows.length - failed, failed };
  } finally {
    if (be.name === 'cpu') be.dispose();
  }
}
