// `miya explain`: one training step told as a story with every number — forward per layer (per
// time step for an RNN), the loss, dL/dŷ, the deltas, each gradient, the optimizer state and the
// update — with the reference (cpu, float64) and the device side by side.
import { outputsOf } from '../nn/layout.js';
import type { RunSpec } from '../spec/types.js';
import type { StepTrace } from '../verify/trace.js';
import { article, fmt, fmtList, fmtMatrix, plural } from './format.js';
import { SequentialStory } from './sequentialStory.js';
import { givesSequences } from '../spec/sequential.js';
import { hasControls, tellControls, updateFormula } from './controls.js';

/**
 * The story of one step. With training controls, `ref` and `dev` are traced at the schedule's rate
 * of step 1 (traceForExplain, src/explain/controls.ts), and `norms` holds ‖G‖² as each backend's
 * grad_norm kernels summed it (clipNorm; else the norm is summed here from the gradients).
 */
export function tellStep(spec: RunSpec, ref: StepTrace, dev?: StepTrace, norms?: { ref?: number; dev?: number }): string {
  const out: string[] = [];
  const say = (s = '') => out.push(s);
  const cols = (name: string) => (ref.shapes.get(name) ?? [1, 1]).slice(-1)[0];
  // a sequential model's stacked gate weights are told whole (4·units rows for an LSTM)
  const rowsShown = spec.model.type === 'sequential' ? 16 : 4;
  const showCols = (label: string, width: number, pick: (t: StepTrace) => Float64Array | undefined) => {
    const r = pick(ref);
    if (!r) return;
    say(`  ${label} = ${fmtMatrix(r, width, rowsShown)}`);
    const d = dev && pick(dev);
    if (dev && d) {
      let worst = 0;
      for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(d[i] - r[i]));
      say(`  ${' '.repeat(label.length)}   ${dev.backend}: ${fmtMatrix(d, width, rowsShown)}   |difference| ≤ ${worst.toExponential(1)}`);
    }
  };
  const show = (label: string, name: string, pick: (t: StepTrace) => Float64Array | undefined) => showCols(label, cols(name), pick);
  const m = spec.model;
  // a sequential model's forward and backward are told layer by layer, gate by gate (sequentialStory.ts)
  const seq = m.type === 'sequential' ? new SequentialStory(m, ref, lossGradient(spec, ref), spec.seed ?? 0) : undefined; // the traced step is step 0: its dropout masks
  const what =
    m.type === 'mlp'
      ? `${m.inputSize}-${m.layers.map((l) => l.units).join('-')} MLP`
      : m.type === 'sequential'
        ? seq!.describe()
        : `RNN (${m.inputSize} in, ${m.hiddenSize} hidden, ${m.outputSize} out, ${plural(ref.timeSteps, 'step')})`;
  say(`One training step of ${article(what)} ${what}` + `, loss ${spec.loss}, optimizer ${spec.optimizer.type}, batch of ${ref.batch}.`);
  say(`Reference: ${ref.device}${dev ? `; device: ${dev.backend} on ${dev.device}` : ''}.`);
  if (spec.note) {
    say();
    say(
      wrap(spec.note, 96)
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  say();
  say('1. The parameters before the step');
  for (const [name] of ref.before) show(name, name, (t) => t.before.get(name));
  say();
  say('2. Forward');
  say(`  input x = ${fmtMatrix(ref.input, ref.input.length / ref.batch)}   target y = ${fmtMatrix(ref.target, ref.target.length / ref.batch)}`);
  if (m.type === 'sequential') {
    seq!.forward({ say, show: showCols });
  } else if (m.type === 'mlp') {
    // layers are numbered from 1 here, as in the worked examples (tensor names keep PyTorch's 0-based names)
    let prev = 'x';
    m.layers.forEach((l, i) => {
      const n = i + 1;
      say(`  layer ${n}: z${n} = ${prev}·W${n}ᵀ + b${n}, a${n} = ${l.activation}(z${n})   (layers.${i})`);
      if (ref.batch === 1)
        dotProducts(ref, i, i === 0 ? ref.input : ref.forward.get(`layers.${i - 1}.${m.layers[i - 1].activation === 'identity' ? 'z' : 'a'}`)!).forEach((s) =>
          say(`    ${s}`),
        );
      show(`z${n}`, `layers.${i}.z`, (t) => t.forward.get(`layers.${i}.z`));
      if (l.activation !== 'identity') show(`a${n}`, `layers.${i}.a`, (t) => t.forward.get(`layers.${i}.a`));
      prev = `a${n}`;
    });
  } else {
    say(`  h_t = ${m.activation}(x_t·Wxᵀ + h_(t−1)·Whᵀ + bh), h_0 = 0; then ŷ = ${m.outputActivation}(h_${ref.timeSteps}·Wyᵀ + by)`);
    for (let t = 1; t <= ref.timeSteps; t++) {
      say(`  step ${t}:`);
      if (m.activation !== 'identity') show(`  z_${t}`, `rnn.z[t=${t}]`, (s) => s.forward.get(`rnn.z[t=${t}]`));
      show(`  h_${t}`, `rnn.h[t=${t}]`, (s) => s.forward.get(`rnn.h[t=${t}]`));
    }
    show('ŷ (head.z)', 'head.z', (t) => t.forward.get('head.z'));
    if (m.outputActivation !== 'identity') show(`ŷ = ${m.outputActivation}(head.z)`, 'head.a', (t) => t.forward.get('head.a'));
  }
  say();
  say('3. The loss');
  // a model that gives sequences averages over the steps too (y is [batch][T][O])
  const steps = m.type === 'sequential' && givesSequences(m);
  say(`  ${steps ? sequenceLoss(lossFormula(spec.loss)) : lossFormula(spec.loss)}`);
  say(`  loss = ${fmt(ref.loss)}${dev ? `   ${dev.backend}: ${fmt(dev.loss)}   |difference| = ${Math.abs(dev.loss - ref.loss).toExponential(1)}` : ''}`);
  say();
  say('4. Backward (the chain rule, from the loss back to every parameter)');
  say(`  ${steps ? sequenceLoss(lossGradFormula(spec.loss)) : lossGradFormula(spec.loss)}`);
  const g = lossGradient(spec, ref);
  if (g) say(`  dL/d${spec.loss === 'crossEntropy' ? 'logits' : 'ŷ'} = ${fmtMatrix(g, outputsOf(m), rowsShown)}`);
  if (seq) seq.backward({ say, show: showCols });
  else
    for (const [name] of ref.backward)
      show(`${name.endsWith('.grad') ? `dL/d ${name.slice(0, -5)}` : name.replace('.dz', '  δ = dL/dz').replace('head.dz', 'head δ = dL/dz')}`, name, (t) =>
        t.backward.get(name),
      );
  if (m.type === 'rnn') {
    say("  Wx, Wh and bh are shared by every step, so their gradients are the sums over t of each step's δ_t·x_tᵀ, δ_t·h_(t−1)ᵀ and δ_t:");
    for (const [t, share] of rnnShares(ref, m.inputSize, m.hiddenSize).entries()) {
      say(`    step ${t + 1}: δ·xᵀ = ${fmtMatrix(share.dWx, m.inputSize)}   δ·h_${t}ᵀ = ${fmtMatrix(share.dWh, m.hiddenSize)}   Σ δ = ${fmtList(share.dbh)}`);
    }
  }
  say();
  say('5. The update');
  say(`  ${updateFormula(spec)}`);
  if (hasControls(spec)) for (const line of tellControls(spec, ref, dev, norms)) say(line);
  for (const [name] of ref.state) show(name, name.split('.').slice(0, -1).join('.'), (t) => t.state.get(name));
  for (const [name] of ref.after) show(`new ${name}`, name, (t) => t.after.get(name));
  return out.join('\n');
}

/** z_i[j] = Σ_k W[j][k]·a[k] + b[j], written out for small layers. */
function dotProducts(t: StepTrace, layer: number, input: Float64Array): string[] {
  const w = t.before.get(`layers.${layer}.weight`)!,
    b = t.before.get(`layers.${layer}.bias`)!;
  const n = input.length;
  if (n > 4 || b.length > 4) return [];
  const z = t.forward.get(`layers.${layer}.z`)!;
  return Array.from(
    b,
    (bj, j) => `z${layer + 1}[${j}] = ${sum([...Array.from(input, (a, k) => `${fmt(w[j * n + k])}·${factor(a)}`), fmt(bj)])} = ${fmt(z[j])}`,
  );
}

/** A second factor in parentheses when negative: 0.2·(−0.5). */
const factor = (v: number) => (v < 0 ? `(${fmt(v)})` : fmt(v));

/** Terms joined as the hand-worked stories write them: a − b rather than a + −b. */
function sum(terms: string[]): string {
  return terms.map((t, i) => (i === 0 ? t : t.startsWith('−') ? ` − ${t.slice(1)}` : ` + ${t}`)).join('');
}

/** Each time step's share of the shared weights' gradients, from the reference trace. */
function rnnShares(t: StepTrace, I: number, H: number): { dWx: Float64Array; dWh: Float64Array; dbh: Float64Array }[] {
  const B = t.batch;
  return Array.from({ length: t.timeSteps }, (_, k) => {
    const dz = t.backward.get(`rnn.dz[t=${k + 1}]`)!;
    const x = t.input.subarray(k * B * I, (k + 1) * B * I);
    const hPrev = k === 0 ? new Float64Array(B * H) : t.forward.get(`rnn.h[t=${k}]`)!;
    const dWx = new Float64Array(H * I),
      dWh = new Float64Array(H * H),
      dbh = new Float64Array(H);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < H; i++) {
        const d = dz[b * H + i];
        dbh[i] += d;
        for (let j = 0; j < I; j++) dWx[i * I + j] += d * x[b * I + j];
        for (let j = 0; j < H; j++) dWh[i * H + j] += d * hPrev[b * H + j];
      }
    }
    return { dWx, dWh, dbh };
  });
}

