/** Layout changes (assembly/layout.ts): pure data movement. */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { tensorArg } from './check.ts';

/**
 * Swaps axes 1 and 2: [A, B, C] -> [A, C, B], or [A, B, C, D] -> [A, C, B, D]. Feature maps [N, C, T] become
 * tokens [N, T, C]; tokens [N, T, heads, Dh] become heads [N, heads, T, Dh]. It is its own backward.
 */
export function transpose12(x: Tensor): Tensor {
  const shape = tensorArg('transpose12', 'x', x);
  if (shape.length !== 3 && shape.length !== 4) {
    throw new Error(`transpose12: x must have rank 3 [A, B, C] or 4 [A, B, C, D], got shape [${shape.join(', ')}]`);
  }
  const [A, B, C, D = 1] = shape;
  const out = new Tensor(shape.length === 3 ? [A, C, B] : [A, C, B, D]);
  wasm().transpose12(out.ptr, x.ptr, A, B, C, D);
  return out;
}
