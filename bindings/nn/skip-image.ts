/**
 * The skip image of NCSN++ (Song et al. 2021, "Score-Based Generative Modeling through SDEs": the progressive
 * input and output paths), as diffusers' SkipDownBlock2D / SkipUpBlock2D and UNet2DModel thread it:
 *
 *   down: s_0 = the input image (after center_input_sample); a resampling skip block at level k takes
 *         s_(k+1) = firDown(s_k) and adds skip_conv(s_(k+1)) (1x1, 3 -> C) to its hidden state;
 *   up:   a skip block sets s = firUp(s_previous) (if an earlier up block made one) + skip_conv(act(skip_norm(h)))
 *         (3x3, C -> 3; only blocks that upsample have it), leaving h as it is;
 *   out:  the U-Net's output is conv_out(...) + s.
 *
 * The image flows beside the activations, on the pass's context (its `skips` and `skipGrads` maps, under one key
 * per path), like the U-Net's skip connections: each module below reads the image its predecessor left, leaves
 * its own, and in backward hands the image's gradient back the same way.
 */
import { add, addInPlace } from '../ops/elementwise.ts';
import { firDownsample2x, firDownsample2xBackward, firUpsample2x, firUpsample2xBackward } from '../ops/resample.ts';
import type { Tensor } from '../tensor.ts';
import type { Context } from './context.ts';
import type { InputGrad, Module } from './module.ts';

/** One skip-image path (down or up): the key of its image on the context. */
export class SkipImagePath {
  constructor(readonly name: string) {}

  image(ctx: Context): Tensor | undefined { return ctx.skips.get(this); }
  setImage(ctx: Context, image: Tensor): void { ctx.skips.set(this, image); }
  /** The gradient of the current image (from the module that read it next), if any. */
  takeGradient(ctx: Context): Tensor | undefined {
    const g = ctx.skipGrads.get(this);
    ctx.skipGrads.delete(this);
    return g;
  }
  setGradient(ctx: Context, gradient: Tensor): void { ctx.skipGrads.set(this, gradient); }
}

/** Starts the down path: the input image passes through and is kept as s_0. */
export class SkipImageInput implements Module {
  readonly name: string;
  constructor(private readonly path: SkipImagePath) { this.name = `${path.name}.input`; }

  forward(x: Tensor, ctx: Context): Tensor {
    this.path.setImage(ctx, x);
    return x;
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const g = this.path.takeGradient(ctx);
    if (dx === null) return null;
    const out = dx ? addInPlace(dx, dy) : dy.clone();
    return g ? addInPlace(out, g) : out;
  }
}

/** A down skip block's step: s <- firDown(s); h + skip_conv(s). */
export class SkipImageDown implements Module {
  constructor(readonly name: string, private readonly path: SkipImagePath, private readonly skipConv: Module) {}

  forward(h: Tensor, ctx: Context): Tensor {
    const s = this.path.image(ctx);
    if (s === undefined) throw new Error(`${this.name}: the skip image is missing (a skip block must follow skip blocks on the way down)`);
    const down = firDownsample2x(s);
    this.path.setImage(ctx, down);
    return add(this.skipConv.forward(down, ctx), h);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const dDown = this.skipConv.backward(dy, ctx) as Tensor;
    const later = this.path.takeGradient(ctx);
    if (later) addInPlace(dDown, later);
    this.path.setGradient(ctx, firDownsample2xBackward(dDown));
    if (dx === null) return null;
    return dx ? addInPlace(dx, dy) : dy;
  }
}

/** An up skip block's step: s <- [firUp(s)] + [skip_conv(act(skip_norm(h)))]; h passes through. */
export class SkipImageUp implements Module {
  /** `branch` is skip_norm, act, skip_conv (null for the last block, which only upsamples the image). */
  constructor(readonly name: string, private readonly path: SkipImagePath, private readonly branch: Module | null) {}

  forward(h: Tensor, ctx: Context): Tensor {
    const previous = this.path.image(ctx);
    const up = previous === undefined ? null : firUpsample2x(previous);
    const own = this.branch === null ? null : this.branch.forward(h, ctx);
    ctx.save(this, previous !== undefined);
    const s = up && own ? add(up, own) : (up ?? own);
    if (s !== null) this.path.setImage(ctx, s);
    return h;
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const hadPrevious = ctx.restore<boolean>(this);
    const g = this.path.takeGradient(ctx);
    // h's gradient: dy (it passes through) plus the branch's, added into the same tensor (never into dy itself).
    const target = dx === null ? null : dx ? addInPlace(dx, dy) : dy.clone();
    if (g !== undefined && this.branch !== null) this.branch.backward(g, ctx, target);
    if (g !== undefined && hadPrevious) this.path.setGradient(ctx, firUpsample2xBackward(g));
    return target;
  }
}

/** Ends the up path: the U-Net's output plus the skip image (if the up path made one). */
export class SkipImageOutput implements Module {
  readonly name: string;
  constructor(private readonly path: SkipImagePath) { this.name = `${path.name}.output`; }

  forward(x: Tensor, ctx: Context): Tensor {
    const s = this.path.image(ctx);
    ctx.save(this, s !== undefined);
    return s === undefined ? x : add(x, s);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    if (ctx.restore<boolean>(this)) this.path.setGradient(ctx, dy);
    if (dx === null) return null;
    return dx ? addInPlace(dx, dy) : dy;
  }
}
