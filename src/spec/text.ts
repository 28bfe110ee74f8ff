// Text data's part of the run spec (README.md "The run spec", data.text): `data: {"text": FILE, "window": T,
// "test"?: N}` for a character model. The file itself is read and checked when loaded
// (src/data/text.ts, or streamed by src/data/textStream.ts); here only the fields, and that the model can read it: an embedding first
// layer (character ids in), a prediction every step (the next character's), crossEntropy.
import type { LossKind } from '../kernels.js';
import { fail, int, knownKeys, optional } from './check.js';
import type { TextRef } from './types.js';

/** What text data needs of the model, worked out by spec/sequential.ts. */
export interface TextModel {
  tokens: boolean;
  sequences: boolean;
  firstType: string;
}

export function validateTextData(d: Record<string, unknown>, model: TextModel, loss: LossKind): TextRef {
  const inline = 'is for inline data (data.x and data.y)';
  knownKeys('data', d, ['text', 'window', 'test'], 'text data', {
    x: inline,
    y: inline,
    csv: 'is for CSV data, not with data.text',
    dataset: 'is for MNIST data, not with data.text',
  });
  if (typeof d.text !== 'string' || d.text === '') fail('data.text', 'a file path', d.text);
  const window = int('data.window', d.window, 1);
  const test = optional(d, 'test', (x) => int('data.test', x, 1));
  if (!model.tokens) fail('model.layers[0].type', '"embedding" for text data (data.text): the model reads the text as character ids', model.firstType);
  if (!model.sequences)
    fail(
      'model.layers',
      'a model that predicts at every step (returnSequences: true on its last recurrent layer) for text data: the target at every step is the next character',
    );
  if (loss !== 'crossEntropy') fail('loss', '"crossEntropy" for text data (data.text): the targets are the next characters\' ids', loss);
  return { text: d.text as string, window, test };
}
