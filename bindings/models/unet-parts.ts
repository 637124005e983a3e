/**
 * The U-Net's paths as lists of modules, shared by UNet2DModel and the noise-aware classifier, built from the
 * explicit plan (unet2d-plan.ts). Names follow diffusers' UNet2DModel state dict, and modules are built (so
 * parameters declared) in the order the forward runs them:
 *
 *   encoder: [center the input] [keep it as the skip image] [join the conditioning image] conv_in, down_blocks[k] (unet-blocks.ts),
 *            mid_block: resnets.0, [attentions.0], resnets.1 (each divided by midBlockScaleFactor)
 *   decoder: up_blocks[i] (unet-blocks.ts)
 *
 * With skip connections, conv_in's output and every down layer's output are saved for the decoder, which
 * consumes them last-saved first.
 */
import { AttentionBlock } from '../nn/attention.ts';
import { Conv2d } from '../nn/conv2d.ts';
import type { Module } from '../nn/module.ts';
import type { ParameterSet } from '../nn/parameters.ts';
import { ResnetBlock2D } from '../nn/resnet.ts';
import { CenterInput } from '../nn/scaling.ts';
import { ConditionInput } from '../nn/condition-input.ts';
import { SkipImageInput, SkipImagePath } from '../nn/skip-image.ts';
import { SkipConnection } from '../nn/skip.ts';
import { downBlock, resnetOptions, upBlock, type BlockContext } from './unet-blocks.ts';
import type { UNetPlan } from './unet2d-plan.ts';

/** The encoder's modules, with skip connections (for the U-Net) or without (for the classifier). */
export interface Encoder {
  modules: Module[];
  /** The skip connections, in the order the encoder saves them, with the channels each carries. */
  skips: { connection: SkipConnection; channels: number }[];
  /** The skip image's up path, when the decoder has skip blocks that make one. */
  upImage: SkipImagePath | null;
}

export function buildEncoder(p: ParameterSet, plan: UNetPlan, withSkips: boolean): Encoder {
  const modules: Module[] = [];
  const skips: Encoder['skips'] = [];
  const saveSkip = (channels: number) => {
    if (!withSkips) return;
    const connection = new SkipConnection(`skip_${skips.length}`);
    skips.push({ connection, channels });
    modules.push(connection.save);
  };
  const block: BlockContext = {
    p, plan, tembChannels: plan.channels[0] * 4,
    downImage: plan.skipImage.down ? new SkipImagePath('skip_image_down') : null,
    upImage: plan.skipImage.up ? new SkipImagePath('skip_image_up') : null,
  };
  if (plan.centerInputSample) modules.push(new CenterInput('center_input_sample'));
  if (block.downImage) modules.push(new SkipImageInput(block.downImage));
  const channels = plan.channels;
  if (plan.conditionChannels > 0) modules.push(new ConditionInput('condition_input', plan.conditionChannels));
  modules.push(new Conv2d(p, 'conv_in', plan.inChannels + plan.conditionChannels, channels[0], 3, 1, 1));
  saveSkip(channels[0]);
  let inC = channels[0];
  channels.forEach((outC, k) => {
    for (const stage of downBlock(block, k, inC, outC)) {
      modules.push(...stage);
      saveSkip(outC);
    }
    inC = outC;
  });
  const last = channels[channels.length - 1];
  const mid = { ...resnetOptions(block), outputScaleFactor: plan.midBlockScaleFactor };
  modules.push(new ResnetBlock2D(p, 'mid_block.resnets.0', last, last, mid));
  if (plan.midBlockAttention) {
    const where = 'mid_block.attentions.0';
    modules.push(new AttentionBlock(p, where, last, {
      ...plan.heads(last, where), normGroups: plan.midAttentionGroups, eps: plan.normEps, rescaleOutputFactor: plan.midBlockScaleFactor,
    }));
  }
  modules.push(new ResnetBlock2D(p, 'mid_block.resnets.1', last, last, mid));
  return { modules, skips, upImage: block.upImage };
}

/** The decoder's modules: each up stage first appends the skip its level saved last. */
export function buildDecoder(p: ParameterSet, plan: UNetPlan, encoder: Encoder): Module[] {
  const block: BlockContext = { p, plan, tembChannels: plan.channels[0] * 4, downImage: null, upImage: encoder.upImage };
  const skips = [...encoder.skips];
  const modules: Module[] = [];
  let prev = plan.channels[plan.channels.length - 1];
  plan.up.forEach((_, i) => {
    const outC = plan.channels[plan.channels.length - 1 - i];
    modules.push(...upBlock(block, i, prev, outC, () => skips.pop()!));
    prev = outC;
  });
  return modules;
}
