/**
 * The U-Net's forward pass built by hand from the inference ops, as the inference mode will call them, so the
 * benchmark can measure the gain before the mode exists (see the report of issue 13 for the list per layer):
 *
 *   time       silu(temb) once, then every resnet's time_emb_proj as one linear layer (its rows concatenated)
 *   resnet     groupNormSilu (padded) -> conv2dPacked conv1 [+ time bias] -> groupNormSilu [AdaGN] (padded)
 *              -> conv2dPacked conv2 + residual (x, or conv2dPacked conv_shortcut)
 *   attention  groupNorm -> conv2dPacked to_q|to_k|to_v as one 1x1 -> attentionChannels -> conv2dPacked to_out + x
 *   resample   conv2dPacked with stride 2 / with upsample; conv_in, conv_out: conv2dPacked (conv_out after
 *              groupNormSilu)
 *
 * Every op rounds as today's layers do, so the output has `model.forward`'s bits (the benchmark checks it).
 * `prepareFused` packs the weights once (what the inference mode keeps between steps).
 */
import type { UNet2DModel } from '../bindings/models/unet2d.ts';
import {
  attentionChannels, concatChannels, conv2dPacked, groupNorm, groupNormSilu, linear, packConv2dWeights, silu,
  timestepEmbedding, addInPlace, type PackedConv2dWeights,
} from '../bindings/ops/index.ts';
import { Tensor } from '../bindings/tensor.ts';
import { convFlops, convGroup, coveredPlan, param, type Recorder, type UNetBlocks } from './unet-forward.ts';

/** The packed weights of one model, by convolution prefix; `dispose()` frees them. */
export interface FusedWeights {
  convs: Map<string, PackedConv2dWeights>;
  /** Per attention prefix: the bias of to_q|to_k|to_v concatenated [3C]. */
  qkvBias: Map<string, Tensor>;
  /** Every resnet's time_emb_proj as one linear layer: weights [ΣP, E] and bias [ΣP], and each resnet's first row. */
  timeWeight: Tensor;
  timeBias: Tensor;
  timeOffsets: Map<string, number>;
  dispose(): void;
}

/** Packs every convolution of `model`, and each attention's projections as 1x1 convolutions (q, k, v as one). */
export function prepareFused(model: UNet2DModel): FusedWeights {
  const convs = new Map<string, PackedConv2dWeights>(), qkvBias = new Map<string, Tensor>();
  const owned: Tensor[] = [];
  for (const p of model.params.parameters) {
    if (p.shape.length === 4 && p.name.endsWith('.weight')) convs.set(p.name.slice(0, -'.weight'.length), packConv2dWeights(p.value));
    if (p.name.endsWith('.to_q.weight')) {
      const prefix = p.name.slice(0, -'.to_q.weight'.length), C = p.shape[0];
      const parts = ['to_q', 'to_k', 'to_v'];
      const w = stack(parts.map((name) => param(model, `${prefix}.${name}.weight`)), [3 * C, C, 1, 1]);
      const out = param(model, `${prefix}.to_out.0.weight`);
      const outConv = stack([out], [C, C, 1, 1]);
      convs.set(`${prefix}.qkv`, packConv2dWeights(w));
      convs.set(`${prefix}.to_out.0`, packConv2dWeights(outConv));
      qkvBias.set(prefix, stack(parts.map((name) => param(model, `${prefix}.${name}.bias`)), [3 * C]));
      owned.push(w, outConv);
    }
  }
  for (const t of owned) t.dispose();
  const projections = model.params.parameters.filter((p) => p.name.endsWith('.time_emb_proj.weight'));
  const timeOffsets = new Map<string, number>();
  let rows = 0;
  for (const p of projections) {
    timeOffsets.set(p.name.slice(0, -'.time_emb_proj.weight'.length), rows);
    rows += p.shape[0];
  }
  const E = projections[0]?.shape[1] ?? 0;
  const timeWeight = stack(projections.map((p) => p.value), [rows, E]);
  const timeBias = stack(projections.map((p) => param(model, p.name.replace(/weight$/, 'bias'))), [rows]);
  return {
    convs, qkvBias, timeWeight, timeBias, timeOffsets,
    dispose() {
      for (const c of convs.values()) c.dispose();
      for (const b of qkvBias.values()) b.dispose();
      timeWeight.dispose();
      timeBias.dispose();
    },
  };
}

/** The tensors' values one after the other, as a new tensor of `shape` (a copy: preparation, not arithmetic). */
function stack(parts: Tensor[], shape: number[]): Tensor {
  const out = new Tensor(shape);
  const view = out.view();
  let offset = 0;
  for (const t of parts) {
    view.set(t.view(), offset);
    offset += t.size;
  }
  return out;
}

