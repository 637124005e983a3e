/**
 * Reductions per batch item (assembly/per-item.ts): one float64 per item of a batch tensor [N, ...], each summed
 * in a fixed order that depends on the item's size alone, so an item's value never depends on the batch.
 */
import { allocator } from '../core/allocator.ts';
import { wasm } from '../core/instance.ts';
import type { Tensor } from '../tensor.ts';
import { fmt, tensorArg } from './check.ts';

/** The sum of squares of each item of x [N, ...] (its squared L2 norm), in float64: N values. */
export function sumOfSquaresPerItem(x: Tensor): Float64Array {
  const shape = tensorArg('sumOfSquaresPerItem', 'x', x);
  if (shape.length === 0) throw new Error(`sumOfSquaresPerItem: x must have a batch dimension [N, ...], got ${fmt(shape)}`);
  const N = shape[0], M = shape.slice(1).reduce((a, b) => a * b, 1);
  const ptr = allocator.alloc(8 * Math.max(1, N));
  try {
    wasm().sumOfSquaresPerItem(ptr, x.ptr, N, M);
    return new Float64Array(wasm().memory.buffer, ptr, N).slice();
  } finally {
    allocator.release(ptr);
  }
}
