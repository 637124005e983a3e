/** Global average pooling, [N, C, ...spatial] -> [N, C]: the noise-aware classifier's head reads it. */
import { globalAvgPool, globalAvgPoolBackward } from '../ops/elementwise.ts';
import type { Shape, Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

export class GlobalAvgPool implements Module {
  constructor(readonly name: string) {}

  forward(x: Tensor, ctx: Context): Tensor {
    ctx.save<Shape>(this, x.shape);
    return globalAvgPool(x);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    return globalAvgPoolBackward(dy, ctx.restore<Shape>(this), { dx });
  }
}
