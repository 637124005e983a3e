/**
 * Fixed affine maps as layers:
 * - Rescale: y = x / factor, as diffusers divides a block's output by its output_scale_factor (the resnets and
 *   attention of the middle block by mid_block_scale_factor, the NCSN++ skip blocks' by √2). A float32 division,
 *   as PyTorch's, not a multiplication by 1 / factor.
 * - CenterInput: y = 2x - 1, UNet2DModel's center_input_sample (images in [0, 1] to [-1, 1]).
 */
import { addInPlace, divideRows, divideRowsBackward, fill, scale } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

export class Rescale implements Module {
  constructor(readonly name: string, readonly factor: number) {
    if (!(factor > 0 && Number.isFinite(factor))) throw new Error(`${name}: the output scale factor must be a positive number, got ${factor}`);
  }

  forward(x: Tensor): Tensor {
    return divideRows(x, this.divisors(x));
  }

  backward(dy: Tensor, _ctx: Context, dx?: InputGrad): Tensor | null {
    if (dx === null) return null;
    return divideRowsBackward(dy, this.divisors(dy), { dx });
  }

  /** One divisor per sample (the kernel divides row by row). */
  private divisors(x: Tensor): Float32Array {
    return new Float32Array(x.shape[0]).fill(this.factor);
  }
}

export class CenterInput implements Module {
  constructor(readonly name: string) {}

  /** fl(fl(2x) - 1), the bits of PyTorch's 2 * sample - 1.0 (2x is exact). */
  forward(x: Tensor): Tensor {
    return addInPlace(fill(new Tensor(x.shape), -1), x, 2);
  }

  backward(dy: Tensor, _ctx: Context, dx?: InputGrad): Tensor | null {
    if (dx === null) return null;
    return dx ? addInPlace(dx, dy, 2) : scale(dy, 2);
  }
}
