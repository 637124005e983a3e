/**
 * diffusers' down and up blocks of UNet2DModel as lists of modules (unet_2d_blocks.py, v0.27.2):
 *
 *   DownBlock2D / UpBlock2D                resnets; resample by a convolution (Downsample2D / Upsample2D)
 *   AttnDownBlock2D / AttnUpBlock2D        resnets each followed by attention; resample by a convolution, or by a
 *                                          ResnetBlock2D that resamples (downsampleType / upsampleType 'resnet')
 *   ResnetDownsampleBlock2D / ResnetUpsampleBlock2D   resnets; resample by a ResnetBlock2D (BigGAN's blocks:
 *                                          2x2 average pooling down, nearest up, inside the residual)
 *   SkipDownBlock2D / SkipUpBlock2D        NCSN++'s blocks: resnets with min(C / 4, 32) groups and output scale √2;
 *   AttnSkipDownBlock2D / AttnSkipUpBlock2D  resample by a FIR resnet (resnet_down / resnet_up) and thread the skip
 *                                          image (nn/skip-image.ts); the Attn ones add attention with 32 groups
 *
 * Only the last level does not resample. Modules are built in the order the forward runs them, so parameters are
 * declared in that order. AttnSkipUpBlock2D's first GroupNorm has min(in + skip // 4, 32) groups: diffusers'
 * operator precedence, kept so that its weights load.
 */
import { AttentionBlock } from '../nn/attention.ts';
import { SiLU } from '../nn/activation.ts';
import { Sequential } from '../nn/combinators.ts';
import { Conv2d } from '../nn/conv2d.ts';
import { GroupNorm } from '../nn/groupnorm.ts';
import type { Module } from '../nn/module.ts';
import type { ParameterSet } from '../nn/parameters.ts';
import { downsample2D, upsample2D } from '../nn/resample.ts';
import { ResnetBlock2D, type ResnetOptions } from '../nn/resnet.ts';
import { SkipImageDown, SkipImageUp, type SkipImagePath } from '../nn/skip-image.ts';
import type { SkipConnection } from '../nn/skip.ts';
import { isSkipBlock, type UNetPlan } from './unet2d-plan.ts';

/** What every block builder needs: the parameters, the plan, and the skip image's paths (when there are any). */
export interface BlockContext {
  p: ParameterSet;
  plan: UNetPlan;
  tembChannels: number;
  downImage: SkipImagePath | null;
  upImage: SkipImagePath | null;
}

/** diffusers' np.sqrt(2.0): the skip blocks' output_scale_factor. */
const SKIP_SCALE = Math.SQRT2;
/** The skip blocks' GroupNorm groups for C channels. */
const skipGroups = (channels: number) => Math.min(Math.floor(channels / 4), 32);

/** The resnet options every block shares. */
export function resnetOptions(b: BlockContext): ResnetOptions {
  const { plan } = b;
  return {
    normGroups: plan.normNumGroups, tembChannels: b.tembChannels, timeScaleShift: plan.resnetTimeScaleShift, dropout: plan.dropout,
    eps: plan.normEps, actFn: plan.actFn,
  };
}

/**
 * The stages of down block k, each the modules after which the encoder saves a skip connection: every resnet
 * (with its attention), then the downsampler (all but the last level).
 */
