/**
 * The U-Net's paths as lists of modules, shared by UNet2DModel and the noise-aware classifier. Names follow
 * diffusers' UNet2DModel state dict, and modules are built (so parameters declared) in its order:
 *
 *   encoder: conv_in, down_blocks[i]: layersPerBlock x (resnet [+ attention]) then a stride-2 conv (not the
 *            last level), mid_block: resnet, attention, resnet
 *   decoder: up_blocks[i]: (layersPerBlock + 1) x (concat a skip, resnet [+ attention]) then 2x up (not the last)
 *
 * With skip connections, conv_in's output and every down layer's output are saved for the decoder, which
 * consumes them last-saved first.
 */
import { AttentionBlock } from '../nn/attention.ts';
import { Conv2d } from '../nn/conv2d.ts';
import type { Module } from '../nn/module.ts';
import type { ParameterSet } from '../nn/parameters.ts';
import { downsample2D, upsample2D } from '../nn/resample.ts';
import { ResnetBlock2D, type ResnetOptions } from '../nn/resnet.ts';
import { SkipConnection } from '../nn/skip.ts';
import type { UNet2DConfig } from './unet2d-config.ts';

type Config = Required<UNet2DConfig>;

/** The encoder's modules, with skip connections (for the U-Net) or without (for the classifier). */
export interface Encoder {
  modules: Module[];
  /** The skip connections, in the order the encoder saves them, with the channels each carries. */
  skips: { connection: SkipConnection; channels: number }[];
  /** The resolution after the last downsampler. */
  lowestResolution: number;
}

export function buildEncoder(p: ParameterSet, c: Config, withSkips: boolean): Encoder {
  const modules: Module[] = [];
  const skips: Encoder['skips'] = [];
  const saveSkip = (channels: number) => {
    if (!withSkips) return;
    const connection = new SkipConnection(`skip_${skips.length}`);
    skips.push({ connection, channels });
    modules.push(connection.save);
  };
  const channels = c.blockOutChannels;
  modules.push(new Conv2d(p, 'conv_in', c.inChannels, channels[0], 3, 1, 1));
  saveSkip(channels[0]);
  let resolution = c.sampleSize;
  let inC = channels[0];
  channels.forEach((outC, i) => {
    for (let j = 0; j < c.layersPerBlock; j++) {
      modules.push(...stage(p, c, `down_blocks.${i}`, j, j === 0 ? inC : outC, outC, resolution));
      saveSkip(outC);
    }
    if (i < channels.length - 1) {
      modules.push(downsample2D(p, `down_blocks.${i}.downsamplers.0`, outC));
      saveSkip(outC);
      resolution /= 2;
    }
    inC = outC;
  });
  const last = channels[channels.length - 1];
  modules.push(new ResnetBlock2D(p, 'mid_block.resnets.0', last, last, resnetOptions(c)));
  if (c.midBlockAttention) modules.push(new AttentionBlock(p, 'mid_block.attentions.0', last, c.numHeads, c.normNumGroups));
  modules.push(new ResnetBlock2D(p, 'mid_block.resnets.1', last, last, resnetOptions(c)));
  return { modules, skips, lowestResolution: resolution };
}

/** The decoder's modules: each up stage first appends the skip its level saved last. */
export function buildDecoder(p: ParameterSet, c: Config, encoder: Encoder): Module[] {
  const modules: Module[] = [];
  const skips = [...encoder.skips];
  const channels = c.blockOutChannels;
  let resolution = encoder.lowestResolution;
  let prev = channels[channels.length - 1];
  [...channels].reverse().forEach((outC, i) => {
    for (let j = 0; j <= c.layersPerBlock; j++) {
      const skip = skips.pop()!;
      modules.push(skip.connection.concat, ...stage(p, c, `up_blocks.${i}`, j, prev + skip.channels, outC, resolution));
      prev = outC;
    }
    if (i < channels.length - 1) {
      modules.push(upsample2D(p, `up_blocks.${i}.upsamplers.0`, outC));
      resolution *= 2;
    }
  });
  return modules;
}

/** The j-th stage of a block: `<block>.resnets.<j>`, and `<block>.attentions.<j>` at the attention resolutions. */
function stage(p: ParameterSet, c: Config, block: string, j: number, inC: number, outC: number, resolution: number): Module[] {
  const resnet = new ResnetBlock2D(p, `${block}.resnets.${j}`, inC, outC, resnetOptions(c));
  if (!c.attentionResolutions.includes(resolution)) return [resnet];
  return [resnet, new AttentionBlock(p, `${block}.attentions.${j}`, outC, c.numHeads, c.normNumGroups)];
}

function resnetOptions(c: Config): ResnetOptions {
  return { normGroups: c.normNumGroups, tembChannels: c.blockOutChannels[0] * 4, timeScaleShift: c.resnetTimeScaleShift, dropout: c.dropout };
}
