/**
 * Dropout as a layer. It is the identity unless the pass carries a dropout address (a training step) and p > 0;
 * then its mask comes from the counter-based generator addressed by (seed, this layer's stream, the first
 * sample's global index), so a sample's mask is the same whatever the batch split between workers.
 */
import { dropout, dropoutBackward } from '../ops/dropout.ts';
import { addInPlace } from '../ops/elementwise.ts';
import { dropoutStream } from '../random-streams.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

export class Dropout implements Module {
  /** The random stream of this layer: a hash of its name, so it depends on nothing but the architecture. */
  private readonly stream: number;

  constructor(readonly name: string, readonly p: number) {
    if (!(p >= 0 && p < 1)) throw new Error(`${name}: dropout must be in [0, 1), got ${p}`);
    this.stream = dropoutStream(name);
  }

  forward(x: Tensor, ctx: Context): Tensor {
    if (this.p === 0 || ctx.dropout === null) {
      ctx.save<Tensor | null>(this, null);
      return x;
    }
    const perSample = x.size / x.shape[0];
    const { y, mask } = dropout(x, { p: this.p, seed: ctx.dropout.seed, offset: ctx.dropout.firstSample * perSample, stream: this.stream });
    ctx.save<Tensor | null>(this, mask);
    return y;
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const mask = ctx.restore<Tensor | null>(this);
    if (dx === null) return null;
    if (mask !== null) return dropoutBackward(dy, mask, { dx });
    return dx ? addInPlace(dx, dy) : dy;
  }
}
