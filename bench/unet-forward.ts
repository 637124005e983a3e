/**
 * The U-Net's forward pass written out as a sequence of op calls, for the sampler-forward benchmark: once with
 * the ops today's layers call (bindings/nn, bindings/models: checked bit for bit against `model.forward`), so
 * that every op can be timed in place, and once with the inference kernels (bindings/ops/inference.ts), as the
 * inference mode will call them. The topology is walked once (`runUNet`, in the order of
 * bindings/models/unet2d.ts); each path supplies the blocks (`UNetBlocks`).
 *
 * Every op goes through a `Recorder`, which the profile uses to time it and attribute its flops; the plain
 * forward passes `direct`, which only calls it.
 */
import type { Parameter } from '../bindings/nn/parameters.ts';
import type { UNet2DModel } from '../bindings/models/unet2d.ts';
import { unetPlan, type UNetPlan } from '../bindings/models/unet2d-plan.ts';
import type { Tensor } from '../bindings/tensor.ts';

/** What an op is, for the profile table: its group (a row of the table) and its flops. */
export interface OpInfo {
  /** The profile row this op's time is added to, e.g. 'conv 3x3 @7x7'. */
  group: string;
  /** Multiply-adds counted as 2 flops; 0 for the memory-bound ops. */
  flops: number;
}

/** Runs one op; the profile's recorder also times it. */
export type Recorder = <T>(info: OpInfo, fn: () => T) => T;

/** The recorder of a plain forward: calls the op. */
export const direct: Recorder = (_info, fn) => fn();

/** The building blocks of one forward path. Prefixes are diffusers' state-dict names ('down_blocks.0.resnets.0'). */
export interface UNetBlocks {
  /** The conditioning vector [N, 4·C0] from the timesteps (and labels). */
  conditioning(timesteps: Int32Array, labels: Int32Array | null): Tensor;
  convIn(x: Tensor): Tensor;
  resnet(prefix: string, x: Tensor, temb: Tensor, inC: number, outC: number): Tensor;
  attention(prefix: string, x: Tensor): Tensor;
  downsample(prefix: string, x: Tensor): Tensor;
  /** Concatenates the skip, then runs the resnet (and attention, when `attention` is given). */
  upStage(resnetPrefix: string, attentionPrefix: string | null, h: Tensor, skip: Tensor, temb: Tensor, inC: number, outC: number): Tensor;
  upsample(prefix: string, x: Tensor): Tensor;
  /** conv_norm_out, SiLU, conv_out. */
  out(h: Tensor): Tensor;
}

/**
 * The plan of `model` (bindings/models/unet2d-plan.ts), checked to be within what the hand-built paths cover: the
 * DDPM U-Net of the shipped models (DownBlock2D / AttnDownBlock2D and their up blocks, convolution resamplers, the
 * positional time embedding, a class table or none, SiLU, no rescaling).
 */
export function coveredPlan(model: UNet2DModel): UNetPlan {
  const plan = unetPlan(model.config);
  const blocks = [...plan.down, ...plan.up].every((t) => ['DownBlock2D', 'AttnDownBlock2D', 'UpBlock2D', 'AttnUpBlock2D'].includes(t));
  const covered = blocks && plan.downsampleType === 'conv' && plan.upsampleType === 'conv' && plan.downsamplePadding === 1
    && plan.projection.type === 'positional' && (plan.classes === null || plan.classes.type === 'table') && plan.actFn === 'silu'
    && plan.midBlockScaleFactor === 1 && !plan.centerInputSample && plan.midAttentionGroups !== null;
  if (!covered) throw new Error('bench/unet-forward: the hand-built forward covers the DDPM U-Net of the shipped models only');
  return plan;
}

/** The forward pass of `model`'s topology with `blocks` (the order of diffusers' UNet2DModel). */
export function runUNet(model: UNet2DModel, blocks: UNetBlocks, x: Tensor, timesteps: Int32Array, labels: Int32Array | null): Tensor {
  const plan = coveredPlan(model), channels = plan.channels;
  const temb = blocks.conditioning(timesteps, labels);
  let h = blocks.convIn(x);
  const skips = [h];
  let inC = channels[0];
  channels.forEach((outC, i) => {
    for (let j = 0; j < plan.layersPerBlock; j++) {
      h = blocks.resnet(`down_blocks.${i}.resnets.${j}`, h, temb, j === 0 ? inC : outC, outC);
      if (plan.down[i] === 'AttnDownBlock2D') h = blocks.attention(`down_blocks.${i}.attentions.${j}`, h);
      skips.push(h);
    }
    if (i < channels.length - 1) {
      h = blocks.downsample(`down_blocks.${i}.downsamplers.0`, h);
      skips.push(h);
    }
    inC = outC;
  });
  const last = channels[channels.length - 1];
  h = blocks.resnet('mid_block.resnets.0', h, temb, last, last);
  if (plan.midBlockAttention) h = blocks.attention('mid_block.attentions.0', h);
  h = blocks.resnet('mid_block.resnets.1', h, temb, last, last);
  let prev = last;
  [...channels].reverse().forEach((outC, i) => {
    for (let j = 0; j <= plan.layersPerBlock; j++) {
      const skip = skips.pop()!;
      const attention = plan.up[i] === 'AttnUpBlock2D' ? `up_blocks.${i}.attentions.${j}` : null;
      h = blocks.upStage(`up_blocks.${i}.resnets.${j}`, attention, h, skip, temb, prev + skip.shape[1], outC);
      prev = outC;
    }
    if (i < channels.length - 1) h = blocks.upsample(`up_blocks.${i}.upsamplers.0`, h);
  });
  return blocks.out(h);
}

/** The parameter named `name` of `model` (its value tensor). */
export function param(model: UNet2DModel, name: string): Tensor {
  return (model.params.get(name) as Parameter).value;
}

/** Flops of a convolution producing [N, K, OH, OW] from C channels with an R x R kernel. */
export function convFlops(y: readonly number[], C: number, R: number): number {
  return 2 * y[0] * y[1] * y[2] * y[3] * C * R * R;
}

/** The profile group of a convolution: conv_in, conv_out, or its kernel and output size, e.g. 'conv 3x3 @7x7'. */
export function convGroup(prefix: string, R: number, stride: number, OH: number, OW: number, K: number): string {
  if (prefix === 'conv_in' || prefix === 'conv_out') return `${prefix} (${K} channels out)`;
  return `conv ${R}x${R}${stride > 1 ? ' stride 2' : ''} @${OH}x${OW}`;
}
