/**
 * The configuration of UNet2DModel: every option of diffusers' UNet2DModel (v0.27.2) in camelCase, with this
 * library's defaults and checks, and two shorthands of its own: `attentionResolutions` (attention at the levels of
 * those sizes, instead of listing block types) and `numHeads` (a head count, instead of diffusers' head size
 * `attentionHeadDim`). A config gives either form of each, not both.
 *
 * `resolveUNetConfig` returns the stored form of a config (what model files keep): the base options always, with
 * their defaults, and every other option only when it differs from its default, so the configs of models made
 * before those options existed resolve (and are stored) exactly as they were. models/unet2d-plan.ts turns it into
 * the explicit architecture the model builds.
 */
import { unknownKeyMessage } from '../core/names.ts';
import { ACT_FNS, type ActFn } from '../nn/activation.ts';
import type { TimeEmbeddingType } from '../nn/unet-conditioning.ts';

export const DOWN_BLOCK_TYPES = ['DownBlock2D', 'AttnDownBlock2D', 'ResnetDownsampleBlock2D', 'SkipDownBlock2D', 'AttnSkipDownBlock2D'] as const;
export const UP_BLOCK_TYPES = ['UpBlock2D', 'AttnUpBlock2D', 'ResnetUpsampleBlock2D', 'SkipUpBlock2D', 'AttnSkipUpBlock2D'] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];
/** How AttnDownBlock2D / AttnUpBlock2D resample: a convolution (Downsample2D / Upsample2D) or a ResnetBlock2D. */
export type ResampleType = 'conv' | 'resnet';
export type ClassEmbedType = 'timestep' | 'identity' | null;
export type { ActFn, TimeEmbeddingType };

export interface UNet2DConfig {
  /** Height and width of the images, or [height, width]; each divisible by 2^(levels - 1). Default 32. */
  sampleSize?: number | [number, number];
  /** Channels of the input images. Default 3. */
  inChannels?: number;
  /** Channels of the output (the prediction). Default: inChannels. */
  outChannels?: number;
  /** Map the input x to 2x - 1 first (images in [0, 1]). Default false. */
  centerInputSample?: boolean;
  /** 'positional' (sinusoidal), 'fourier' (Gaussian Fourier features of log t; the output is divided by t) or 'learned' (a table). Default 'positional'. */
  timeEmbeddingType?: TimeEmbeddingType;
  /** 'positional': [cos, sin] (true) or [sin, cos]. Default true. */
  flipSinToCos?: boolean;
  /** 'positional': frequencies 10000^(-i / (C0/2 - freqShift)). Default 0. */
  freqShift?: number;
  /** 'learned': the rows of the timestep table (required then, and only then). */
  numTrainTimesteps?: number | null;
  /** The block of each level, highest resolution first (diffusers' names). Default: from attentionResolutions. */
  downBlockTypes?: DownBlockType[];
  /** The up blocks, lowest resolution first. Default: downBlockTypes mirrored. */
  upBlockTypes?: UpBlockType[];
  /** Channels of each level, highest resolution first. Default [32, 64, 64]. */
  blockOutChannels?: number[];
  /** Resnet blocks per level on the way down (the way up has one more). Default 2. */
  layersPerBlock?: number;
  /** Shorthand for the block types: AttnDownBlock2D / AttnUpBlock2D at the levels of these sizes (square samples; each must be a level's size). Default [16] where a level is 16 pixels wide (without downBlockTypes). */
  attentionResolutions?: number[];
  /** Self-attention in the middle block (diffusers' add_attention). Default true. */
  midBlockAttention?: boolean;
  /** 1 (every side padded) or 0 (right and bottom) before the stride-2 convolutions. Default 1. */
  downsamplePadding?: 0 | 1;
  /** How a resampling AttnDownBlock2D downsamples. Default 'conv'. */
  downsampleType?: ResampleType;
  /** How a resampling AttnUpBlock2D upsamples. Default 'conv'. */
  upsampleType?: ResampleType;
  /** The middle block's resnets and attention divide their output by it. Default 1. */
  midBlockScaleFactor?: number;
  /** The resnets' activation; the time MLP and the output head keep SiLU. Default 'silu'. */
  actFn?: ActFn;
  /** Shorthand for the heads: this many at every attention (it must divide their channels). Default 4 (without attentionHeadDim). */
  numHeads?: number;
  /** Channels per head (diffusers' attention_head_dim): channels // it heads at each attention; null: one head. */
  attentionHeadDim?: number | null;
  /** Groups of every GroupNorm (the skip blocks' resnets use min(C / 4, 32)); must divide every channel count. Default 32. */
  normNumGroups?: number;
  /** Groups of the middle attention's GroupNorm; null: diffusers' default (normNumGroups under 'default', none under 'scale_shift'). Default: normNumGroups. */
  attnNormNumGroups?: number | null;
  /** Epsilon of every GroupNorm. Default 1e-5. */
  normEps?: number;
  /** 'default' adds the projected time embedding as a bias; 'scale_shift' is AdaGN. Default 'default'. */
  resnetTimeScaleShift?: 'default' | 'scale_shift';
  /** Dropout inside every resnet while training. Default 0. */
  dropout?: number;
  /** Labels of the class table (0: none); one more null label is reserved (diffusers' num_class_embeds - 1). Default 0. */
  numClassEmbeds?: number;
  /** null: the label table (numClassEmbeds); 'timestep': labels through time_proj and an MLP; 'identity': [N, 4·C0] vectors. Default null. */
  classEmbedType?: ClassEmbedType;
  /**
   * Labels per attribute (this library's; no diffusers equivalent): the number of values of each attribute, one
   * table `class_embeddings.a` of sizes[a] + 1 rows each (the last: that attribute's null value), summed into the
   * time embedding; labels are mixed-radix codes of the values (core/attribute-labels.ts), so each attribute has
   * its own label dropout and guidance composes (Liu et al. 2022). Instead of numClassEmbeds. Default: none.
   */
  classAttributes?: number[];
  /**
   * Conditioning by concatenation (this library's): the channels k of a conditioning image [N, k, H, W] given with
   * each pass (PassOptions.condition) and joined to the input before conv_in, which then reads inChannels + k.
   * Default 0 (none).
   */
  conditionChannels?: number;
}