/** dL/dŷ (dL/dlogits for crossEntropy) from the reference's prediction, in float64. */
function lossGradient(spec: RunSpec, t: StepTrace): Float64Array | undefined {
  const m = spec.model;
  const p = prediction(spec, t);
  if (!p) return undefined;
  // rows: the batch's samples, or samples × steps when the model gives sequences
  const y = t.target,
    n = p.length,
    cols = outputsOf(m),
    rows = n / cols;
  if (spec.loss !== 'crossEntropy') return p.map((v, i) => ((spec.loss === 'mse' ? 2 : 1) * (v - y[i])) / n);
  const out = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const row = p.subarray(r * cols, (r + 1) * cols),
      mx = Math.max(...row);
    const e = row.map((v) => Math.exp(v - mx)),
      s = e.reduce((a, b) => a + b, 0);
    // y: probabilities [rows][cols], or class indices (one a row, PyTorch's CrossEntropyLoss form)
    const target = (c: number) => (y.length === rows ? (y[r] === c ? 1 : 0) : y[r * cols + c]);
    for (let c = 0; c < cols; c++) out[r * cols + c] = (e[c] / s - target(c)) / rows;
  }
  return out;
}

/** What the loss reads: ŷ, or the logits for crossEntropy on a softmax layer. */
function prediction(spec: RunSpec, t: StepTrace): Float64Array | undefined {
  const m = spec.model;
  const lastLayer = m.type === 'rnn' ? undefined : m.layers[m.layers.length - 1];
  if (m.type === 'sequential') {
    const L = m.layers.length - 1,
      l = m.layers[L];
    if (l.type === 'rnn' || l.type === 'lstm' || l.type === 'gru') {
      // a recurrent last layer: its last h, or every step's h stacked time-major
      const steps = l.returnSequences ? Array.from({ length: t.timeSteps }, (_, k) => k + 1) : [t.timeSteps];
      const hs = steps.map((k) => t.forward.get(`layers.${L}.h[t=${k}]`));
      if (hs.some((h) => !h)) return undefined;
      const out = new Float64Array(hs.reduce((s, h) => s + h!.length, 0));
      let off = 0;
      for (const h of hs) {
        out.set(h!, off);
        off += h!.length;
      }
      return out;
    }
    if (l.type !== 'dense') return t.forward.get(`layers.${L}.out`);
  }
  const last = m.type === 'rnn' ? 'head' : `layers.${m.layers.length - 1}`;
  const act = m.type === 'rnn' ? m.outputActivation : (lastLayer as { activation: string }).activation;
  return spec.loss === 'crossEntropy' && act === 'softmax' ? t.forward.get(`${last}.z`) : t.forward.get(`${last}.${act === 'identity' ? 'z' : 'a'}`);
}

