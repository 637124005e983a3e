/**
 * The U-Net's self-attention block (diffusers' `Attention` as built by AttnDownBlock2D and UNetMidBlock2D), a
 * residual around group norm and multi-head self-attention over the H*W positions:
 *
 *   h = GroupNorm(x);  tokens = h as [N, T = H*W, C];  q, k, v = to_q/to_k/to_v(tokens)   (Linear C -> C)
 *   o = softmax(q kᵀ / sqrt(d)) v, per head (C = heads * d);  y = x + to_out.0(o) as [N, C, H, W]
 *
 * Parameter names match diffusers: group_norm, to_q, to_k, to_v, to_out.0.
 */
import { attentionBackwardWithProbs, attentionForward } from '../ops/attention.ts';
import { addInPlace } from '../ops/elementwise.ts';
import { transpose12 } from '../ops/layout.ts';
import type { Tensor } from '../tensor.ts';
import { Residual, Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import { GroupNorm } from './groupnorm.ts';
import { Linear } from './linear.ts';
import type { InputGrad, Module } from './module.ts';
import type { ParameterSet } from './parameters.ts';

/** Multi-head self-attention over the positions of a feature map [N, C, H, W] -> [N, C, H, W]. */
export class SelfAttention implements Module {
  readonly toQ: Linear;
  readonly toK: Linear;
  readonly toV: Linear;
  readonly toOut: Linear;

  constructor(params: ParameterSet, readonly name: string, readonly channels: number, readonly numHeads: number) {
    if (channels % numHeads !== 0) throw new Error(`${name}: numHeads (${numHeads}) must divide the channels (${channels})`);
    this.toQ = new Linear(params, `${name}.to_q`, channels, channels);
    this.toK = new Linear(params, `${name}.to_k`, channels, channels);
    this.toV = new Linear(params, `${name}.to_v`, channels, channels);
    this.toOut = new Linear(params, `${name}.to_out.0`, channels, channels);
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const [N, C, H, W] = x.shape, T = H * W, d = C / this.numHeads;
    const tokens = transpose12(x.subview(0, [N, C, T])).subview(0, [N * T, C]);
    const splitHeads = (t: Tensor) => transpose12(t.subview(0, [N, T, this.numHeads, d]));
    const q = splitHeads(this.toQ.forward(tokens, ctx));
    const k = splitHeads(this.toK.forward(tokens, ctx));
    const v = splitHeads(this.toV.forward(tokens, ctx));
    const { o, probs } = attentionForward(q, k, v);
    ctx.save(this, { q, k, v, probs });
    const merged = transpose12(o).subview(0, [N * T, C]);
    return transpose12(this.toOut.forward(merged, ctx).subview(0, [N, T, C])).subview(0, [N, C, H, W]);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const { q, k, v, probs } = ctx.restore<{ q: Tensor; k: Tensor; v: Tensor; probs: Tensor }>(this);
    const [N, C, H, W] = dy.shape, T = H * W, d = C / this.numHeads;
    const dOut = transpose12(dy.subview(0, [N, C, T])).subview(0, [N * T, C]);
    const dMerged = this.toOut.backward(dOut, ctx) as Tensor;
    const dO = transpose12(dMerged.subview(0, [N, T, this.numHeads, d]));
    const { dq, dk, dv } = attentionBackwardWithProbs(dO, q, k, v, probs);
    const mergeHeads = (t: Tensor) => transpose12(t).subview(0, [N * T, C]);
    const dTokens = this.toQ.backward(mergeHeads(dq), ctx) as Tensor;
    this.toK.backward(mergeHeads(dk), ctx, dTokens);
    this.toV.backward(mergeHeads(dv), ctx, dTokens);
    const dh = transpose12(dTokens.subview(0, [N, T, C])).subview(0, [N, C, H, W]);
    if (dx === null) return null;
    return dx ? addInPlace(dx, dh) : dh;
  }
}

/** y = x + SelfAttention(GroupNorm(x)). */
export class AttentionBlock extends Residual {
  constructor(params: ParameterSet, name: string, channels: number, numHeads: number, normGroups: number) {
    super(name, new Sequential(name, [
      new GroupNorm(params, `${name}.group_norm`, normGroups, channels),
      new SelfAttention(params, name, channels, numHeads),
    ]));
  }
}
