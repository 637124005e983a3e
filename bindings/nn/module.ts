/**
 * The one contract of every layer, block and model part, after llm.c's forward/backward pairs:
 *
 *   forward(x, ctx)        computes the output and saves on `ctx` what its backward needs (nothing in an
 *                          inference pass);
 *   backward(dy, ctx, dx?) ADDS the parameter gradients into the model's flat gradient buffer and returns the
 *                          gradient of the input.
 *
 * `dx` follows the backward ops' convention (ops/gradients.ts): a Tensor to add the input gradient into, `null`
 * to skip computing it (the first layer of a model needs none), absent to get a new tensor.
 *
 * Modules never modify the tensors they are given (x in forward, dy in backward); an identity may return its
 * input itself. What flows beside the activations (the time embedding, class labels, dropout's random address,
 * skip connections, the saved activations) travels on the Context (nn/context.ts). Tensors saved there live in
 * the caller's `tidy` scope: run forward and backward within one scope (a training step).
 */
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';

/** Where a backward puts the input gradient: the ops' `into` convention for one gradient. */
export type InputGrad = Tensor | null | undefined;

export interface Module {
  /** The module's name in the model, as in diffusers' state dict (e.g. 'down_blocks.0.resnets.1'). */
  readonly name: string;
  forward(x: Tensor, ctx: Context): Tensor;
  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null;
}