/** A loss's words for a model that gives sequences: means over the steps as well, y one-hot or a class index. */
function sequenceLoss(text: string): string {
  return text
    .replace('mean over the batch and the outputs', 'mean over the batch, the steps and the outputs')
    .replace('(batch · outputs)', '(batch · steps · outputs)')
    .replace('mean over the batch of', 'mean over the batch and the steps of')
    .replace(') / batch;', ') / (batch · steps);');
}

function lossFormula(loss: string): string {
  if (loss === 'mse') return 'mse = mean over the batch and the outputs of (ŷ − y)²';
  if (loss === 'halfMse') return 'halfMse = ½ · mean over the batch and the outputs of (ŷ − y)²';
  return 'crossEntropy = mean over the batch of −Σ y·log softmax(logits)';
}

function lossGradFormula(loss: string): string {
  if (loss === 'mse') return 'dL/dŷ = 2(ŷ − y) / (batch · outputs); then δ = dL/dz = dL/dŷ ⊙ f′(z) at each layer, going back through Wᵀ';
  if (loss === 'halfMse') return 'dL/dŷ = (ŷ − y) / (batch · outputs); then δ = dL/dz = dL/dŷ ⊙ f′(z) at each layer, going back through Wᵀ';
  return 'dL/dlogits = (softmax(logits) − y) / batch; then δ = dL/dz at each layer, going back through Wᵀ';
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
