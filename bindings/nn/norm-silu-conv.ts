/**
 * GroupNorm, SiLU, then a convolution: the U-Net's output head (diffusers' conv_norm_out, conv_act, conv_out). An
 * inference pass fuses the first two with the convolution's zero border (groupNormSilu) and runs the packed
 * convolution on the padded map: the same bits.
 */
import { groupNormSilu } from '../ops/groupnorm-silu.ts';
import type { Tensor } from '../tensor.ts';
import { SiLU } from './activation.ts';
import { Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import type { Conv2d } from './conv2d.ts';
import type { GroupNorm } from './groupnorm.ts';

export class NormSiluConv extends Sequential {
  constructor(name: string, private readonly norm: GroupNorm, activation: string, private readonly conv: Conv2d) {
    super(name, [norm, new SiLU(activation), conv]);
  }

  override forward(x: Tensor, ctx: Context): Tensor {
    const { norm, conv } = this;
    if (!ctx.inference || conv.stride !== 1 || !conv.packable) return super.forward(x, ctx);
    const a = groupNormSilu(x, norm.groups, norm.weight.value, norm.bias.value, norm.eps, { padding: conv.padding });
    return conv.infer(a, ctx, {});
  }
}
