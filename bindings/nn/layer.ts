/**
 * What every layer looks like. A layer is a pair of methods, like llm.c's `x_forward` / `x_backward`:
 * `forward` computes the output and keeps what `backward` needs (inputs, statistics) in the layer itself;
 * `backward` takes the gradient of the output, ADDS the parameter gradients into the model's flat gradient
 * buffer, and returns the gradient of the input.
 *
 * The input gradient follows the ops' `into` convention: pass a Tensor to add into it, `null` to skip computing
 * it (the first layer of a model needs none), or nothing to get a new tensor.
 *
 * Saved tensors live in the caller's `tidy` scope: call forward and backward within one scope (a training step).
 */
import type { Tensor } from '../tensor.ts';

export type InputGrad = Tensor | null | undefined;

export interface Layer {
  forward(x: Tensor): Tensor;
  backward(dy: Tensor, dx?: InputGrad): Tensor | null;
}

/** The saved tensor, or an error naming the layer when backward runs without a forward. */
export function saved<T>(value: T | null, layer: string): T {
  if (value === null) throw new Error(`${layer}: backward() called before forward()`);
  return value;
}
