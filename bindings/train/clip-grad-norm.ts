/**
 * Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_: when the norm of all gradients
 * exceeds maxNorm, they are scaled in place by maxNorm / (norm + 1e-6). The norm is summed in f64 in wasm.
 */
import { wasm } from '../core/instance.ts';
import { sumOfSquares } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';

/** Clips `grads` (all gradients, one flat tensor) to norm `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(grads: Tensor, maxNorm: number): number {
  const norm = Math.sqrt(sumOfSquares(grads));
  if (norm > maxNorm) wasm().scale(grads.ptr, grads.ptr, maxNorm / (norm + 1e-6), grads.size);
  return norm;
}
