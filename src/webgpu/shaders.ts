// Loads the WGSL of shaders/ as text and resolves its #if/#elif/#else/#endif variants with
// wgsl-preprocessor: the text is split after each `#if NAME` / `#elif NAME` and the flag's
// value is passed in the template tag's place.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import activation from '../../shaders/activation.wgsl?raw';
import dropout from '../../shaders/dropout.wgsl?raw';
import elementwise from '../../shaders/elementwise.wgsl?raw';
import embedding from '../../shaders/embedding.wgsl?raw';
import gather from '../../shaders/gather.wgsl?raw';
import gradNorm from '../../shaders/grad_norm.wgsl?raw';
import loss from '../../shaders/loss.wgsl?raw';
import matmul from '../../shaders/matmul.wgsl?raw';
import optimizers from '../../shaders/optimizers.wgsl?raw';
import recurrent from '../../shaders/recurrent.wgsl?raw';
import reduce from '../../shaders/reduce.wgsl?raw';

export const shaderFiles = { activation, dropout, elementwise, embedding, gather, grad_norm: gradNorm, loss, matmul, optimizers, recurrent, reduce };
export type ShaderFile = keyof typeof shaderFiles;

export function preprocess(source: string, flags: Record<string, boolean>): string {
  const strings: string[] = [];
  const values: boolean[] = [];
  const condition = /#(if|elif)[ \t]+(\w+)/g;
  let last = 0;
  for (const m of source.matchAll(condition)) {
    strings.push(source.slice(last, m.index) + '#' + m[1]);
    values.push(flags[m[2]] === true);
    last = m.index + m[0].length;
  }
  strings.push(source.slice(last));
  return wgsl(strings, ...values);
}

export function shaderSource(files: readonly ShaderFile[], flags: Record<string, boolean>): string {
  return files.map((f) => preprocess(shaderFiles[f], flags)).join('\n');
}
