// Text from a character model (`miya sample`; the library's sampleText): a trained model that
// reads character ids through an embedding and predicts the next character at every step, with
// the vocabulary its checkpoint keeps (src/data/text.ts). Each new character is drawn from
// softmax(logits / temperature) of the model's last step over the latest `window` characters (the
// prime, then what was drawn), with a seeded generator: the same seed, the same text on the same
// backend (cpu's float64 logits and webgpu's float32 ones can tip a draw differently).
// The model sees at most `window` characters starting from zero states, as every training window
// did, so what it is asked is what it learned; a context shorter than the window (the start)
// runs a model of as many steps.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Backend } from '../backend.js';
import { nonFiniteText, RunError, SpecError } from '../errors.js';
import type { Network } from '../nn/network.js';
import { outputsOf } from '../nn/layout.js';
import { excerpt } from '../spec/check.js';
import type { RunSpec } from '../spec/types.js';
import { makeNetwork } from './session.js';

export interface SampleOptions {
  /** Characters to draw (default 200). */
  length?: number;
  /** Divides the logits before the softmax (default 1): below 1 surer, above 1 wilder; 0 takes the likeliest character every time. */
  temperature?: number;
  /** The text the model continues (default: a newline where the vocabulary has one, else its first character). */
  prime?: string;
  /** The generator's seed, an integer 0…2^32−1 (default 0): the generator takes 32 bits. */
  seed?: number;
}

/** What sampling needs of a checkpoint: its spec (a text model's), its parameters and its vocabulary. */
export interface CharModel {
  spec: RunSpec;
  params: Float64Array;
  vocabulary?: string[];
}

/** The prime and the characters drawn after it. `what` names the model (a checkpoint's path) in errors. */
export async function sampleText<B>(be: Backend<B>, model: CharModel, opts: SampleOptions = {}, what = 'the checkpoint'): Promise<string> {
  const { spec, params, vocabulary } = model;
  const m = spec.model;
  if (!vocabulary || m.type !== 'sequential' || m.layers[0].type !== 'embedding' || !('text' in spec.data)) {
    throw new SpecError(what, 'holds no character model: sampling needs one trained on text data (data.text), whose checkpoint keeps its vocabulary');
  }
  const window = spec.data.window;
  // an output without a character would print "undefined" and feed the embedding an id it lacks
  const outputs = outputsOf(m),
    vocab = m.layers[0].vocab;
  if (outputs !== vocabulary.length || vocab !== vocabulary.length) {
    throw new SpecError(
      what,
      `holds a model of ${vocab} token ids and ${outputs} outputs for a vocabulary of ${vocabulary.length} characters: expected both ${vocabulary.length}; the file was edited or damaged`,
    );
  }
  const length = opts.length ?? 200,
    temperature = opts.temperature ?? 1;
  if (!Number.isInteger(length) || length < 0) throw new SpecError('length', `expected an integer ≥ 0, got ${length}`);
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new SpecError('temperature', `expected a number ≥ 0, got ${temperature}`);
  const seed = opts.seed ?? 0;
  // xoroshiro128plus keeps seed | 0: seeds 2^32 apart would give the same text
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32)
    throw new SpecError('seed', `expected an integer from 0 to ${2 ** 32 - 1} (the generator takes 32 bits), got ${seed}`);
  const index = new Map(vocabulary.map((c, i) => [c, i]));
  const prime = opts.prime ?? (index.has('\n') ? '\n' : vocabulary[0]);
  if (prime === '') throw new SpecError('prime', 'expected at least one character for the model to continue');
  const ids = Array.from(prime).map((c, i) => {
    const id = index.get(c);
    if (id === undefined)
      throw new SpecError(
        'prime',
        `character ${i + 1}, ${excerpt(c)}, is not in the model's vocabulary of ${vocabulary.length} characters (${excerpt(vocabulary.join(''), 60)})`,
      );
    return id;
  });
  // xoroshiro128+'s first outputs from a small seed are near 1 (its state starts with few bits set):
  // a jump of 2^64 draws leaves them behind
  const rng = xoroshiro128plus(seed);
  rng.jump();
  const runner = new LastStep(be, m, params);
  let out = prime;
  try {
    for (let k = 0; k < length; k++) {
      const logits = await runner.logits(ids.slice(-window));
      const bad = logits.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new RunError(`the model's output for character ${k + 1} is ${nonFiniteText(logits[bad])} (output ${bad + 1})`);
      const next = draw(logits, temperature, () => uniformFloat64(rng));
      ids.push(next);
      out += vocabulary[next];
    }
  } finally {
    runner.dispose();
  }
  return out;
}

/** An index drawn from softmax(logits / t) by one uniform u ∈ [0, 1) (t = 0: the largest logit, the first of equals). */
export function draw(logits: ArrayLike<number>, t: number, uniform: () => number): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (t === 0) return best;
  const w = Array.from(logits, (z) => Math.exp((z - logits[best]) / t));
  const total = w.reduce((a, b) => a + b, 0);
  let u = uniform() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return i;
  }
  return best; // u landed on the total itself by rounding
}

/** The model of one sequence (batch 1), as many steps as the context has; its last step's logits. */
class LastStep<B> {
  private net?: Network<B>;
  private steps = 0;
  private x?: B;

  constructor(
    private be: Backend<B>,
    private model: RunSpec['model'],
    private params: Float64Array,
  ) {}

  async logits(ids: number[]): Promise<Float64Array> {
    const be = this.be,
      T = ids.length;
    if (T !== this.steps) {
      this.dispose();
      this.net = makeNetwork(be, this.model, T, 1);
      be.write(this.net.paramBuf, this.params);
      this.x = be.buffer(T, 'sample.ids');
      this.steps = T;
    }
    const net = this.net!;
    be.write(this.x!, ids);
    net.forward({ buf: this.x!, off: 0, rows: T, cols: 1 }, 1);
    // crossEntropy's input: the logits (a softmax layer's pre-activation), [T][V] for batch 1
    const z = net.lossInput('crossEntropy', 1);
    be.submit();
    return be.read(z.buf, z.off + (T - 1) * z.cols, z.cols);
  }

  dispose(): void {
    this.net?.dispose();
    if (this.x !== undefined) this.be.free(this.x);
    this.net = this.x = undefined;
    this.steps = 0;
  }
}
