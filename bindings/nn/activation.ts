/** SiLU (swish), x * sigmoid(x): the activation of every DDPM U-Net and of the MLP denoiser. */
import { silu, siluBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

export class SiLU implements Module {
  constructor(readonly name: string) {}

  forward(x: Tensor, ctx: Context): Tensor {
    ctx.save(this, x);
    return silu(x);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    return siluBackward(dy, ctx.restore<Tensor>(this), { dx });
  }
}
