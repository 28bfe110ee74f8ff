// Verify: `miya verify` in the page: the worked examples and random networks on WebGPU against
// the float64 reference (and finite differences), one row per check. The checks run in the
// playground's worker (jobs/verify.ts); the page adds each row as it comes.
import { el, webgpu } from './backend.js';
import type { VerifyResult } from './jobs/verify.js';
import { runJob } from './run.js';

export type { VerifyResult } from './jobs/verify.js';

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
    table.innerHTML = '<tr><th>check</th><th>tensor</th><th>error</th><th>tolerance</th><th>ok</th></tr>';
    summary.textContent = 'Starting…';
    const gpu = (await webgpu()) !== undefined;
    const out = await runJob(
      'verify',
      { random, gpu },
      {
        onEvent: (e) => {
          if (e.type === 'start') {
            summary.textContent = `Verifying on ${e.backend} (${e.device})…`;
            return;
          }
          const r = e.row,
            tr = el('tr', undefined, r.ok ? '' : 'fail');
          for (const [t, c] of [
            [r.check, 'name'],
            [r.tensor, 'name'],
            [r.error.toExponential(2), ''],
            [r.tolerance.toExponential(0), ''],
            [r.ok ? 'ok' : 'FAIL', ''],
          ])
            tr.append(el('td', t, c));
          table.append(tr);
        },
      },
    );
    summary.textContent = `${out.backend} on ${out.device}: ${out.passed} passed, ${out.failed} failed`;
    return out;
  }
  start.onclick = () =>
    void run().catch((e) => {
      summary.textContent = `Stopped: ${(e as Error).message}`;
    });
  return { run };
}
