// The benchmark's results as a markdown table (with each Miya backend's speed-up over the TF.js
// peer on the same device kind) and as an SVG bar chart of time per case.
import type { BenchResult } from './run.js';

const timeOf = (r: BenchResult) => (r.ms ?? r.msPerStep)!;
/** "1.234 ms" for a matmul, "1.234 ms/step" for a training step. */
export const timeText = (r: BenchResult): string => `${timeOf(r).toFixed(3)} ms${r.msPerStep !== undefined ? '/step' : ''}`;
/** The host's part of a launch (recording and submitting), "0.123 ms". */
export const hostText = (r: BenchResult): string => (r.hostMs !== undefined ? `${r.hostMs.toFixed(3)} ms` : '');
const PEER: Record<string, string> = { webgpu: 'tfjs-webgpu', cpu: 'tfjs-cpu' };

export function speedups(results: BenchResult[]): Map<BenchResult, number> {
  const out = new Map<BenchResult, number>();
  for (const r of results) {
    const peer = results.find((p) => p.backend === PEER[r.backend] && p.case === r.case && p.suite === r.suite);
    if (peer) out.set(r, timeOf(peer) / timeOf(r));
  }
  return out;
}

const size = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`;

/** A step's device memory, with its parameters + optimizer state and activations beside it. */
export function memoryText(r: BenchResult): string {
  const m = r.memory;
  if (!m) return '';
  const total = Object.values(m).reduce((a, b) => a + b, 0);
  return `${size(total)} (params+grads+optimizer ${size(m.parameters + m.gradients + m.optimizer)}, activations ${size(m.activations)}, data+batch ${size(m.data + m.batch)}${m.workspace ? `, workspace ${size(m.workspace)}` : ''})`;
}

export function markdownTable(results: BenchResult[]): string {
  const up = speedups(results);
  const lines = ['| suite | case | backend | time | host | GFLOP/s | vs TF.js | memory | validation |', '|---|---|---|---:|---:|---:|---:|---|---|'];
  for (const r of results) {
    const s = up.get(r);
    lines.push(
      `| ${r.suite} | ${r.case} | ${r.backend} | ${timeText(r)} | ${hostText(r)} | ${r.gflops.toFixed(1)} | ${s ? s.toFixed(1) + '×' : ''} | ${memoryText(r)} | ${r.validation} |`,
    );
  }
  return lines.join('\n') + '\n';
}

const COLORS: Record<string, string> = { webgpu: '#2a7ab9', cpu: '#7fb3d5', 'tfjs-webgpu': '#e67e22', 'tfjs-cpu': '#f5b97f' };

/** Horizontal bars of log10(time), one group per case, one bar per backend. */
export function svgChart(results: BenchResult[], title: string): string {
  const cases = [...new Set(results.map((r) => `${r.suite} ${r.case}`))];
  const backends = [...new Set(results.map((r) => r.backend))];
  const bar = 14,
    gap = 10,
    left = 260,
    width = 520;
  const times = results.map(timeOf);
  const lo = Math.floor(Math.log10(Math.min(...times))),
    hi = Math.ceil(Math.log10(Math.max(...times)));
  const x = (t: number) => left + ((Math.log10(t) - lo) / Math.max(1, hi - lo)) * width;
  const parts: string[] = [];
  let y = 40;
  for (const c of cases) {
    const rows = results.filter((r) => `${r.suite} ${r.case}` === c);
    parts.push(`<text x="${left - 8}" y="${y + (rows.length * bar) / 2 + 4}" text-anchor="end">${escapeXml(c)}</text>`);
    for (const r of rows) {
      parts.push(`<rect x="${left}" y="${y}" width="${(x(timeOf(r)) - left).toFixed(1)}" height="${bar - 2}" fill="${COLORS[r.backend] ?? '#999'}"/>`);
      parts.push(`<text x="${(x(timeOf(r)) + 4).toFixed(1)}" y="${y + bar - 4}" font-size="10">${timeOf(r).toPrecision(3)} ms</text>`);
      y += bar;
    }
    y += gap;
  }
  const legend = backends.map(
    (b, i) =>
      `<rect x="${left + i * 120}" y="${y + 6}" width="10" height="10" fill="${COLORS[b] ?? '#999'}"/><text x="${left + i * 120 + 14}" y="${y + 15}">${b}</text>`,
  );
  const ticks: string[] = [];
  for (let e = lo; e <= hi; e++)
    ticks.push(
      `<line x1="${x(10 ** e)}" y1="30" x2="${x(10 ** e)}" y2="${y}" stroke="#ddd"/><text x="${x(10 ** e)}" y="26" text-anchor="middle" font-size="10">${10 ** e} ms</text>`,
    );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 80}" height="${y + 30}" font-family="sans-serif" font-size="12">\n` +
    `<text x="8" y="14" font-weight="bold">${escapeXml(title)}</text>\n${ticks.join('\n')}\n${parts.join('\n')}\n${legend.join('\n')}\n</svg>\n`
  );
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
