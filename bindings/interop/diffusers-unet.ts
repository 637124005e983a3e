/**
 * The translation between diffusers' UNet2DModel options (diffusers-config.ts) and this library's UNet2DConfig,
 * and between their state dicts. This library builds every UNet2DModel option diffusers v0.27.2 has, so the
 * options map one to one, with three differences:
 * - numClassEmbeds here is diffusers' num_class_embeds - 1: the last row of the table is the null label of
 *   classifier-free guidance (a table of one row holds only that label, which this library refuses);
 * - this library's shorthands (attentionResolutions, numHeads) become block types and attention_head_dim, which
 *   has one head size for every attention: numHeads over attention layers of different widths has no diffusers
 *   equivalent (unless it is 1: attention_head_dim None);
 * - diffusers stores the Fourier time features twice (time_proj.weight and time_proj.W, one tensor); this library
 *   keeps time_proj.weight and writes both.
 * What the library cannot build (a null sample_size, the newer time_embedding_dim and mid_block_type set to
 * something else than their neutral values) fails with one line naming each such option.
 *
 * Pure: no Node modules.
 */
import type { NamedTensor } from '../io/safetensors.ts';
import { resolveUNetConfig, type DownBlockType, type ResolvedUNet2DConfig, type UNet2DConfig, type UpBlockType } from '../models/unet2d-config.ts';
import { unetPlan } from '../models/unet2d-plan.ts';
import { blockType, defaultDiffusersUNetOptions, show, type DiffusersUNet2DOptions } from './diffusers-config.ts';

