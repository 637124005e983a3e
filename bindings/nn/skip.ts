/**
 * A U-Net skip connection: a feature map of the down path, appended (along channels) to the input of a block on
 * the way up. `save` passes its input through and keeps it on the pass's context; `concat` later appends it to
 * its own input. Backward: `concat` splits its gradient and hands the skip's share back on the context, and
 * `save` adds it to the gradient arriving from the path below.
 */
import { add, addInPlace, concatChannels, concatChannelsBackward } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

export class SkipConnection {
  readonly save: Module;
  readonly concat: Module;

  constructor(readonly name: string) {
    const connection = this;
    this.save = {
      name: `${name}.save`,
      forward(x: Tensor, ctx: Context): Tensor {
        ctx.skips.set(connection, x);
        return x;
      },
      backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
        const dSkip = ctx.skipGrads.get(connection);
        if (dSkip === undefined) throw new Error(`${name}: its gradient is missing: the up path's backward has not run`);
        if (dx === null) return null;
        return dx ? addInPlace(addInPlace(dx, dy), dSkip) : add(dy, dSkip);
      },
    };
    this.concat = {
      name: `${name}.concat`,
      forward(x: Tensor, ctx: Context): Tensor {
        const skip = ctx.skips.get(connection);
        if (skip === undefined) throw new Error(`${name}: the skip connection was not saved: the down path has not run`);
        ctx.save(this, x.shape[1]);
        return concatChannels(x, skip);
      },
      backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
        const { da, db } = concatChannelsBackward(dy, ctx.restore<number>(this), { da: dx });
        ctx.skipGrads.set(connection, db);
        return da;
      },
    };
  }
}
