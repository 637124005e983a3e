/**
 * The U-Net's self-attention block (diffusers' `Attention` as built by AttnDownBlock2D and UNetMidBlock2D), a
 * residual around group norm and multi-head self-attention over the H*W positions:
 *
 *   h = GroupNorm(x);  tokens = h as [N, T = H*W, C];  q, k, v = to_q/to_k/to_v(tokens)   (Linear C -> heads·d)
 *   o = softmax(q kᵀ / sqrt(d)) v, per head;  y = (x + to_out.0(o) as [N, C, H, W]) / rescaleOutputFactor
 *
 * The head size d is C / heads when the heads are given by count (this library's numHeads), or diffusers'
 * attention_head_dim, with heads = C // d: then heads·d may be narrower than C (to_out maps it back). The middle
 * block's attention may have no GroupNorm (diffusers under resnet_time_scale_shift 'scale_shift').
 * Parameter names match diffusers: group_norm, to_q, to_k, to_v, to_out.0.
 */
import { attentionBackwardWithProbs, attentionForward } from '../ops/attention.ts';
import { addInPlace } from '../ops/elementwise.ts';
import { transpose12 } from '../ops/layout.ts';
import { attentionChannels } from '../ops/attention-channels.ts';
import { conv2dPacked, packConv2dWeights } from '../ops/conv2d-packed.ts';
import { groupNorm } from '../ops/groupnorm.ts';
import { Tensor } from '../tensor.ts';
import { Residual, Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import { GroupNorm } from './groupnorm.ts';
import { Linear } from './linear.ts';
import type { InputGrad, Module } from './module.ts';
import type { ParameterSet } from './parameters.ts';
import { Rescale } from './scaling.ts';

/** Multi-head self-attention over the positions of a feature map [N, C, H, W] -> [N, C, H, W]. */
export class SelfAttention implements Module {
  readonly toQ: Linear;
  readonly toK: Linear;
  readonly toV: Linear;
  readonly toOut: Linear;
  /** The width of q, k and v: numHeads · headDim. */
  readonly inner: number;

  /** `headDim` defaults to channels / numHeads, which must then be an integer. */
  constructor(params: ParameterSet, readonly name: string, readonly channels: number, readonly numHeads: number, readonly headDim = channels / numHeads) {
    if (!Number.isInteger(headDim)) throw new Error(`${name}: numHeads (${numHeads}) must divide the channels (${channels})`);
    if (!(Number.isInteger(numHeads) && numHeads >= 1 && headDim >= 1)) throw new Error(`${name}: needs at least one head of at least one channel, got ${numHeads} heads of ${headDim}`);
    this.inner = numHeads * headDim;
    this.toQ = new Linear(params, `${name}.to_q`, channels, this.inner);
    this.toK = new Linear(params, `${name}.to_k`, channels, this.inner);
    this.toV = new Linear(params, `${name}.to_v`, channels, this.inner);
    this.toOut = new Linear(params, `${name}.to_out.0`, this.inner, channels);
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const [N, C, H, W] = x.shape, T = H * W, d = this.headDim;
    const tokens = transpose12(x.subview(0, [N, C, T])).subview(0, [N * T, C]);
    const splitHeads = (t: Tensor) => transpose12(t.subview(0, [N, T, this.numHeads, d]));
    const q = splitHeads(this.toQ.forward(tokens, ctx));
    const k = splitHeads(this.toK.forward(tokens, ctx));
    const v = splitHeads(this.toV.forward(tokens, ctx));
    const { o, probs } = attentionForward(q, k, v);
    ctx.save(this, { q, k, v, probs });
    const merged = transpose12(o).subview(0, [N * T, this.inner]);
    return transpose12(this.toOut.forward(merged, ctx).subview(0, [N, T, C])).subview(0, [N, C, H, W]);
  }

  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    const { q, k, v, probs } = ctx.restore<{ q: Tensor; k: Tensor; v: Tensor; probs: Tensor }>(this);
    const [N, C, H, W] = dy.shape, T = H * W, d = this.headDim;
    const dOut = transpose12(dy.subview(0, [N, C, T])).subview(0, [N * T, C]);
    const dMerged = this.toOut.backward(dOut, ctx) as Tensor;
    const dO = transpose12(dMerged.subview(0, [N, T, this.numHeads, d]));
    const { dq, dk, dv } = attentionBackwardWithProbs(dO, q, k, v, probs);
    const mergeHeads = (t: Tensor) => transpose12(t).subview(0, [N * T, this.inner]);
    const dTokens = this.toQ.backward(mergeHeads(dq), ctx) as Tensor;
    this.toK.backward(mergeHeads(dk), ctx, dTokens);
    this.toV.backward(mergeHeads(dv), ctx, dTokens);
    const dh = transpose12(dTokens.subview(0, [N, T, C])).subview(0, [N, C, H, W]);
    if (dx === null) return null;
    return dx ? addInPlace(dx, dh) : dh;
  }
}

