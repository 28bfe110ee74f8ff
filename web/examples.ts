// The run specs the page offers: the worked examples (those with expected numbers) for Story and
// Verify, and for Train and Race the MNIST specs and the character model (examples/char-lstm.json),
// whose text (examples/gpl-3.txt, 35 KB) is bundled with the page as the files a user would choose.
import gplText from '../examples/gpl-3.txt?raw';

const all = import.meta.glob<{ default: Record<string, unknown> }>('../examples/*.json', { eager: true });

const byName = Object.fromEntries(Object.entries(all).map(([path, m]) => [path.replace(/^.*\/(.*)\.json$/, '$1'), m.default]));

export const workedExamples = Object.entries(byName).filter(([, s]) => 'expect' in s);
export const trainingSpecs: Record<string, Record<string, unknown>> = {
  'mnist-mlp': byName['mnist-mlp'],
  'mnist-rnn': byName['mnist-rnn'],
  'char-lstm': byName['char-lstm'],
};
/** The data files of the page's own models, by the names their specs give them. */
export const trainingFiles: Record<string, Record<string, string>> = { 'char-lstm': { 'gpl-3.txt': gplText } };
