/**
 * The U-Net's self-attention block (diffusers' `Attention` as built by AttnDownBlock2D and UNetMidBlock2D):
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
import { GroupNorm } from './groupnorm.ts';
import { saved, type InputGrad, type Layer } from './layer.ts';
import { Linear } from './linear.ts';
import type { ParameterSet } from './parameters.ts';

export class AttentionBlock implements Layer {
  readonly groupNorm: GroupNorm;
  readonly toQ: Linear;
  readonly toK: Linear;
  readonly toV: Linear;
  readonly toOut: Linear;
  private heads: { q: Tensor; k: Tensor; v: Tensor; probs: Tensor; shape: readonly number[] } | null = null;

  constructor(params: ParameterSet, readonly name: string, readonly channels: number, readonly numHeads: number, normGroups: number) {
    if (channels % numHeads !== 0) throw new Error(`${name}: numHeads (${numHeads}) must divide the channels (${channels})`);
    this.groupNorm = new GroupNorm(params, `${name}.group_norm`, normGroups, channels);
    this.toQ = new Linear(params, `${name}.to_q`, channels, channels);
    this.toK = new Linear(params, `${name}.to_k`, channels, channels);
    this.toV = new Linear(params, `${name}.to_v`, channels, channels);
    this.toOut = new Linear(params, `${name}.to_out.0`, channels, channels);
  }

  forward(x: Tensor): Tensor {
    const [N, C, H, W] = x.shape, T = H * W, d = C / this.numHeads;
    const h = this.groupNorm.forward(x);
    const tokens = transpose12(h.subview(0, [N, C, T])).subview(0, [N * T, C]);
    const splitHeads = (t: Tensor) => transpose12(t.subview(0, [N, T, this.numHeads, d]));
    const q = splitHeads(this.toQ.forward(tokens));
    const k = splitHeads(this.toK.forward(tokens));
    const v = splitHeads(this.toV.forward(tokens));
    const { o, probs } = attentionForward(q, k, v);
    this.heads = { q, k, v, probs, shape: x.shape };
    const merged = transpose12(o).subview(0, [N * T, C]);
    const out = transpose12(this.toOut.forward(merged).subview(0, [N, T, C])).subview(0, [N, C, H, W]);
    return addInPlace(out, x);
  }

  backward(dy: Tensor, dx?: InputGrad): Tensor | null {
    const { q, k, v, probs, shape } = saved(this.heads, this.name);
    const [N, C, H, W] = shape, T = H * W, d = C / this.numHeads;
    const dOut = transpose12(dy.subview(0, [N, C, T])).subview(0, [N * T, C]);
    const dMerged = this.toOut.backward(dOut)!;
    const dO = transpose12(dMerged.subview(0, [N, T, this.numHeads, d]));
    const { dq, dk, dv } = attentionBackwardWithProbs(dO, q, k, v, probs);
    const mergeHeads = (t: Tensor) => transpose12(t).subview(0, [N * T, C]);
    const dTokens = this.toQ.backward(mergeHeads(dq))!;
    this.toK.backward(mergeHeads(dk), dTokens);
    this.toV.backward(mergeHeads(dv), dTokens);
    const dh = transpose12(dTokens.subview(0, [N, T, C])).subview(0, [N, C, H, W]);
    // The residual path carries dy straight to x.
    const result = dx ?? (dx === null ? null : dy.reshape(dy.shape));
    if (dx) addInPlace(dx, dy);
    this.groupNorm.backward(dh, result);
    return result;
  }
}
