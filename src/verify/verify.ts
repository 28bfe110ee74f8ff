// `miya verify`: the worked examples against their expected numbers, every kernel (each optimised
// matmul variant; kernelCases.ts) and random networks of every kind (MLPs, RNNs, sequential stacks
// of dense, rnn, lstm and gru layers, embeddings and dropout) against the float64 reference, and
// finite-difference checks of the reference's gradients (with the training step's dropout masks).
import type { Backend } from '../backend.js';
import { CpuBackend } from '../cpu/backend.js';
import { validateSpec } from '../spec/validate.js';
import type { RunSpec } from '../spec/types.js';
import { maxRelError, normRelError, TOLERANCE } from './compare.js';
import { gradientCheck } from './gradCheck.js';
import { kernelChecks } from './kernelChecks.js';
import { describeSpec, randomNetwork } from './randomSpecs.js';
import { allTensors, traceStep } from './trace.js';
import { type Expect, matchesPrinted, workedExamples } from './workedExamples.js';

export interface VerifyRow {
  check: string;
  tensor: string;
  error: number;
  tolerance: number;
  ok: boolean;
}
export interface VerifyOptions {
  random?: number;
  onRow?: (r: VerifyRow) => void;
  /** Told as each stage starts (a worked example, a group of kernels, a random network): progress for a long run. */
  onStage?: (what: string) => void;
}

const row = (check: string, tensor: string, error: number, tolerance: number): VerifyRow => ({
  check,
  tensor,
  error,
  tolerance,
  ok: Number.isFinite(error) && error <= tolerance,
});

/** Rows for one worked example on one backend: each expected tensor, then each printed number. */
export async function verifyWorkedExample<B>(be: Backend<B>, name: string, raw: unknown): Promise<VerifyRow[]> {
  const spec = validateSpec(raw);
  const expect = spec.expect as unknown as Expect;
  const trace = await traceStep(be, spec);
  const got = allTensors(trace);
  const tol = be.precision === 'f64' ? TOLERANCE.workedCpu : TOLERANCE.workedGpu;
  const rows: VerifyRow[] = [row(name, 'loss', maxRelError([trace.loss], [expect.loss]), tol)];
  const groups: [Record<string, number[]> | undefined, string][] = [
    [expect.tensors, ''],
    [expect.grads, '.grad'],
    [expect.params, ''],
  ];
  for (const [group, suffix] of groups) {
    for (const [k, want] of Object.entries(group ?? {})) rows.push(row(name, k + suffix, maxRelError(got.get(k + suffix) ?? [], want), tol));
  }
  for (const [k, want] of Object.entries(expect.state ?? {})) {
    const flat = [...got.entries()].filter(([n]) => n.endsWith('.' + k)).flatMap(([, v]) => [...v]);
    rows.push(row(name, `optimizer ${k}`, maxRelError(flat, want), tol));
  }
  for (const [tensor, index, text] of expect.printed ?? []) {
    const v = got.get(tensor)?.[index] ?? NaN;
    // float32 holds about 7 digits: past that, a device is held to its own tolerance instead
    const tolerance = Math.max(10 ** -(text.split('.')[1] ?? '').length, be.precision === 'f64' ? 0 : tol * Math.abs(Number(text)));
    const error = Math.abs(v - Number(text));
    const ok = be.precision === 'f64' ? matchesPrinted(v, text) : error <= tolerance * (1 + 1e-9);
    rows.push({ check: name, tensor: `${tensor}[${index}] shows as ${text}`, error, tolerance, ok });
  }
  if (be.precision !== 'f64') {
    const ref = allTensors(await traceStep(new CpuBackend(), spec));
    let worst = 0,
      worstName = '';
    for (const [k, v] of ref) {
      const e = maxRelError(got.get(k) ?? [], v);
      if (!(e <= worst)) {
        worst = e;
        worstName = k;
      }
    }
    rows.push(row(name, `every tensor vs cpu (worst: ${worstName || 'none'})`, worst, tol));
  }
  return rows;
}

/** Worst ‖gpu − cpu‖/‖cpu‖ over every tensor of a 2-step run of a random spec. */
export async function compareWithReference<B>(be: Backend<B>, spec: RunSpec): Promise<{ tensor: string; error: number }> {
  const steps = spec.steps ?? 1;
  const got = allTensors(await traceStep(be, spec, steps));
  const ref = allTensors(await traceStep(new CpuBackend(), spec, steps));
  let worst = { tensor: 'none', error: 0 };
  for (const [k, v] of ref) {
    const e = normRelError(got.get(k) ?? [], v);
    if (!(e <= worst.error)) worst = { tensor: k, error: e };
  }
  return worst;
}

export async function verifyAll<B>(be: Backend<B>, opts: VerifyOptions = {}): Promise<VerifyRow[]> {
  const rows: VerifyRow[] = [];
  const add = (r: VerifyRow) => {
    rows.push(r);
    opts.onRow?.(r);
  };
  for (const ex of workedExamples) {
    opts.onStage?.(`worked example ${ex.name}`);
    for (const r of await verifyWorkedExample(be, ex.name, ex.spec)) add(r);
  }
  if (be.precision !== 'f64') for (const k of await kernelChecks(be, opts.onStage)) add(row('kernel', k.name, k.error, TOLERANCE.kernelGpu));
  const n = opts.random ?? 20;
  for (let i = 0; i < n; i++) {
    const spec = validateSpec(randomNetwork(i));
    const label = `random ${i + 1}: ${describeSpec(spec)}`;
    opts.onStage?.(`random network ${i + 1} of ${n}: ${describeSpec(spec)}`);
    if (be.precision !== 'f64') {
      const w = await compareWithReference(be, spec);
      add(row(label, `worst vs cpu: ${w.tensor}`, w.error, TOLERANCE.randomGpu));
    }
    add(row(label, 'gradient check (cpu, finite differences)', await gradientCheck(spec), TOLERANCE.gradCheck));
  }
  return rows;
}

export function formatRows(rows: VerifyRow[]): string {
  const head = ['check', 'tensor', 'worst error', 'tolerance', ''];
  const body = rows.map((r) => [r.check, r.tensor, r.error.toExponential(2), r.tolerance.toExponential(0), r.ok ? 'ok' : 'FAIL']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
