// The Train tab's view of what a user's own model predicts: the first training samples' targets
// beside the trained model's predictions (MNIST runs show digits instead).
import { el } from './backend.js';

export const SHOWN = 8;

/** A table of `rows` samples: each target column beside its prediction. */
export function predictionsTable(yhat: ArrayLike<number>, y: ArrayLike<number>, rows: number, outputs: number): HTMLTableElement {
  const table = el('table', '', 'predictions');
  const head = el('tr');
  head.append(el('th', 'sample'));
  for (let o = 0; o < outputs; o++) {
    const name = outputs === 1 ? '' : ` ${o + 1}`;
    head.append(el('th', `target${name}`), el('th', `prediction${name}`));
  }
  table.append(el('caption', `The first ${rows} training samples after training`), head);
  for (let r = 0; r < rows; r++) {
    const tr = el('tr');
    tr.append(el('td', String(r + 1)));
    for (let o = 0; o < outputs; o++) tr.append(el('td', y[r * outputs + o].toPrecision(4)), el('td', yhat[r * outputs + o].toPrecision(4)));
    table.append(tr);
  }
  return table;
}