/** This library's config (resolved, as models store it) for diffusers' options; `source` names the file in errors. */
export function unetConfigFromDiffusers(options: DiffusersUNet2DOptions, source = 'unet/config.json'): ResolvedUNet2DConfig {
  const o = options;
  const problems: string[] = [];
  const no = (key: string, value: unknown, why: string) => { problems.push(`${key} ${show(value)} (${why})`); };
  if (o.sampleSize === null) no('sample_size', null, 'this library needs the image size');
  if (o.timeEmbeddingDim !== null && o.timeEmbeddingDim !== 4 * o.blockOutChannels[0]) no('time_embedding_dim', o.timeEmbeddingDim, 'it is 4 x block_out_channels[0]');
  if (o.midBlockType === null) no('mid_block_type', null, 'the middle block is always there');
  if (o.downsamplePadding > 1) no('downsample_padding', o.downsamplePadding, 'a stride-2 convolution padded so would not halve the size; diffusers fails at the skip connections too');
  const table = o.classEmbedType === null && o.numClassEmbeds !== null;
  if (table && o.numClassEmbeds === 1) no('num_class_embeds', 1, 'a table of one row holds only the null label');
  if (problems.length > 0) throw new Error(`${source}: this library cannot build this UNet2DModel: ${problems.join('; ')}`);

  const config: UNet2DConfig = {
    sampleSize: Array.isArray(o.sampleSize) ? [o.sampleSize[0], o.sampleSize[1]] : o.sampleSize!,
    inChannels: o.inChannels, outChannels: o.outChannels, centerInputSample: o.centerInputSample,
    timeEmbeddingType: o.timeEmbeddingType, flipSinToCos: o.flipSinToCos, freqShift: o.freqShift,
    // diffusers reads num_train_timesteps only for the learned table (and num_class_embeds only for the label table).
    numTrainTimesteps: o.timeEmbeddingType === 'learned' ? o.numTrainTimesteps : null,
    downBlockTypes: o.downBlockTypes.map(blockType) as DownBlockType[], upBlockTypes: o.upBlockTypes.map(blockType) as UpBlockType[],
    blockOutChannels: [...o.blockOutChannels], layersPerBlock: o.layersPerBlock, midBlockScaleFactor: o.midBlockScaleFactor,
    downsamplePadding: o.downsamplePadding as 0 | 1, downsampleType: o.downsampleType, upsampleType: o.upsampleType, dropout: o.dropout,
    actFn: o.actFn, attentionHeadDim: o.attentionHeadDim, normNumGroups: o.normNumGroups, attnNormNumGroups: o.attnNormNumGroups,
    normEps: o.normEps, resnetTimeScaleShift: o.resnetTimeScaleShift, midBlockAttention: o.addAttention,
    classEmbedType: o.classEmbedType, numClassEmbeds: table ? o.numClassEmbeds! - 1 : 0,
  };
  try {
    return resolveUNetConfig(config);
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
}

/**
 * diffusers' options for this library's config, every key written explicitly, so that diffusers'
 * `UNet2DModel.from_config` builds the same network. Throws when the config has no diffusers equivalent.
 */
export function unetConfigToDiffusers(config: UNet2DConfig): DiffusersUNet2DOptions {
  const c = resolveUNetConfig(config);
  const plan = unetPlan(c);
  if (c.classAttributes) throw new Error(`UNet2DModel: classAttributes [${c.classAttributes.join(', ')}] (labels per attribute) has no diffusers UNet2DModel equivalent`);
  if (plan.conditionChannels > 0) {
    throw new Error(`UNet2DModel: conditionChannels ${plan.conditionChannels} (a conditioning image joined to the input) has no diffusers pipeline equivalent`);
  }
  return {
    ...defaultDiffusersUNetOptions(),
    sampleSize: Array.isArray(c.sampleSize) ? [c.sampleSize[0], c.sampleSize[1]] : c.sampleSize, inChannels: plan.inChannels, outChannels: plan.outChannels,
    centerInputSample: plan.centerInputSample, timeEmbeddingType: plan.projection.type, flipSinToCos: plan.projection.flipSinToCos,
    freqShift: plan.projection.freqShift, downBlockTypes: [...plan.down], upBlockTypes: [...plan.up], blockOutChannels: [...plan.channels],
    layersPerBlock: plan.layersPerBlock, midBlockScaleFactor: plan.midBlockScaleFactor, downsamplePadding: plan.downsamplePadding,
    downsampleType: plan.downsampleType, upsampleType: plan.upsampleType, dropout: plan.dropout, actFn: plan.actFn,
    attentionHeadDim: attentionHeadDim(c, plan.down, plan.up, plan.channels), normNumGroups: plan.normNumGroups,
    // Absent here means the middle attention normalises with normNumGroups groups: diffusers' None under 'default',
    // but under 'scale_shift' diffusers' None means no GroupNorm, so the count is written.
    attnNormNumGroups: c.attnNormNumGroups !== undefined ? c.attnNormNumGroups : plan.resnetTimeScaleShift === 'scale_shift' ? plan.normNumGroups : null,
    normEps: plan.normEps, resnetTimeScaleShift: plan.resnetTimeScaleShift, addAttention: plan.midBlockAttention,
    classEmbedType: c.classEmbedType ?? null, numClassEmbeds: c.numClassEmbeds > 0 ? c.numClassEmbeds + 1 : null,
    numTrainTimesteps: c.numTrainTimesteps ?? null,
  };
}

/** diffusers' attention_head_dim for a config: its own, or the one numHeads implies. */
function attentionHeadDim(c: ResolvedUNet2DConfig, down: readonly string[], up: readonly string[], channels: number[]): number | null {
  if (c.attentionHeadDim !== undefined) return c.attentionHeadDim;
  const last = channels.length - 1;
  const widths = new Set<number>();
  down.forEach((t, k) => { if (t.startsWith('Attn')) widths.add(channels[k]); });
  up.forEach((t, i) => { if (t.startsWith('Attn')) widths.add(channels[last - i]); });
  if (c.midBlockAttention) widths.add(channels[last]);
  const numHeads = c.numHeads ?? 4;
  if (widths.size === 0) return 8; // diffusers' default: no attention layer reads it
  if (numHeads === 1) return null;
  if (widths.size > 1) {
    throw new Error(`UNet2DModel: numHeads ${numHeads} over attention layers of ${[...widths].join(' and ')} channels has no diffusers equivalent (attention_head_dim sets the channels per head); use numHeads 1, attention at one width, or attentionHeadDim`);
  }
  return [...widths][0] / numHeads;
}

/**
 * The state dict diffusers has for these weights: a 'fourier' U-Net's frequencies also under time_proj.W (diffusers
 * registers one tensor under both names).
 */
export function toDiffusersStateDict(config: ResolvedUNet2DConfig, weights: readonly NamedTensor[]): NamedTensor[] {
  if (config.timeEmbeddingType !== 'fourier') return [...weights];
  const frequencies = weights.find((t) => t.name === 'time_proj.weight');
  return frequencies ? [...weights, { ...frequencies, name: 'time_proj.W', data: frequencies.data.slice() }] : [...weights];
}

/** The weights this library loads from a diffusers state dict: time_proj.W dropped once checked equal to time_proj.weight. */
export function fromDiffusersStateDict(config: ResolvedUNet2DConfig, weights: Map<string, NamedTensor>, source: string): Map<string, NamedTensor> {
  const alias = weights.get('time_proj.W');
  if (config.timeEmbeddingType !== 'fourier' || alias === undefined) return weights;
  const frequencies = weights.get('time_proj.weight');
  if (frequencies && (frequencies.data.length !== alias.data.length || frequencies.data.some((v, i) => !Object.is(v, alias.data[i])))) {
    throw new Error(`${source}: time_proj.W differs from time_proj.weight (diffusers stores the Fourier frequencies under both names, as one tensor)`);
  }
  const out = new Map(weights);
  out.delete('time_proj.W');
  return out;
}
