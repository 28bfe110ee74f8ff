// The run specs the page offers: the worked examples (those with expected numbers) for Story and
// Verify, and the MNIST specs for Train and Race.
const all = import.meta.glob<{ default: Record<string, unknown> }>('../examples/*.json', { eager: true });

const byName = Object.fromEntries(Object.entries(all).map(([path, m]) => [path.replace(/^.*\/(.*)\.json$/, '$1'), m.default]));

export const workedExamples = Object.entries(byName).filter(([, s]) => 'expect' in s);
export const trainingSpecs: Record<string, Record<string, unknown>> = { 'mnist-mlp': byName['mnist-mlp'], 'mnist-rnn': byName['mnist-rnn'] };