type BaseKey = 'sampleSize' | 'inChannels' | 'outChannels' | 'blockOutChannels' | 'layersPerBlock' | 'midBlockAttention'
  | 'normNumGroups' | 'resnetTimeScaleShift' | 'dropout' | 'numClassEmbeds';
/** A config as `resolveUNetConfig` returns and model files store it. */
export type ResolvedUNet2DConfig = UNet2DConfig & Required<Pick<UNet2DConfig, BaseKey>>;

/** The base options (always stored) in their stored order; the shorthands take their places when used. */
const BASE: Record<string, unknown> = {
  sampleSize: 32, inChannels: 3, outChannels: 3, blockOutChannels: [32, 64, 64], layersPerBlock: 2, attentionResolutions: [16],
  midBlockAttention: true, numHeads: 4, normNumGroups: 32, resnetTimeScaleShift: 'default', dropout: 0, numClassEmbeds: 0,
};
/** The options that existed before diffusers' full set (the noise-aware classifier takes only these). */
export const BASE_OPTIONS: readonly string[] = Object.keys(BASE);
/** The other options and their defaults, in their stored order (stored only when they differ). */
const EXTENDED: Record<string, unknown> = {
  centerInputSample: false, timeEmbeddingType: 'positional', flipSinToCos: true, freqShift: 0, numTrainTimesteps: null,
  downBlockTypes: undefined, upBlockTypes: undefined, downsamplePadding: 1, downsampleType: 'conv', upsampleType: 'conv',
  midBlockScaleFactor: 1, actFn: 'silu', attentionHeadDim: undefined, attnNormNumGroups: undefined, normEps: 1e-5, classEmbedType: null,
  classAttributes: undefined, conditionChannels: 0,
};
const KNOWN = new Set([...Object.keys(BASE), ...Object.keys(EXTENDED)]);

