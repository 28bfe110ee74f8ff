// Held-out accuracy for class-index targets (crossEntropy's PyTorch form: src/data/dataset.ts,
// `classIndex`): a target row is right when the prediction's largest output is its class.
import type { Dataset } from '../data/dataset.js';

/**
 * Target rows of batch [start, start + size) whose prediction's argmax (the first of equals) is
 * their class. yhat is the model's prediction for the batch, [T][size][outputs] time-major (T = 1
 * without sequences); the classes are test.y, [n][T] sample by sample.
 */
export function classIndexCorrect(yhat: ArrayLike<number>, test: Dataset, start: number, size: number): number {
  const T = test.targetSteps ?? 1,
    O = test.outputs;
  let correct = 0;
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < size; r++) {
      const row = (t * size + r) * O;
      let best = 0;
      for (let c = 1; c < O; c++) if (yhat[row + c] > yhat[row + best]) best = c;
      if (best === test.y[(start + r) * T + t]) correct++;
    }
  }
  return correct;
}