export function fusedBlocks(model: UNet2DModel, weights: FusedWeights, op: Recorder): UNetBlocks {
  const plan = coveredPlan(model), G = plan.normNumGroups, EPS = plan.normEps;
  const groupsOf = (prefix: string) => (prefix.startsWith('mid_block') ? plan.midAttentionGroups! : G);
  const headsOf = (C: number, prefix: string): number => {
    const { numHeads, headDim } = plan.heads(C, prefix);
    if (numHeads * headDim !== C) throw new Error(`bench: ${prefix} has heads narrower than its ${C} channels`);
    return numHeads;
  };
  const p = (name: string) => param(model, name);
  // Every resnet's time projection [N, ΣP], computed once per forward (one linear layer: each output is the same
  // sum as in the resnet's own, so the same bits), and the columns of one resnet as [N, width].
  let projections: Tensor | null = null;
  const columns = (start: number, width: number): Tensor => {
    const all = projections!, [N, M] = all.shape;
    if (N === 1) return all.subview(start, [1, width]);
    return op({ group: 'time projection', flops: 0 }, () => {
      const out = new Tensor([N, width]), from = all.view(), to = out.view();
      for (let n = 0; n < N; n++) to.set(from.subarray(n * M + start, n * M + start + width), n * width);
      return out;
    });
  };

  const conv = (prefix: string, x: Tensor, options: { stride?: number; padding?: number; upsample?: boolean; padded?: boolean;
    residual?: Tensor; channelBias?: Tensor } = {}): Tensor => {
    const w = weights.convs.get(prefix)!, [K, C, R] = w.shape;
    const { stride = 1, padding = 0, upsample = false, padded = false } = options;
    const f = upsample ? 2 : 1, pad = padded ? 0 : padding;
    const OH = Math.floor((f * x.shape[2] + 2 * pad - R) / stride) + 1, OW = Math.floor((f * x.shape[3] + 2 * pad - R) / stride) + 1;
    const group = prefix.endsWith('.qkv') || prefix.endsWith('.to_out.0') ? 'attention linears' : convGroup(prefix, R, stride, OH, OW, K);
    const bias = prefix.endsWith('.qkv') ? weights.qkvBias.get(prefix.slice(0, -'.qkv'.length))! : p(`${prefix}.bias`);
    return op({ group, flops: convFlops([x.shape[0], K, OH, OW], C, R) }, () =>
      conv2dPacked(x, w, bias, { stride, padding: pad, upsample, residual: options.residual, channelBias: options.channelBias }));
  };
  const normSilu = (prefix: string, x: Tensor, modulation: { scale?: Tensor; shift?: Tensor } = {}): Tensor =>
    op({ group: 'group norm + silu', flops: 0 }, () =>
      groupNormSilu(x, G, p(`${prefix}.weight`), p(`${prefix}.bias`), EPS, { ...modulation, padding: 1 }));
  const dense = (group: string, x: Tensor, w: Tensor, b: Tensor): Tensor =>
    op({ group, flops: 2 * x.shape[0] * w.shape[0] * w.shape[1] }, () => linear(x, w, b));

  const resnet = (prefix: string, x: Tensor, _temb: Tensor, inC: number, outC: number): Tensor => {
    const offset = weights.timeOffsets.get(prefix)!;
    const a1 = normSilu(`${prefix}.norm1`, x);
    let a2: Tensor;
    if (plan.resnetTimeScaleShift === 'scale_shift') {
      const h = conv(`${prefix}.conv1`, a1, { padded: true });
      a2 = normSilu(`${prefix}.norm2`, h, { scale: columns(offset, outC), shift: columns(offset + outC, outC) });
    } else {
      const h = conv(`${prefix}.conv1`, a1, { padded: true, channelBias: columns(offset, outC) });
      a2 = normSilu(`${prefix}.norm2`, h);
    }
    const shortcut = inC !== outC ? conv(`${prefix}.conv_shortcut`, x) : x;
    return conv(`${prefix}.conv2`, a2, { padded: true, residual: shortcut });
  };

  const attention = (prefix: string, x: Tensor): Tensor => {
    const h = op({ group: 'attention norm', flops: 0 }, () => groupNorm(x, groupsOf(prefix), p(`${prefix}.group_norm.weight`), p(`${prefix}.group_norm.bias`), EPS));
    const qkv = conv(`${prefix}.qkv`, h);
    const [N, C, H, W] = x.shape, T = H * W;
    const o = op({ group: 'attention core', flops: 4 * N * C * T * T }, () => attentionChannels(qkv, headsOf(C, prefix)));
    return conv(`${prefix}.to_out.0`, o, { residual: x });
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
      const act = op({ group: 'time projection', flops: 0 }, () => silu(temb));
      projections = dense('time projection', act, weights.timeWeight, weights.timeBias);
      return temb;
    },
    convIn: (x) => conv('conv_in', x, { padding: 1 }),
    resnet,
    attention,
    downsample: (prefix, x) => conv(`${prefix}.conv`, x, { stride: 2, padding: 1 }),
    upStage(resnetPrefix, attentionPrefix, h, skip, temb, inC, outC) {
      const joined = op({ group: 'concat', flops: 0 }, () => concatChannels(h, skip));
      const y = resnet(resnetPrefix, joined, temb, inC, outC);
      return attentionPrefix ? attention(attentionPrefix, y) : y;
    },
    upsample: (prefix, x) => conv(`${prefix}.conv`, x, { upsample: true, padding: 1 }),
    out: (h) => conv('conv_out', normSilu('conv_norm_out', h), { padded: true }),
  };
}