const fail = (message: string): never => { throw new Error(`UNet2DModel: ${message}`); };
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.map(show).join(', ')}]` : String(v));
const isPositiveInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
const positive = (name: string, value: unknown) => { if (!isPositiveInt(value)) fail(`${name} must be a positive integer, got ${show(value)}`); };
const oneOf = (name: string, value: unknown, allowed: readonly unknown[]) => {
  if (!allowed.includes(value)) fail(`${name} must be ${allowed.map(show).join(' or ')}, got ${show(value)}`);
};

/** Fills in defaults and checks every option, with messages naming the option, the value and what is allowed. */
export function resolveUNetConfig(config: UNet2DConfig): ResolvedUNet2DConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) fail('the config must be an object of options');
  for (const key of Object.keys(config)) if (!KNOWN.has(key)) throw new Error(unknownKeyMessage('UNet2DModel', 'option', key, [...KNOWN]));
  const given = (key: keyof UNet2DConfig) => config[key] !== undefined;
  if (given('attentionResolutions') && (given('downBlockTypes') || given('upBlockTypes'))) {
    fail('give the attention levels either as attentionResolutions (a shorthand) or as downBlockTypes / upBlockTypes, not both');
  }
  if (given('numHeads') && given('attentionHeadDim')) fail('give the heads either as numHeads (a count) or as attentionHeadDim (channels per head), not both');
  if (given('upBlockTypes') && !given('downBlockTypes')) fail('upBlockTypes needs downBlockTypes (the up blocks default to the down blocks mirrored)');
  const blockForm = given('downBlockTypes'), headDimForm = given('attentionHeadDim');
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const c = { ...BASE, outChannels: config.inChannels ?? BASE.inChannels, ...EXTENDED, ...defined } as unknown as Record<string, unknown> & UNet2DConfig;

  for (const name of ['inChannels', 'outChannels', 'layersPerBlock', 'normNumGroups'] as const) positive(name, c[name]);
  const channels = c.blockOutChannels;
  if (!Array.isArray(channels) || channels.length === 0) fail('blockOutChannels must be a non-empty array of channel counts');
  channels!.forEach((ch) => positive('blockOutChannels', ch));
  const levels = channels!.length;
  const size = checkSampleSize(c.sampleSize, levels, channels!);
  for (const ch of channels!) {
    if (ch % c.normNumGroups! !== 0) fail(`normNumGroups (${c.normNumGroups}) must divide every entry of blockOutChannels [${channels!.join(', ')}]`);
  }
  oneOf('resnetTimeScaleShift', c.resnetTimeScaleShift, ['default', 'scale_shift']);
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1)) fail(`dropout must be in [0, 1), got ${show(c.dropout)}`);
  if (!Number.isInteger(c.numClassEmbeds) || c.numClassEmbeds! < 0) fail(`numClassEmbeds must be an integer >= 0, got ${show(c.numClassEmbeds)}`);
  for (const name of ['centerInputSample', 'flipSinToCos', 'midBlockAttention'] as const) oneOf(name, c[name], [true, false]);
  oneOf('timeEmbeddingType', c.timeEmbeddingType, ['positional', 'fourier', 'learned']);
  if (typeof c.freqShift !== 'number' || !Number.isFinite(c.freqShift)) fail(`freqShift must be a finite number, got ${show(c.freqShift)}`);
  if (c.timeEmbeddingType === 'positional' && c.freqShift === Math.floor(channels![0] / 2)) {
    fail(`freqShift (${c.freqShift}) must differ from blockOutChannels[0] / 2 = ${channels![0] / 2}: the exponent divides by their difference`);
  }
  if (c.timeEmbeddingType === 'learned') positive("numTrainTimesteps (the rows of the 'learned' time table)", c.numTrainTimesteps);
  else if (c.numTrainTimesteps !== null) fail(`numTrainTimesteps applies to timeEmbeddingType 'learned' only, got ${show(c.numTrainTimesteps)} with '${c.timeEmbeddingType}'`);
  oneOf('downsamplePadding', c.downsamplePadding, [1, 0]);
  oneOf('downsampleType', c.downsampleType, ['conv', 'resnet']);
  oneOf('upsampleType', c.upsampleType, ['conv', 'resnet']);
  if (!(typeof c.midBlockScaleFactor === 'number' && c.midBlockScaleFactor > 0 && Number.isFinite(c.midBlockScaleFactor))) {
    fail(`midBlockScaleFactor must be a positive number, got ${show(c.midBlockScaleFactor)}`);
  }
  oneOf('actFn', c.actFn, ACT_FNS);
  if (!(typeof c.normEps === 'number' && c.normEps > 0 && Number.isFinite(c.normEps))) fail(`normEps must be a positive number, got ${show(c.normEps)}`);
  oneOf('classEmbedType', c.classEmbedType, [null, 'timestep', 'identity']);
  if (c.classEmbedType !== null && c.numClassEmbeds !== 0) {
    fail(`numClassEmbeds (${c.numClassEmbeds}) is the label table's size; classEmbedType '${c.classEmbedType}' has no table (give numClassEmbeds 0)`);
  }

  if (!Number.isInteger(c.conditionChannels) || c.conditionChannels! < 0) fail(`conditionChannels must be an integer >= 0, got ${show(c.conditionChannels)}`);
  if (c.classAttributes !== undefined) {
    const sizes = c.classAttributes;
    if (!Array.isArray(sizes) || sizes.length === 0 || sizes.length > 8 || !sizes.every((n) => isPositiveInt(n) && n <= 1024)) {
      fail(`classAttributes must list 1 to 8 attribute sizes (integers from 1 to 1024), got ${show(sizes)}`);
    }
    if (c.numClassEmbeds !== 0 || c.classEmbedType !== null) fail('classAttributes replaces the label table: give numClassEmbeds 0 and no classEmbedType');
  }
  const blocks = blockForm ? checkBlockTypes(c.downBlockTypes, c.upBlockTypes, levels) : null;
  if (blocks) checkSkipPaths(blocks, channels!, c.inChannels!, c.outChannels!);
  const attention = blocks ? null : checkAttentionResolutions(c.attentionResolutions, size, levels, given('attentionResolutions'));
  if (headDimForm) {
    if (c.attentionHeadDim !== null && !isPositiveInt(c.attentionHeadDim)) fail(`attentionHeadDim must be a positive integer or null, got ${show(c.attentionHeadDim)}`);
  } else positive('numHeads', c.numHeads);
  for (const [where, ch] of attentionWidths(channels!, blocks, attention, size[0], c.midBlockAttention!)) {
    if (headDimForm && c.attentionHeadDim !== null && c.attentionHeadDim! > ch) fail(`attentionHeadDim (${c.attentionHeadDim}) is wider than the ${ch} channels of ${where}: it would have no head`);
    if (!headDimForm && ch % c.numHeads! !== 0) fail(`numHeads (${c.numHeads}) must divide the channels (${ch}) of ${where}`);
  }
  if (c.attnNormNumGroups !== undefined && c.attnNormNumGroups !== null) {
    positive('attnNormNumGroups', c.attnNormNumGroups);
    if (channels![levels - 1] % c.attnNormNumGroups! !== 0) fail(`attnNormNumGroups (${c.attnNormNumGroups}) must divide the middle block's ${channels![levels - 1]} channels`);
  }
  return stored(c, { size, blocks, attention, headDimForm });
}

