/**
 * Today's forward pass of the U-Net, op for op as bindings/nn and bindings/models call them (the training
 * layers: GroupNorm keeps its statistics, the attention its probabilities), so the profile can time each op in
 * place. bench/sampler-forward.ts checks that it gives `model.forward`'s bits.
 */
import type { UNet2DModel } from '../bindings/models/unet2d.ts';
import {
  addChannelBias, addInPlace, attentionForward, concatChannels, conv2d, groupNormForward, linear, silu,
  timestepEmbedding, transpose12, upsampleNearest2x,
} from '../bindings/ops/index.ts';
import type { Tensor } from '../bindings/tensor.ts';
import { convFlops, convGroup, coveredPlan, param, type Recorder, type UNetBlocks } from './unet-forward.ts';

export function todayBlocks(model: UNet2DModel, op: Recorder): UNetBlocks {
  const plan = coveredPlan(model), G = plan.normNumGroups, EPS = plan.normEps;
  const groupsOf = (prefix: string) => (prefix.startsWith('mid_block') ? plan.midAttentionGroups! : G);
  const headsOf = (C: number, prefix: string): number => {
    const { numHeads, headDim } = plan.heads(C, prefix);
    if (numHeads * headDim !== C) throw new Error(`bench: ${prefix} has heads narrower than its ${C} channels`);
    return numHeads;
  };
  const p = (name: string) => param(model, name);
  const conv = (prefix: string, x: Tensor, stride: number, padding: number): Tensor => {
    const w = p(`${prefix}.weight`), [K, C, R] = w.shape;
    const OH = Math.floor((x.shape[2] + 2 * padding - R) / stride) + 1, OW = Math.floor((x.shape[3] + 2 * padding - R) / stride) + 1;
    const info = { group: convGroup(prefix, R, stride, OH, OW, K), flops: convFlops([x.shape[0], K, OH, OW], C, R) };
    return op(info, () => conv2d(x, w, p(`${prefix}.bias`), { stride, padding }));
  };
  const norm = (prefix: string, x: Tensor, modulation = {}): Tensor =>
    op({ group: 'group norm', flops: 0 }, () => groupNormForward(x, G, p(`${prefix}.weight`), p(`${prefix}.bias`), EPS, modulation).y);
  const act = (x: Tensor): Tensor => op({ group: 'silu', flops: 0 }, () => silu(x));
  const dense = (group: string, x: Tensor, w: Tensor, b: Tensor): Tensor =>
    op({ group, flops: 2 * (x.size / x.shape[x.shape.length - 1]) * w.shape[0] * w.shape[1] }, () => linear(x, w, b));
  const residual = (y: Tensor, r: Tensor): Tensor => op({ group: 'residual add', flops: 0 }, () => addInPlace(y, r));

  const resnet = (prefix: string, x: Tensor, temb: Tensor, inC: number, outC: number): Tensor => {
    let h = conv(`${prefix}.conv1`, act(norm(`${prefix}.norm1`, x)), 1, 1);
    const t = op({ group: 'time projection', flops: 0 }, () => silu(temb));
    const W = p(`${prefix}.time_emb_proj.weight`), B = p(`${prefix}.time_emb_proj.bias`), E = t.shape[1];
    if (plan.resnetTimeScaleShift === 'scale_shift') {
      const scale = dense('time projection', t, W.subview(0, [outC, E]), B.subview(0, [outC]));
      const shift = dense('time projection', t, W.subview(outC * E, [outC, E]), B.subview(outC, [outC]));
      h = norm(`${prefix}.norm2`, h, { scale, shift });
    } else {
      const bias = dense('time projection', t, W, B);
      op({ group: 'time projection', flops: 0 }, () => addChannelBias(h, bias));
      h = norm(`${prefix}.norm2`, h);
    }
    const y = conv(`${prefix}.conv2`, act(h), 1, 1);
    return residual(y, inC !== outC ? conv(`${prefix}.conv_shortcut`, x, 1, 0) : x);
  };

  const attention = (prefix: string, x: Tensor): Tensor => {
    const [N, C, H, W] = x.shape, T = H * W, heads = headsOf(C, prefix), d = C / heads;
    const layout = (fn: () => Tensor) => op({ group: 'attention layout', flops: 0 }, fn);
    const h = op({ group: 'group norm', flops: 0 }, () =>
      groupNormForward(x, groupsOf(prefix), p(`${prefix}.group_norm.weight`), p(`${prefix}.group_norm.bias`), EPS).y);
    const tokens = layout(() => transpose12(h.subview(0, [N, C, T]))).subview(0, [N * T, C]);
    const project = (name: string, input: Tensor) => dense('attention linears', input, p(`${prefix}.${name}.weight`), p(`${prefix}.${name}.bias`));
    const splitHeads = (t: Tensor) => layout(() => transpose12(t.subview(0, [N, T, heads, d])));
    const q = splitHeads(project('to_q', tokens)), k = splitHeads(project('to_k', tokens)), v = splitHeads(project('to_v', tokens));
    const { o } = op({ group: 'attention core', flops: 4 * N * heads * T * T * d }, () => attentionForward(q, k, v));
    const merged = layout(() => transpose12(o)).subview(0, [N * T, C]);
    const projected = project('to_out.0', merged).subview(0, [N, T, C]);
    const out = layout(() => transpose12(projected)).subview(0, [N, C, H, W]);
    return residual(out, x);
  };

  return {
    conditioning(timesteps, labels) {
      const { channels: E, flipSinToCos, freqShift } = plan.projection;
      const sinusoid = op({ group: 'time embedding', flops: 0 },
        () => timestepEmbedding(Float32Array.from(timesteps), E, { flipSinToCos, downscaleFreqShift: freqShift }));
      const hidden = op({ group: 'time embedding', flops: 0 }, () => silu(dense('time embedding', sinusoid, p('time_embedding.linear_1.weight'), p('time_embedding.linear_1.bias'))));
      const temb = dense('time embedding', hidden, p('time_embedding.linear_2.weight'), p('time_embedding.linear_2.bias'));
      if (labels) {
        const table = p('class_embedding.weight'), D = temb.shape[1];
        op({ group: 'time embedding', flops: 0 }, () => labels.forEach((label, n) =>
          addInPlace(temb.subview(n * D, [D]), table.subview(label * D, [D]))));
      }
      return temb;
    },
    convIn: (x) => conv('conv_in', x, 1, 1),
    resnet,
    attention,
    downsample: (prefix, x) => conv(`${prefix}.conv`, x, 2, 1),
    upStage(resnetPrefix, attentionPrefix, h, skip, temb, inC, outC) {
      const joined = op({ group: 'concat', flops: 0 }, () => concatChannels(h, skip));
      const y = resnet(resnetPrefix, joined, temb, inC, outC);
      return attentionPrefix ? attention(attentionPrefix, y) : y;
    },
    upsample(prefix, x) {
      const up = op({ group: 'upsample', flops: 0 }, () => upsampleNearest2x(x));
      return conv(`${prefix}.conv`, up, 1, 1);
    },
    out: (h) => conv('conv_out', act(norm('conv_norm_out', h)), 1, 1),
  };
}
