// Bench: `miya bench` in the page, so a user measures their own GPU: the same suites and cases,
// validated against the float64 reference before they are timed, on WebGPU and the CPU backend,
// and on TensorFlow.js (loaded only when its boxes are ticked), with the same table. With "tune",
// WebGPU's products are tuned first, the choices kept per GPU in this browser (tuneStore.ts).
// Each result is shown once, as a row of the table; the log above it keeps the rest (devices,
// tuning), and the same table as markdown is folded away below, in a box that scrolls. The
// benchmark runs in the playground's worker (jobs/bench.ts), TF.js with it; the page draws the table.
import { BACKENDS } from '../bench/suite.js';
import { hostText, memoryText, speedups, timeText } from '../bench/report.js';
import type { BenchResult } from '../bench/run.js';
import { el, select, webgpu } from './backend.js';
import type { BenchPageResult, BenchRequest } from './jobs/bench.js';
import { runJob } from './run.js';

export type { BenchPageResult, BenchRequest } from './jobs/bench.js';

export function setupBench(root: HTMLElement): { run(r: BenchRequest): Promise<BenchPageResult> } {
  const suite = select(
    [
      ['small', 'small (worked-example steps)'],
      ['matmul', 'matmul'],
      ['mlp', 'mlp training steps'],
      ['rnn', 'rnn training steps'],
      ['all', 'all'],
    ],
    'all',
  );
  const quick = Object.assign(el('input'), { type: 'checkbox', checked: true });
  const tune = Object.assign(el('input'), { type: 'checkbox', checked: false });
  const boxes = BACKENDS.map((b) => [b, Object.assign(el('input'), { type: 'checkbox', checked: !b.startsWith('tfjs') })] as const);
  const start = el('button', 'Run benchmark');
  const controls = el('div', '', 'controls');
  const labelled = (box: HTMLInputElement, text: string) => {
    const l = el('label');
    l.append(box, ` ${text}`);
    return l;
  };
  controls.append('Suite: ', suite, labelled(quick, 'quick sizes'), labelled(tune, 'tune WebGPU (kept per GPU in this browser)'), ' Backends:');
  for (const [name, box] of boxes) controls.append(labelled(box, name));
  controls.append(start);
  const stats = el('p', 'Press Run benchmark. Each case is checked against the float64 reference before it is timed.', 'stats');
  const log = el('pre', '', 'log'),
    table = el('table'),
    markdown = el('pre', '', 'markdown');
  const tableBox = el('div', '', 'wide'),
    markdownBox = el('details', '', 'markdown');
  tableBox.append(table);
  markdownBox.append(el('summary', 'The table as markdown (with the targets, where the run has their sizes)'), markdown);
  markdownBox.hidden = true;
  root.append(controls, stats, log, tableBox, markdownBox);

  function showTable(results: BenchResult[]): void {
    const up = speedups(results);
    table.innerHTML = '';
    const head = el('tr');
    for (const h of ['suite', 'case', 'backend', 'time', 'host', 'GFLOP/s', 'vs TF.js', 'memory', 'validation']) head.append(el('th', h));
    table.append(head);
    for (const r of results) {
      const tr = el('tr');
      for (const [t, c] of [
        [r.suite, 'name'],
        [r.case, 'name'],
        [r.backend, 'name'],
        [timeText(r), ''],
        [hostText(r), ''],
        [r.gflops.toFixed(1), ''],
        [up.has(r) ? `${up.get(r)!.toFixed(1)}×` : '', ''],
        [memoryText(r), 'name'],
        [r.validation, 'name'],
      ])
        tr.append(el('td', t, c));
      table.append(tr);
    }
  }

  async function run(r: BenchRequest): Promise<BenchPageResult> {
    start.disabled = true;
    try {
      return await bench(r);
    } finally {
      start.disabled = false;
    }
  }
  async function bench(r: BenchRequest): Promise<BenchPageResult> {
    log.textContent = '';
    markdown.textContent = '';
    markdownBox.hidden = true;
    const results: BenchResult[] = [];
    showTable(results);
    stats.textContent = `Running ${r.suite}${r.quick ? ' (quick sizes)' : ''}${r.tune ? ', tuned,' : ''} on ${r.backends.join(', ')}…`;
    // the page decides whether there is WebGPU (its worker has navigator.gpu even where the page has none)
    const gpu = (await webgpu()) !== undefined;
    const out = await runJob(
      'bench',
      { ...r, gpu },
      {
        onEvent: (e) => {
          // a result's line (indented, resultLine in bench/suite.ts) is its row in the table: the log shows the rest
          if (e.type === 'line') {
            if (!e.line.startsWith('  ')) log.textContent += e.line + '\n';
          } else {
            results.push(e.result);
            showTable(results);
          }
        },
      },
    );
    markdown.textContent = out.markdown;
    markdownBox.hidden = false;
    stats.textContent = `${out.results.length} case${out.results.length === 1 ? '' : 's'} on ${Object.entries(out.devices)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ')}. The table as markdown is below.`;
    return out;
  }
  start.onclick = () =>
    void run({ suite: suite.value, quick: quick.checked, tune: tune.checked, backends: boxes.filter(([, b]) => b.checked).map(([n]) => n) }).catch((e) => {
      stats.textContent = `Stopped: ${(e as Error).message}`;
    });
  return { run };
}
