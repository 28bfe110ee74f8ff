// The page's own samples (runInWorker's `data`) must fit the spec's model, as loadDataset checks a
// spec's data: shapes, and the numbers that index something. An out-of-range class index or token
// id is not caught on the device: the GPU clamps it (loss.wgsl, embedding.wgsl) while the CPU twin
// reads another row, so the backends would silently disagree.
import type { Dataset, Datasets } from '../data/dataset.js';
import { SpecError } from '../errors.js';
import { outputsOf } from '../nn/layout.js';
import { givesSequences, readsTokens } from '../spec/sequential.js';
import { validateSpec } from '../spec/validate.js';

export function checkData(raw: unknown, data: Datasets): void {
  const spec = validateSpec(raw);
  const model = spec.model;
  const sets: [string, Dataset | undefined][] = [
    ['train', data.train],
    ['test', data.test],
  ];
  if (!data.train) throw new SpecError('data.train', 'the samples to train on ({n, x, y, steps, features, outputs})');
  const seqOut = model.type === 'sequential' && givesSequences(model);
  const vocab = model.type === 'sequential' && readsTokens(model) && model.layers[0].type === 'embedding' ? model.layers[0].vocab : undefined;
  for (const [name, d] of sets) {
    if (!d) continue;
    const at = `data.${name}`;
    if (!Number.isInteger(d.n) || d.n < 1) throw new SpecError(`${at}.n`, `a positive sample count, got ${d.n}`);
    d.steps ??= 1;
    const steps = d.steps;
    if (model.type === 'mlp' && steps !== 1) throw new SpecError(`${at}.steps`, `1 time step for an MLP, got ${steps}`);
    if (d.features !== model.inputSize) throw new SpecError(`${at}.features`, `expected ${model.inputSize} (model.inputSize), got ${d.features}`);
    const outputs = outputsOf(model);
    if (d.outputs !== outputs) throw new SpecError(`${at}.outputs`, `expected ${outputs} (the model's outputs), got ${d.outputs}`);
    // a model that gives sequences has one target row a step; any other, one a sample
    if (seqOut ? d.targetSteps !== steps : d.targetSteps !== undefined && d.targetSteps !== 1) {
      throw new SpecError(
        `${at}.targetSteps`,
        seqOut
          ? `${steps} (data.${name}.steps: the model gives an output every step), got ${d.targetSteps}`
          : `none (the model gives one output a sample), got ${d.targetSteps}`,
      );
    }
    if (d.classIndex && spec.loss !== 'crossEntropy')
      throw new SpecError(`${at}.classIndex`, `class-index targets only with loss "crossEntropy", got loss "${spec.loss}"`);
    if (!(d.x instanceof Float64Array) || d.x.length !== d.n * steps * d.features)
      throw new SpecError(`${at}.x`, `a Float64Array of n·steps·features = ${d.n * steps * d.features} numbers, got ${describe(d.x)}`);
    const rows = d.n * (d.targetSteps ?? 1),
      cols = d.classIndex ? 1 : outputs;
    const yShape = `n·${d.targetSteps ? 'targetSteps·' : ''}${d.classIndex ? '1 (class indices)' : 'outputs'}`;
    if (!(d.y instanceof Float64Array) || d.y.length !== rows * cols)
      throw new SpecError(`${at}.y`, `a Float64Array of ${yShape} = ${rows * cols} numbers, got ${describe(d.y)}`);
    if (d.classIndex) inRange(`${at}.y`, d.y, outputs, 'a class index', `the last layer has ${outputs} outputs`);
    if (vocab !== undefined) inRange(`${at}.x`, d.x, vocab, 'a token id', `model.layers[0] is an embedding of vocab ${vocab}`);
  }
}

/** Every value of `v` an integer 0…count−1, else a SpecError naming the first that is not. */
function inRange(at: string, v: Float64Array, count: number, what: string, why: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= count)
      throw new SpecError(`${at}[${i}]`, `${what}, an integer from 0 to ${count - 1} (${why}), got ${v[i]}`);
  }
}

const describe = (v: unknown) => (ArrayBuffer.isView(v) ? `a ${v.constructor.name} of ${(v as Float64Array).length}` : typeof v);
