/**
 * The explicit architecture of a resolved UNet2DConfig: the shorthands turned into diffusers' block types and a
 * head geometry per attention, every default filled in. unet-parts.ts builds the modules from it.
 */
import type { ActFn } from '../nn/activation.ts';
import type { ClassConditioning, ProjectionOptions } from '../nn/unet-conditioning.ts';
import type { DownBlockType, ResampleType, ResolvedUNet2DConfig, UpBlockType } from './unet2d-config.ts';

/** The heads of one attention: numHeads of headDim channels each (numHeads · headDim may be below its channels). */
export interface AttentionGeometry { numHeads: number; headDim: number }

export interface UNetPlan {
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  /** k of a conditioning image joined to the input (0: none). */
  conditionChannels: number;
  channels: number[];
  layersPerBlock: number;
  centerInputSample: boolean;
  projection: ProjectionOptions;
  classes: ClassConditioning;
  down: DownBlockType[];
  up: UpBlockType[];
  downsamplePadding: 0 | 1;
  downsampleType: ResampleType;
  upsampleType: ResampleType;
  midBlockAttention: boolean;
  /** Groups of the middle attention's GroupNorm, or null for none. */
  midAttentionGroups: number | null;
  midBlockScaleFactor: number;
  actFn: ActFn;
  normNumGroups: number;
  normEps: number;
  resnetTimeScaleShift: 'default' | 'scale_shift';
  dropout: number;
  /** Whether the skip blocks thread an image down (some SkipDownBlock2D resamples) and up (some SkipUpBlock2D does). */
  skipImage: { down: boolean; up: boolean };
  /** The head geometry of an attention over `channels` (`where` names it in errors). */
  heads(channels: number, where: string): AttentionGeometry;
}

export const isSkipBlock = (type: string): boolean => type.includes('Skip');

export function unetPlan(c: ResolvedUNet2DConfig): UNetPlan {
  const [height, width] = Array.isArray(c.sampleSize) ? c.sampleSize : [c.sampleSize, c.sampleSize];
  const channels = c.blockOutChannels, levels = channels.length, last = levels - 1;
  let down = c.downBlockTypes, up = c.upBlockTypes;
  if (!down || !up) {
    const attention = channels.map((_, k) => (c.attentionResolutions ?? [16]).includes(height / 2 ** k));
    down = attention.map((a) => (a ? 'AttnDownBlock2D' : 'DownBlock2D'));
    up = [...attention].reverse().map((a) => (a ? 'AttnUpBlock2D' : 'UpBlock2D'));
  }
  const scaleShift = c.resnetTimeScaleShift === 'scale_shift';
  const attnGroups = c.attnNormNumGroups;
  const headDim = c.attentionHeadDim, numHeads = c.numHeads ?? 4;
  const heads = (ch: number, where: string): AttentionGeometry => {
    if (c.attentionHeadDim === undefined) return { numHeads, headDim: ch / numHeads };
    if (headDim === null) return { numHeads: 1, headDim: ch };
    if (headDim! > ch) throw new Error(`UNet2DModel: attentionHeadDim (${headDim}) is wider than the ${ch} channels of ${where}: it would have no head`);
    return { numHeads: Math.floor(ch / headDim!), headDim: headDim! };
  };
  return {
    height, width, inChannels: c.inChannels, outChannels: c.outChannels, conditionChannels: c.conditionChannels ?? 0,
    channels: [...channels], layersPerBlock: c.layersPerBlock,
    centerInputSample: c.centerInputSample ?? false,
    projection: {
      channels: channels[0], type: c.timeEmbeddingType ?? 'positional', flipSinToCos: c.flipSinToCos ?? true,
      freqShift: c.freqShift ?? 0, numTrainTimesteps: c.numTrainTimesteps ?? 0,
    },
    classes: c.classEmbedType ? { type: c.classEmbedType }
      : c.classAttributes ? { type: 'attributes', sizes: [...c.classAttributes] }
        : c.numClassEmbeds > 0 ? { type: 'table', numClasses: c.numClassEmbeds } : null,
    down: [...down], up: [...up],
    downsamplePadding: c.downsamplePadding ?? 1, downsampleType: c.downsampleType ?? 'conv', upsampleType: c.upsampleType ?? 'conv',
    midBlockAttention: c.midBlockAttention,
    midAttentionGroups: attnGroups === undefined ? c.normNumGroups : attnGroups === null ? (scaleShift ? null : c.normNumGroups) : attnGroups,
    midBlockScaleFactor: c.midBlockScaleFactor ?? 1, actFn: c.actFn ?? 'silu', normNumGroups: c.normNumGroups, normEps: c.normEps ?? 1e-5,
    resnetTimeScaleShift: c.resnetTimeScaleShift, dropout: c.dropout,
    skipImage: { down: down.some((t, k) => k < last && isSkipBlock(t)), up: up.some((t, i) => i < last && isSkipBlock(t)) },
    heads,
  };
}
