/**
 * Conditioning by concatenation (as SR3, Saharia et al. 2021, and Palette condition on an image): the model's
 * input x [N, C, H, W] is joined by the pass's conditioning image ctx.condition [N, k, H, W] as k extra channels,
 * before the first convolution. The condition is data, not a parameter: its gradient is not computed.
 */
import { concatChannels, concatChannelsBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

export class ConditionInput implements Module {
  /** @param channels k, the conditioning image's channels */
  constructor(readonly name: string, readonly channels: number) {}

  forward(x: Tensor, ctx: Context): Tensor {
    const condition = ctx.condition;
    const [N, , H, W] = x.shape;
    if (condition === null) throw new Error(`${this.name}: the model is conditioned on an image of ${this.channels} channels: give it (PassOptions.condition)`);
    const [n, k, h, w] = condition.shape;
    if (condition.shape.length !== 4 || n !== N || k !== this.channels || h !== H || w !== W) {
      throw new Error(`${this.name}: the conditioning image must be [${N}, ${this.channels}, ${H}, ${W}] (one per sample), got [${condition.shape.join(', ')}]`);
    }
    ctx.save(this, x.shape[1]);
    return concatChannels(x, condition);
  }

  /** The gradient of x: the first C channels of dy. */
  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const channels = ctx.restore<number>(this);
    if (dx === null) return null;
    return concatChannelsBackward(dy, channels, { da: dx, db: null }).da;
  }
}