export function downBlock(b: BlockContext, k: number, inC: number, outC: number): Module[][] {
  const { p, plan } = b, type = plan.down[k], name = `down_blocks.${k}`, skip = isSkipBlock(type);
  const stages: Module[][] = [];
  for (let j = 0; j < plan.layersPerBlock; j++) {
    const resnetIn = j === 0 ? inC : outC;
    const options = skip ? { ...resnetOptions(b), normGroups: skipGroups(resnetIn), groupsOut: skipGroups(outC), outputScaleFactor: SKIP_SCALE } : resnetOptions(b);
    const stage: Module[] = [new ResnetBlock2D(p, `${name}.resnets.${j}`, resnetIn, outC, options)];
    if (type === 'AttnDownBlock2D') stage.push(attention(b, `${name}.attentions.${j}`, outC, plan.normNumGroups, 1));
    if (type === 'AttnSkipDownBlock2D') stage.push(attention(b, `${name}.attentions.${j}`, outC, 32, SKIP_SCALE));
    stages.push(stage);
  }
  if (k === plan.channels.length - 1) return stages;
  if (skip) {
    const resnetDown = new ResnetBlock2D(p, `${name}.resnet_down`, outC, outC, {
      ...resnetOptions(b), normGroups: skipGroups(outC), outputScaleFactor: SKIP_SCALE, convShortcut: true, resample: 'fir-down',
    });
    stages.push([resnetDown, new SkipImageDown(`${name}.skip_image`, b.downImage!, new Conv2d(p, `${name}.skip_conv`, 3, outC, 1))]);
  } else if (type === 'DownBlock2D' || (type === 'AttnDownBlock2D' && plan.downsampleType === 'conv')) {
    stages.push([downsample2D(p, `${name}.downsamplers.0`, outC, plan.downsamplePadding)]);
  } else {
    stages.push([new ResnetBlock2D(p, `${name}.downsamplers.0`, outC, outC, { ...resnetOptions(b), resample: 'down' })]);
  }
  return stages;
}

/**
 * Up block i (lowest resolution first): layersPerBlock + 1 times (append a skip connection, resnet [attention]),
 * then the skip image's step (skip blocks) and the upsampler (all but the last).
 */
export function upBlock(b: BlockContext, i: number, prev: number, outC: number, nextSkip: () => { connection: SkipConnection; channels: number }): Module[] {
  const { p, plan } = b, type = plan.up[i], name = `up_blocks.${i}`, skip = isSkipBlock(type);
  const last = i === plan.channels.length - 1;
  const modules: Module[] = [];
  let resnetIn = prev;
  for (let j = 0; j <= plan.layersPerBlock; j++) {
    const saved = nextSkip();
    const inC = resnetIn + saved.channels;
    const groups = type === 'AttnSkipUpBlock2D' ? Math.min(resnetIn + Math.floor(saved.channels / 4), 32) : skipGroups(inC);
    const options = skip ? { ...resnetOptions(b), normGroups: groups, groupsOut: skipGroups(outC), outputScaleFactor: SKIP_SCALE } : resnetOptions(b);
    modules.push(saved.connection.concat, new ResnetBlock2D(p, `${name}.resnets.${j}`, inC, outC, options));
    if (type === 'AttnUpBlock2D') modules.push(attention(b, `${name}.attentions.${j}`, outC, plan.normNumGroups, 1));
    resnetIn = outC;
  }
  if (type === 'AttnSkipUpBlock2D') modules.push(attention(b, `${name}.attentions.0`, outC, 32, SKIP_SCALE));
  if (skip) {
    if (b.upImage !== null) {
      const branch = last ? null : new Sequential(`${name}.skip`, [
        new GroupNorm(p, `${name}.skip_norm`, skipGroups(outC), outC, plan.normEps),
        new SiLU(`${name}.act`),
        new Conv2d(p, `${name}.skip_conv`, outC, 3, 3, 1, 1),
      ]);
      modules.push(new SkipImageUp(`${name}.skip_image`, b.upImage, branch));
    }
    if (!last) {
      modules.push(new ResnetBlock2D(p, `${name}.resnet_up`, outC, outC, {
        ...resnetOptions(b), normGroups: skipGroups(outC), groupsOut: skipGroups(outC), outputScaleFactor: SKIP_SCALE, convShortcut: true, resample: 'fir-up',
      }));
    }
  } else if (!last) {
    const conv = type === 'UpBlock2D' || (type === 'AttnUpBlock2D' && plan.upsampleType === 'conv');
    modules.push(conv ? upsample2D(p, `${name}.upsamplers.0`, outC)
      : new ResnetBlock2D(p, `${name}.upsamplers.0`, outC, outC, { ...resnetOptions(b), resample: 'up' }));
  }
  return modules;
}

function attention(b: BlockContext, name: string, channels: number, normGroups: number, rescaleOutputFactor: number): AttentionBlock {
  return new AttentionBlock(b.p, name, channels, { ...b.plan.heads(channels, name), normGroups, eps: b.plan.normEps, rescaleOutputFactor });
}