/** How an attention block is built. */
export interface AttentionOptions {
  numHeads: number;
  /** Channels per head. Default channels / numHeads. */
  headDim?: number;
  /** Groups of its GroupNorm, or null for none. */
  normGroups: number | null;
  /** The GroupNorm's epsilon. Default 1e-5. */
  eps?: number;
  /** The output (residual included) is divided by it. Default 1. */
  rescaleOutputFactor?: number;
}

/**
 * y = (x + SelfAttention(GroupNorm(x))) / rescaleOutputFactor. An inference pass (heads as wide as the channels,
 * no rescaling) runs the inference kernels, with the same bits: q, k and v as one packed 1x1 convolution of the
 * normalised map, attentionChannels on its channels (no transposes), and to_out with x added in its epilogue.
 */
export class AttentionBlock extends Sequential {
  private readonly norm: GroupNorm | null;
  private readonly attention: SelfAttention;
  private readonly fusable: boolean;

  constructor(params: ParameterSet, name: string, readonly channels: number, options: AttentionOptions) {
    const { numHeads, headDim, normGroups, eps = 1e-5, rescaleOutputFactor = 1 } = options;
    const norm = normGroups === null ? null : new GroupNorm(params, `${name}.group_norm`, normGroups, channels, eps);
    const attention = new SelfAttention(params, name, channels, numHeads, headDim);
    const residual = new Residual(name, new Sequential(name, [...(norm ? [norm] : []), attention]));
    super(name, rescaleOutputFactor === 1 ? [residual] : [residual, new Rescale(`${name}.rescale`, rescaleOutputFactor)]);
    this.norm = norm;
    this.attention = attention;
    this.fusable = rescaleOutputFactor === 1 && attention.inner === channels && channels <= 65536;
  }

  override forward(x: Tensor, ctx: Context): Tensor {
    if (!ctx.inference || !this.fusable) return super.forward(x, ctx);
    const { norm, attention } = this;
    const { qkv, qkvBias, out } = ctx.prepared(this, () => this.prepare());
    const h = norm ? groupNorm(x, norm.groups, norm.weight.value, norm.bias.value, norm.eps) : x;
    const o = attentionChannels(conv2dPacked(h, qkv, qkvBias), attention.numHeads);
    return conv2dPacked(o, out, attention.toOut.bias!.value, { residual: x });
  }

  /** to_q, to_k and to_v as one 1x1 convolution [3C, C, 1, 1] with its bias [3C], and to_out as [C, C, 1, 1], packed. */
  private prepare() {
    const C = this.channels, { toQ, toK, toV, toOut } = this.attention;
    const stack = (parts: Tensor[], shape: number[]): Tensor => {
      const out = new Tensor(shape);
      parts.forEach((t, i) => out.view().set(t.view(), i * t.size));
      return out;
    };
    const qkv = packConv2dWeights(stack([toQ, toK, toV].map((l) => l.weight.value), [3 * C, C, 1, 1]));
    const qkvBias = stack([toQ, toK, toV].map((l) => l.bias!.value), [3 * C]);
    const out = packConv2dWeights(stack([toOut.weight.value], [C, C, 1, 1]));
    return { qkv, qkvBias, out, tensors: [qkv.packed, qkvBias, out.packed] };
  }
}