/** The sample size as [height, width], checked against the levels. */
function checkSampleSize(value: unknown, levels: number, channels: number[]): [number, number] {
  const pair = Array.isArray(value) ? value : [value, value];
  if (pair.length !== 2 || !pair.every(isPositiveInt)) fail(`sampleSize must be a positive integer or [height, width], got ${show(value)}`);
  const factor = 2 ** (levels - 1);
  if (pair.some((s) => s % factor !== 0)) {
    fail(`sampleSize (${Array.isArray(value) ? show(value) : value}) must be divisible by ${factor} for ${levels} levels (blockOutChannels [${channels.join(', ')}])`);
  }
  return pair as [number, number];
}

function checkBlockTypes(down: unknown, up: unknown, levels: number): { down: DownBlockType[]; up: UpBlockType[] } {
  const list = (name: string, value: unknown, allowed: readonly string[]) => {
    if (!Array.isArray(value) || value.length !== levels || !value.every((v) => allowed.includes(v))) {
      fail(`${name} must list one of ${allowed.join(', ')} for each of the ${levels} levels, got ${show(value)}`);
    }
    return value as string[];
  };
  const d = list('downBlockTypes', down, DOWN_BLOCK_TYPES) as DownBlockType[];
  const u = up === undefined ? [...d].reverse().map((t) => t.replace('Down', 'Up') as UpBlockType)
    : list('upBlockTypes', up, UP_BLOCK_TYPES) as UpBlockType[];
  return { down: d, up: u };
}

/**
 * The skip blocks' attention normalises over 32 groups, and their image paths must be whole, as diffusers' forward
 * needs them: the input image reaches a
 * resampling skip block at its level's size only through skip blocks above it, it has 3 channels (skip_conv reads
 * 3), and once an up skip block has started the output image, every later up block must carry it on.
 */
