/**
 * GroupNorm, its AdaGN scale and shift, and SiLU in one pass, for inference (assembly/groupnorm-silu.ts): what a
 * ResnetBlock2D applies before each of its convolutions, written with the zero border that convolution pads
 * with, so that `conv2dPacked` reads it as is (with padding 0). No statistics are kept (nothing to
 * differentiate). The output has exactly the bits of `groupNorm`, then `silu`, then padding.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';
import { fmt, intArg } from './check.ts';
import { checkForward, type GroupNormModulation } from './groupnorm.ts';

export interface GroupNormSiluOptions extends GroupNormModulation {
  /** Zeros written around each output plane, for the convolution that reads it: an integer >= 0. Default 0. */
  padding?: number;
}

/**
 * y = silu(groupNorm(x, groups, gamma, beta, eps, { scale, shift })), padded with `padding` zeros on each side.
 * @param x [N, C, H, W].
 * @param groups must divide C.
 * @param gamma, beta [C] (PyTorch's weight and bias).
 * @param eps > 0, default 1e-5.
 * @param options `scale` and `shift` [N, C] (AdaGN, together or not at all), `padding` (default 0).
 * @returns [N, C, H + 2·padding, W + 2·padding].
 */
export function groupNormSilu(
  x: Tensor, groups: number, gamma: Tensor, beta: Tensor, eps = 1e-5, options: GroupNormSiluOptions = {},
): Tensor {
  const op = 'groupNormSilu';
  const { padding = 0, scale, shift } = options;
  if (x instanceof Tensor && x.shape.length !== 4) throw new Error(`${op}: x must have rank 4 [N, C, H, W], got shape ${fmt(x.shape)}`);
  const { N, C, G } = checkForward(op, x, groups, gamma, beta, eps, { scale, shift });
  intArg(op, 'padding', padding, 0);
  const [, , H, W] = x.shape;
  const y = new Tensor([N, C, H + 2 * padding, W + 2 * padding]);
  wasm().groupNormSiluForward(y.ptr, x.ptr, gamma.ptr, beta.ptr, scale?.ptr ?? 0, shift?.ptr ?? 0, N, C, H, W, G, eps, padding);
  return y;
}
