import type { Act } from '../kernels.js';

// f(z) and f'(z) given z and a = f(z), in float64; softmax is row-wise (see kernels.ts).
export function actF(act: Act, z: number): number {
  switch (act) {
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    case 'tanh':
      return Math.tanh(z);
    case 'relu':
      return z > 0 ? z : 0;
    case 'square':
      return z * z;
    default:
      return z;
  }
}

export function actDf(act: Act, z: number, a: number): number {
  switch (act) {
    case 'sigmoid':
      return a * (1 - a);
    case 'tanh':
      return 1 - a * a;
    case 'relu':
      return z > 0 ? 1 : 0;
    case 'square':
      return 2 * z;
    default:
      return 1;
  }
}