function checkSkipPaths({ down, up }: { down: DownBlockType[]; up: UpBlockType[] }, channels: number[], inChannels: number, outChannels: number): void {
  const skip = (t: string) => t.includes('Skip'), last = down.length - 1;
  const attention = (t: string, list: string, index: number, ch: number) => {
    if (t.startsWith('AttnSkip') && ch % 32 !== 0) fail(`${list}[${index}] '${t}' normalises its attention over 32 groups: its ${ch} channels must be a multiple of 32`);
  };
  down.forEach((t, k) => attention(t, 'downBlockTypes', k, channels[k]));
  up.forEach((t, i) => attention(t, 'upBlockTypes', i, channels[last - i]));
  down.forEach((t, k) => {
    if (k === last || !skip(t)) return;
    if (inChannels !== 3) fail(`downBlockTypes[${k}] '${t}' convolves the 3-channel input image (its skip_conv): inChannels must be 3, got ${inChannels}`);
    const gap = down.slice(0, k).findIndex((u) => !skip(u));
    if (gap >= 0) fail(`downBlockTypes[${k}] '${t}' downsamples the input image through the levels above it, so downBlockTypes[${gap}] '${down[gap]}' must be a skip block too`);
  });
  const first = up.findIndex((t, i) => i < last && skip(t));
  if (first < 0) return;
  if (outChannels !== 3) fail(`upBlockTypes[${first}] '${up[first]}' adds a 3-channel image to the output (its skip_conv): outChannels must be 3, got ${outChannels}`);
  const gap = up.findIndex((t, i) => i > first && !skip(t));
  if (gap >= 0) fail(`upBlockTypes[${gap}] '${up[gap]}' must be a skip block: upBlockTypes[${first}] '${up[first]}' starts the output image, which every later up block carries to the output`);
}

/** The attention sizes: as given (each must be a level's size), or the default [16] where a level has that size. */
function checkAttentionResolutions(value: unknown, [height, width]: [number, number], levels: number, given: boolean): number[] {
  if (!Array.isArray(value)) fail('attentionResolutions must be an array of resolutions');
  const sizes = Array.from({ length: levels }, (_, k) => height / 2 ** k);
  const list = given ? (value as number[]) : (value as number[]).filter((r) => height === width && sizes.includes(r));
  if (list.length > 0 && height !== width) fail(`attentionResolutions needs square samples (sampleSize [${height}, ${width}]); give downBlockTypes instead`);
  for (const r of list) {
    if (!sizes.includes(r)) fail(`attentionResolutions entry ${show(r)} matches no level (the levels are ${sizes.join(', ')} pixels wide)`);
  }
  return [...list];
}

/** Where the attention layers are ('down_blocks.1.attentions', ...) and their channels. */
function attentionWidths(channels: number[], blocks: { down: DownBlockType[]; up: UpBlockType[] } | null, attention: number[] | null, height: number, mid: boolean): [string, number][] {
  const last = channels.length - 1;
  const down = channels.map((_, k) => (blocks ? blocks.down[k].startsWith('Attn') : attention!.includes(height / 2 ** k)));
  const up = channels.map((_, i) => (blocks ? blocks.up[i].startsWith('Attn') : down[last - i]));
  return [
    ...channels.flatMap((ch, k): [string, number][] => (down[k] ? [[`down_blocks.${k}.attentions`, ch]] : [])),
    ...(mid ? [['mid_block.attentions.0', channels[last]] as [string, number]] : []),
    ...channels.flatMap((_, i): [string, number][] => (up[i] ? [[`up_blocks.${i}.attentions`, channels[last - i]]] : [])),
  ];
}

/** The stored form: base options in their order (shorthands in place), then the non-default others. */
function stored(c: Record<string, unknown>, parts: { size: [number, number]; blocks: { down: DownBlockType[]; up: UpBlockType[] } | null; attention: number[] | null; headDimForm: boolean }): ResolvedUNet2DConfig {
  const { size, blocks, attention, headDimForm } = parts;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(BASE)) {
    if (key === 'attentionResolutions') { if (attention) out[key] = attention; continue; }
    if (key === 'numHeads') { if (!headDimForm) out[key] = c.numHeads; continue; }
    out[key] = key === 'sampleSize' ? (size[0] === size[1] ? size[0] : [...size]) : key === 'blockOutChannels' ? [...(c.blockOutChannels as number[])] : c[key];
  }
  for (const [key, value] of Object.entries(EXTENDED)) {
    if (key === 'downBlockTypes' || key === 'upBlockTypes') { if (blocks) out[key] = [...blocks[key === 'downBlockTypes' ? 'down' : 'up']]; continue; }
    if (key === 'attentionHeadDim') { if (headDimForm) out[key] = c.attentionHeadDim; continue; }
    if (key === 'classAttributes') { if (c.classAttributes !== undefined) out[key] = [...(c.classAttributes as number[])]; continue; }
    if (key === 'attnNormNumGroups') {
      // Absent and an explicit count equal to normNumGroups build the same block; null under 'default' too.
      const v = c.attnNormNumGroups;
      const same = v === undefined || v === c.normNumGroups || (v === null && c.resnetTimeScaleShift === 'default');
      if (!same) out[key] = v;
      continue;
    }
    if (c[key] !== value) out[key] = c[key];
  }
  return out as unknown as ResolvedUNet2DConfig;
}
