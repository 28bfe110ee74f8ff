// Verify: `miya verify` in the page: the worked examples and random networks on WebGPU against
// the float64 reference (and finite differences), one row per check.
import { CpuBackend, type VerifyRow, verifyAll } from '../src/index.js';
import { el, webgpu } from './backend.js';

export interface VerifyResult { backend: string; device: string; rows: VerifyRow[]; passed: number; failed: number }

export function setupVerify(root: HTMLElement): { run(random?: number): Promise<VerifyResult> } {
  const start = el('button', 'Run verify');
  const controls = el('div', '', 'controls');
  const summary = el('p', 'Press Run verify.', 'stats');
  controls.append(start);
  const table = el('table');
  root.append(controls, summary, table);

  async function run(random = 20): Promise<VerifyResult> {
    start.disabled = true; // one verification at a time
    try {
      return await verify(random);
    } finally {
      start.disabled = false;
    }
  }
  async function verify(random: number): Promise<VerifyResult> {
    const be = (await webgpu()) ?? new CpuBackend();
    table.innerHTML = '<tr><th>check</th><th>tensor</th><th>error</th><th>tolerance</th><th>ok</th></tr>';
    summary.textContent = `Verifying on ${be.name} (${be.device})…`;
    const rows = await verifyAll(be, {
      random,
      onRow: (r) => {
        const tr = el('tr', undefined, r.ok ? '' : 'fail');
        for (const [t, c] of [[r.check, 'name'], [r.tensor, 'name'], [r.error.toExponential(2), ''], [r.tolerance.toExponential(0), ''], [r.ok ? 'ok' : 'FAIL', '']]) tr.append(el('td', t, c));
        table.append(tr);
      },
    });
    const failed = rows.filter((r) => !r.ok).length;
    summary.textContent = `${be.name} on ${be.device}: ${rows.length - failed} passed, ${failed} failed`;
    return { backend: be.name, device: be.device, rows, passed: rows.length - failed, failed };
  }
  start.onclick = () => void run().catch((e) => { summary.textContent = `Stopped: ${(e as Error).message}`; });
  return { run };
}
