// Story: one worked example, one training step, stage by stage (forward, loss, backward,
// update), every number from the float64 CPU reference beside the same number from the GPU.
// Choosing an example starts loading it; Next stage and Whole step wait for the latest choice's
// load, and a load that a later choice superseded is dropped (a token a load), so a stage shown
// is always the chosen example's.
import { CpuBackend, type RunSpec, tellStep, traceStep, validateSpec } from '../src/index.js';
import { el, select, webgpu } from './backend.js';
import { workedExamples } from './examples.js';

type Trace = Awaited<ReturnType<typeof traceStep>>;
const STAGES = ['forward', 'loss', 'backward', 'update'] as const;

function tensorsOf(t: Trace, stage: (typeof STAGES)[number]): [string, ArrayLike<number>][] {
  switch (stage) {
    case 'forward':
      return [['x (input)', t.input], ['y (target)', t.target], ...t.before, ...t.forward];
    case 'loss':
      return [['loss', [t.loss]]];
    case 'backward':
      return [...t.backward];
    case 'update':
      return [...t.state, ...[...t.after].map(([k, v]): [string, Float64Array] => [`${k} (after)`, v])];
  }
}

function stageTable(ref: Trace, dev: Trace | undefined, stage: (typeof STAGES)[number]): { table: HTMLTableElement; worst: number } {
  const table = el('table');
  table.innerHTML = `<tr><th>tensor</th><th>i</th><th>CPU float64</th><th>${dev ? 'GPU float32' : 'GPU (none)'}</th><th>|difference|</th></tr>`;
  const devTensors = new Map(dev ? tensorsOf(dev, stage) : []);
  let worst = 0;
  for (const [name, values] of tensorsOf(ref, stage)) {
    const other = devTensors.get(name);
    for (let i = 0; i < Math.min(values.length, 48); i++) {
      const d = other ? Math.abs(other[i] - values[i]) : NaN;
      if (other) worst = Math.max(worst, d / Math.max(1, Math.abs(values[i])));
      const tr = el('tr');
      for (const [text, cls] of [
        [i === 0 ? name : '', 'name'],
        [String(i), ''],
        [values[i].toPrecision(10), ''],
        [other ? other[i].toPrecision(8) : '—', ''],
        [other ? d.toExponential(1) : '—', ''],
      ])
        tr.append(el('td', text, cls));
      table.append(tr);
    }
  }
  return { table, worst };
}

export interface StoryResult {
  example: string;
  stages: number;
  worstRelativeDifference: number;
  gpu: boolean;
}

export function setupStory(root: HTMLElement): { run(name?: string): Promise<StoryResult> } {
  const choice = select(workedExamples.map(([n]) => [n, n]));
  const next = el('button', 'Next stage');
  const all = el('button', 'Whole step');
  const out = el('div');
  const controls = el('div', '', 'controls');
  controls.append('Worked example: ', choice, next, all);
  root.append(controls, out);
  let traces: { name: string; spec: RunSpec; ref: Trace; dev?: Trace } | undefined;
  let shown = 0,
    worst = 0;
  /** The latest load, and its token: a load whose token is no longer the latest changes nothing. */
  let loading: Promise<void> = Promise.resolve(),
    token = 0;

  // Next stage is live until the step's last stage is shown; clicked while an example loads, it waits for it
  function refresh(): void {
    next.disabled = traces !== undefined && shown >= STAGES.length;
  }
  function load(name: string): Promise<void> {
    const mine = ++token;
    traces = undefined;
    shown = 0;
    worst = 0;
    out.replaceChildren(el('p', `Loading ${name}…`, 'stats'));
    refresh();
    loading = (async () => {
      const spec = validateSpec(workedExamples.find(([n]) => n === name)![1]);
      const gpu = await webgpu();
      const ref = await traceStep(new CpuBackend(), spec);
      const dev = gpu ? await traceStep(gpu, spec) : undefined;
      if (mine !== token) return; // superseded by a later choice
      traces = { name, spec, ref, dev };
      out.replaceChildren(el('p', String(spec.note ?? '')));
      refresh();
    })();
    loading.catch((e) => {
      if (mine === token) out.replaceChildren(el('p', `Stopped: ${(e as Error).message}`, 'stats'));
    });
    return loading;
  }
  /** Waits for the latest choice's load, however many choices come while it waits. */
  async function ready(): Promise<void> {
    let awaited: Promise<void>;
    do {
      awaited = loading;
      await awaited;
    } while (awaited !== loading);
  }
  function showNext() {
    if (!traces || shown >= STAGES.length) return;
    const stage = STAGES[shown++];
    const { table, worst: w } = stageTable(traces.ref, traces.dev, stage);
    worst = Math.max(worst, w);
    const section = el('div', '', 'stage');
    section.append(el('h3', `${shown}. ${stage}`), table);
    out.append(section);
    if (shown === STAGES.length) {
      out.append(el('h3', 'The step in words (miya explain)'), el('pre', tellStep(traces.spec, traces.ref, traces.dev)));
    }
    refresh();
  }
  async function run(name = choice.value): Promise<StoryResult> {
    choice.value = name;
    void load(name);
    await ready();
    if (traces?.name !== name) throw new Error(`${name}: another example was chosen while it loaded`);
    while (shown < STAGES.length) showNext();
    return { example: name, stages: shown, worstRelativeDifference: worst, gpu: !!traces.dev };
  }
  choice.onchange = () => void load(choice.value);
  next.onclick = () => void ready().then(showNext, () => undefined); // a failed load says so in the page
  all.onclick = () => void run().catch(() => undefined);
  void load(choice.value);
  return { run };
}
