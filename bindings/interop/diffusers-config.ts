/**
 * diffusers' UNet2DModel config.json (v0.27.2's keys, snake_case) both ways, and its translation to and from this
 * library's UNet2DConfig.
 *
 * Two steps, kept apart so that each new model option changes one place:
 * - `parseDiffusersUNetConfig` / `formatDiffusersUNetConfig`: the file <-> `DiffusersUNet2DOptions`, every key of
 *   diffusers' UNet2DModel in camelCase, defaults filled in as diffusers fills them (a key missing from an old
 *   file takes v0.27.2's default, exactly as `UNet2DModel.from_config` does). Formatting gives the bytes
 *   diffusers' save_pretrained writes.
 * - `unetConfigFromDiffusers` / `unetConfigToDiffusers`: those options <-> UNet2DConfig. What this library cannot
 *   build yet fails with one line naming every such option and its value. Attention is placed by block types in
 *   diffusers and by `attentionResolutions` here; diffusers' `attention_head_dim` (channels per head, None = one
 *   head) becomes `numHeads` when every attention has the same head count; and this library's numClassEmbeds is
 *   diffusers' num_class_embeds - 1 (the last row of the table is the null label of classifier-free guidance).
 *
 * Pure: no Node modules (browsers read folders through it).
 */
import { resolveUNetConfig, type UNet2DConfig } from '../models/unet2d-config.ts';
import { formatPythonJson, PythonFloat, pythonFloatRepr, type PythonJson } from '../io/python-json.ts';

/** The diffusers version whose config format this module reads and writes. */
export const DIFFUSERS_VERSION = '0.27.2';

export const DOWN_BLOCK_TYPES = ['DownBlock2D', 'AttnDownBlock2D', 'ResnetDownsampleBlock2D', 'SkipDownBlock2D', 'AttnSkipDownBlock2D'] as const;
export const UP_BLOCK_TYPES = ['UpBlock2D', 'AttnUpBlock2D', 'ResnetUpsampleBlock2D', 'SkipUpBlock2D', 'AttnSkipUpBlock2D'] as const;
/** UNet2DModel's down blocks; diffusers also accepts each with a 'UNetRes' prefix (stripped). */
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];
/** diffusers' get_activation names ('swish' is 'silu'). */
export type ActFn = 'silu' | 'swish' | 'mish' | 'gelu' | 'relu';
export type TimeEmbeddingType = 'positional' | 'fourier' | 'learned';
export type ClassEmbedType = 'timestep' | 'identity' | null;
/** How AttnDownBlock2D / AttnUpBlock2D resample: a stride-2 (or 2x nearest + 3x3) convolution, or a ResnetBlock2D. */
export type ResampleType = 'conv' | 'resnet';

/**
 * Every option of diffusers' UNet2DModel (v0.27.2) in camelCase, as diffusers means it; defaults are diffusers'.
 * `timeEmbeddingDim` and `midBlockType` are keys newer diffusers versions added (0.32, 0.33); they are read at
 * their neutral values and never written.
 */
export interface DiffusersUNet2DOptions {
  /** Height and width, or [height, width]; null (diffusers' default) leaves it unknown. */
  sampleSize: number | [number, number] | null;
  /** Default 3. */
  inChannels: number;
  /** Default 3. */
  outChannels: number;
  /** Map the input x to 2x - 1 before conv_in. Default false. */
  centerInputSample: boolean;
  /**
   * 'positional': sinusoidal of t (flipSinToCos, freqShift); 'fourier': GaussianFourierProjection of log t with
   * learned frequencies `time_proj.weight` (= `time_proj.W`), [sin, cos], and the output divided by t at the end;
   * 'learned': an nn.Embedding(numTrainTimesteps, C0) table `time_proj.weight`. Default 'positional'.
   */
  timeEmbeddingType: TimeEmbeddingType;
  /** Frequencies exp(-ln(10000) i / (C0/2 - freqShift)). Default 0. */
  freqShift: number;
  /** true: [cos, sin]; false: [sin, cos]. Default true. */
  flipSinToCos: boolean;
  /** One per level, as written in the file (a 'UNetRes' prefix is kept here; `blockType` strips it). */
  downBlockTypes: string[];
  /** One per level, lowest resolution first. */
  upBlockTypes: string[];
  /** Default [224, 448, 672, 896]. */
  blockOutChannels: number[];
  /** Resnets per down block (up blocks have one more). Default 2. */
  layersPerBlock: number;
  /** The middle block's resnets and attention divide their output (residual included) by it. Default 1. */
  midBlockScaleFactor: number;
  /** 1: pad every side by 1; 0: pad right and bottom by 1; then the 3x3 stride-2 conv. Default 1. */
  downsamplePadding: number;
  /** How a resampling AttnDownBlock2D downsamples (DownBlock2D ignores it). Default 'conv'. */
  downsampleType: ResampleType;
  /** How a resampling AttnUpBlock2D upsamples (UpBlock2D ignores it). Default 'conv'. */
  upsampleType: ResampleType;
  /** Dropout in every resnet while training. Default 0. */
  dropout: number;
  /** The resnets' activation (after norm1, on temb, after norm2); the time MLP and conv_out keep SiLU. Default 'silu'. */
  actFn: ActFn;
  /** Channels per head: heads = channels // attentionHeadDim at each attention; null: one head. Default 8. */
  attentionHeadDim: number | null;
  /** Groups of the GroupNorms (the Skip blocks use min(C // 4, 32) instead). Default 32. */
  normNumGroups: number;
  /** Groups of the middle attention's GroupNorm; null: normNumGroups under 'default', no GroupNorm under 'scale_shift'. Default null. */
  attnNormNumGroups: number | null;
  /** Epsilon of every GroupNorm. Default 1e-5. */
  normEps: number;
  /** 'default': temb added as a bias before norm2; 'scale_shift': norm2(h) (1 + scale) + shift. Default 'default'. */
  resnetTimeScaleShift: 'default' | 'scale_shift';
  /** Attention in the middle block. Default true. */
  addAttention: boolean;
  /** null: a table of numClassEmbeds rows (if set); 'timestep': labels through time_proj and their own MLP; 'identity': [N, 4 C0] vectors added as they are. Default null. */
  classEmbedType: ClassEmbedType;
  /** Rows of the class table (class_embed_type null). Default null (no table). */
  numClassEmbeds: number | null;
  /** Rows of the 'learned' time table. Default null. */
  numTrainTimesteps: number | null;
  /** Newer diffusers: the time embedding's width; null is 4 x blockOutChannels[0]. */
  timeEmbeddingDim: number | null;
  /** Newer diffusers: null removes the middle block. */
  midBlockType: 'UNetMidBlock2D' | null;
}

type Check = (value: unknown) => string | null;

/** One config key: its diffusers name, default, check (a message when invalid) and whether Python holds a float. */
interface Key { name: keyof DiffusersUNet2DOptions; json: string; value: unknown; check: Check; float?: boolean; newer?: boolean }

const isInt = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
const int = (min: number): Check => (v) => (isInt(v, min) ? null : `an integer >= ${min}`);
const nullable = (check: Check): Check => (v) => (v === null ? null : check(v) && `${check(v)} or null`);
const num: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'a number');
const positive: Check = (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? null : 'a positive number');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'true or false');
const oneOf = (...allowed: unknown[]): Check => (v) => (allowed.includes(v) ? null : `one of ${allowed.map(show).join(', ')}`);
const list = (item: (v: unknown) => boolean, what: string): Check => (v) => (Array.isArray(v) && v.length > 0 && v.every(item) ? null : `a non-empty list of ${what}`);
const blockList = (types: readonly string[]): Check => list((v) => typeof v === 'string' && types.includes(stripPrefix(v)), `block types (${types.join(', ')})`);
const sampleSize: Check = (v) => (v === null || isInt(v, 1) || (Array.isArray(v) && v.length === 2 && v.every((x) => isInt(x, 1))) ? null : 'an integer >= 1, [height, width] or null');

const KEYS: Key[] = [
  { name: 'sampleSize', json: 'sample_size', value: null, check: sampleSize },
  { name: 'inChannels', json: 'in_channels', value: 3, check: int(1) },
  { name: 'outChannels', json: 'out_channels', value: 3, check: int(1) },
  { name: 'centerInputSample', json: 'center_input_sample', value: false, check: bool },
  { name: 'timeEmbeddingType', json: 'time_embedding_type', value: 'positional', check: oneOf('positional', 'fourier', 'learned') },
  { name: 'freqShift', json: 'freq_shift', value: 0, check: num },
  { name: 'flipSinToCos', json: 'flip_sin_to_cos', value: true, check: bool },
  { name: 'downBlockTypes', json: 'down_block_types', value: ['DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'], check: blockList(DOWN_BLOCK_TYPES) },
  { name: 'upBlockTypes', json: 'up_block_types', value: ['AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'], check: blockList(UP_BLOCK_TYPES) },
  { name: 'blockOutChannels', json: 'block_out_channels', value: [224, 448, 672, 896], check: list((v) => isInt(v, 1), 'positive channel counts') },
  { name: 'layersPerBlock', json: 'layers_per_block', value: 2, check: int(1) },
  { name: 'midBlockScaleFactor', json: 'mid_block_scale_factor', value: 1, check: positive },
  { name: 'downsamplePadding', json: 'downsample_padding', value: 1, check: int(0) },
  { name: 'downsampleType', json: 'downsample_type', value: 'conv', check: oneOf('conv', 'resnet') },
  { name: 'upsampleType', json: 'upsample_type', value: 'conv', check: oneOf('conv', 'resnet') },
  { name: 'dropout', json: 'dropout', value: 0, check: (v) => (typeof v === 'number' && v >= 0 && v < 1 ? null : 'a number in [0, 1)'), float: true },
  { name: 'actFn', json: 'act_fn', value: 'silu', check: oneOf('silu', 'swish', 'mish', 'gelu', 'relu') },
  { name: 'attentionHeadDim', json: 'attention_head_dim', value: 8, check: nullable(int(1)) },
  { name: 'normNumGroups', json: 'norm_num_groups', value: 32, check: int(1) },
  { name: 'attnNormNumGroups', json: 'attn_norm_num_groups', value: null, check: nullable(int(1)) },
  { name: 'normEps', json: 'norm_eps', value: 1e-5, check: positive, float: true },
  { name: 'resnetTimeScaleShift', json: 'resnet_time_scale_shift', value: 'default', check: oneOf('default', 'scale_shift') },
  { name: 'addAttention', json: 'add_attention', value: true, check: bool },
  { name: 'classEmbedType', json: 'class_embed_type', value: null, check: oneOf(null, 'timestep', 'identity') },
  { name: 'numClassEmbeds', json: 'num_class_embeds', value: null, check: nullable(int(1)) },
  { name: 'numTrainTimesteps', json: 'num_train_timesteps', value: null, check: nullable(int(1)) },
  { name: 'timeEmbeddingDim', json: 'time_embedding_dim', value: null, check: nullable(int(1)), newer: true },
  { name: 'midBlockType', json: 'mid_block_type', value: 'UNetMidBlock2D', check: oneOf('UNetMidBlock2D', null), newer: true },
];

/** diffusers' default options (UNet2DModel() with no arguments). */
export function defaultDiffusersUNetOptions(): DiffusersUNet2DOptions {
  return Object.fromEntries(KEYS.map((k) => [k.name, structuredClone(k.value)])) as unknown as DiffusersUNet2DOptions;
}

/** A block type without diffusers' optional 'UNetRes' prefix. */
export function blockType(name: string): string {
  return stripPrefix(name);
}

/**
 * Reads a UNet2DModel config.json (its text or the parsed object): checks every key, fills the missing ones with
 * diffusers' defaults. Keys starting with '_' (_class_name, _diffusers_version, _name_or_path) are metadata.
 * Errors name `source` (default 'unet/config.json'), the key and the value.
 */
export function parseDiffusersUNetConfig(config: string | object, source = 'unet/config.json'): DiffusersUNet2DOptions {
  const raw = typeof config === 'string' ? parseJson(config, source) : config;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: the config must be a JSON object`);
  const record = raw as Record<string, unknown>;
  const className = record._class_name;
  if (className !== undefined && className !== 'UNet2DModel') {
    throw new Error(`${source} describes a ${show(className)}; this library reads UNet2DModel configs only`);
  }
  const known = new Map(KEYS.map((k) => [k.json, k]));
  for (const key of Object.keys(record)) {
    if (!key.startsWith('_') && !known.has(key)) {
      throw new Error(`${source}: unknown option '${key}' (diffusers ${DIFFUSERS_VERSION}'s UNet2DModel options are ${KEYS.filter((k) => !k.newer).map((k) => k.json).join(', ')})`);
    }
  }
  const options = defaultDiffusersUNetOptions() as unknown as Record<string, unknown>;
  for (const k of KEYS) {
    if (!(k.json in record)) continue;
    const value = record[k.json];
    const problem = k.check(value);
    if (problem !== null) throw new Error(`${source}: ${k.json} must be ${problem}, got ${show(value)}`);
    options[k.name] = structuredClone(value);
  }
  const o = options as unknown as DiffusersUNet2DOptions;
  const levels = o.blockOutChannels.length;
  for (const key of ['down_block_types', 'up_block_types'] as const) {
    const types = key === 'down_block_types' ? o.downBlockTypes : o.upBlockTypes;
    if (types.length !== levels) {
      throw new Error(`${source}: ${key} has ${types.length} entries but block_out_channels ${show(o.blockOutChannels)} has ${levels} (diffusers requires one block per level)`);
    }
  }
  return o;
}

/** The config.json text diffusers' save_pretrained writes for these options (v0.27.2's keys; newer keys omitted). */
export function formatDiffusersUNetConfig(options: DiffusersUNet2DOptions): string {
  const out: Record<string, PythonJson> = { _class_name: 'UNet2DModel', _diffusers_version: DIFFUSERS_VERSION };
  for (const k of KEYS) {
    const value = options[k.name];
    if (k.newer) {
      if (value !== k.value && !(k.name === 'timeEmbeddingDim' && value === options.blockOutChannels[0] * 4)) {
        throw new Error(`unet/config.json: ${k.json} ${show(value)} has no equivalent in diffusers ${DIFFUSERS_VERSION}'s format`);
      }
      continue;
    }
    const problem = k.check(value);
    if (problem !== null) throw new Error(`unet/config.json: ${k.json} must be ${problem}, got ${show(value)}`);
    out[k.json] = k.float ? new PythonFloat(value as number) : pythonValue(value);
  }
  return formatPythonJson(out);
}

/** Shown in messages as it reads in the file (Python's float form). */
export function show(value: unknown): string {
  if (typeof value === 'number' && !Number.isInteger(value)) return pythonFloatRepr(value);
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid JSON (${(error as Error).message})`);
  }
}

/** Non-integral numbers become Python floats; integers stay ints (as a Python int default would be written). */
function pythonValue(value: unknown): PythonJson {
  if (typeof value === 'number') return Number.isInteger(value) ? value : new PythonFloat(value);
  if (Array.isArray(value)) return value.map(pythonValue);
  return value as PythonJson;
}

function stripPrefix(name: string): string {
  return name.startsWith('UNetRes') ? name.slice(7) : name;
}

// ---------------------------------------------------------------- this library's UNet2DConfig

/**
 * This library's UNet2DConfig (every option filled in) for a diffusers UNet2DModel config. Throws one line that
 * names every option this library cannot build yet, with its value, e.g.
 * "unet/config.json: this library cannot build this UNet2DModel yet: downsample_padding 0 (...); norm_eps 1e-06 (...)".
 */
export function unetConfigFromDiffusers(options: DiffusersUNet2DOptions, source = 'unet/config.json'): Required<UNet2DConfig> {
  const o = options;
  const problems: string[] = [];
  const no = (key: string, value: unknown, why: string) => { problems.push(`${key} ${show(value)} (${why})`); };
  const levels = o.blockOutChannels.length, last = levels - 1;
  const down = o.downBlockTypes.map(blockType), up = o.upBlockTypes.map(blockType);

  let size = 0;
  if (o.sampleSize === null) no('sample_size', null, 'this library needs the image size');
  else if (Array.isArray(o.sampleSize) && o.sampleSize[0] !== o.sampleSize[1]) no('sample_size', o.sampleSize, 'samples are square');
  else size = Array.isArray(o.sampleSize) ? o.sampleSize[0] : o.sampleSize;
  if (o.centerInputSample) no('center_input_sample', true, 'inputs are used as they are, not as 2x - 1');
  if (o.timeEmbeddingType !== 'positional') no('time_embedding_type', o.timeEmbeddingType, 'timesteps have the sinusoidal embedding');
  else {
    if (!o.flipSinToCos) no('flip_sin_to_cos', false, 'the embedding is [cos, sin]');
    if (o.freqShift !== 0) no('freq_shift', o.freqShift, 'frequencies are 10000^(-i / half)');
  }
  if (o.timeEmbeddingDim !== null && o.timeEmbeddingDim !== 4 * o.blockOutChannels[0]) no('time_embedding_dim', o.timeEmbeddingDim, 'it is 4 x block_out_channels[0]');
  if (o.midBlockType === null) no('mid_block_type', null, 'the middle block is always there');

  // Attention per level: AttnDownBlock2D at level k, mirrored by AttnUpBlock2D at up index levels - 1 - k.
  const attention = o.blockOutChannels.map((_, k) => {
    const d = down[k], u = up[last - k];
    const downOk = d === 'DownBlock2D' || d === 'AttnDownBlock2D', upOk = u === 'UpBlock2D' || u === 'AttnUpBlock2D';
    if (!downOk) no(`down_block_types[${k}]`, o.downBlockTypes[k], 'blocks are DownBlock2D or AttnDownBlock2D');
    if (!upOk) no(`up_block_types[${last - k}]`, o.upBlockTypes[last - k], 'blocks are UpBlock2D or AttnUpBlock2D');
    if (downOk && upOk && (d === 'AttnDownBlock2D') !== (u === 'AttnUpBlock2D')) {
      no(`up_block_types[${last - k}]`, o.upBlockTypes[last - k], `attention mirrors down_block_types[${k}] ${show(o.downBlockTypes[k])}`);
    }
    return d === 'AttnDownBlock2D';
  });
  // downsample_type / upsample_type only change AttnDownBlock2D / AttnUpBlock2D that resample (not the last).
  if (o.downsampleType === 'resnet' && down.some((d, k) => k < last && d === 'AttnDownBlock2D')) no('downsample_type', 'resnet', 'AttnDownBlock2D downsamples with a convolution');
  if (o.upsampleType === 'resnet' && up.some((u, i) => i < last && u === 'AttnUpBlock2D')) no('upsample_type', 'resnet', 'AttnUpBlock2D upsamples with a convolution');
  const convDown = down.some((d, k) => k < last && (d === 'DownBlock2D' || (d === 'AttnDownBlock2D' && o.downsampleType === 'conv')));
  if (o.downsamplePadding !== 1 && convDown) no('downsample_padding', o.downsamplePadding, 'stride-2 convolutions pad 1 on every side');
  if (o.midBlockScaleFactor !== 1) no('mid_block_scale_factor', o.midBlockScaleFactor, 'the middle block does not rescale');
  if (o.actFn !== 'silu' && o.actFn !== 'swish') no('act_fn', o.actFn, 'resnets use SiLU');
  if (o.normEps !== 1e-5) no('norm_eps', o.normEps, 'GroupNorm epsilon is 1e-05');

  const attentionChannels = [...o.blockOutChannels.filter((_, k) => attention[k]), ...(o.addAttention ? [o.blockOutChannels[last]] : [])];
  let numHeads: number | undefined;
  if (attentionChannels.length > 0 && o.attentionHeadDim === null) numHeads = 1;
  else if (attentionChannels.length > 0) {
    const d = o.attentionHeadDim!;
    const uneven = attentionChannels.find((c) => c % d !== 0);
    const heads = [...new Set(attentionChannels.map((c) => c / d))];
    if (uneven !== undefined) no('attention_head_dim', d, `it does not divide the ${uneven} channels of an attention, which diffusers then reduces to ${Math.floor(uneven / d) * d}`);
    else if (heads.length > 1) no('attention_head_dim', d, `${heads.join(', ')} heads at ${[...new Set(attentionChannels)].join(', ')} channels; this library has one head count, numHeads`);
    else numHeads = heads[0];
  }
  if (o.addAttention) {
    const groups = o.attnNormNumGroups ?? (o.resnetTimeScaleShift === 'default' ? o.normNumGroups : null);
    if (groups === null) no('attn_norm_num_groups', null, "with resnet_time_scale_shift 'scale_shift' the middle attention has no GroupNorm; here it always has one");
    else if (groups !== o.normNumGroups) no('attn_norm_num_groups', groups, `the middle attention normalises with norm_num_groups, ${o.normNumGroups}`);
  }
  if (o.classEmbedType !== null) no('class_embed_type', o.classEmbedType, 'class labels index a table (class_embed_type None)');
  else if (o.numClassEmbeds === 1) no('num_class_embeds', 1, 'a table of one row holds only the null label');
  if (problems.length > 0) throw new Error(`${source}: this library cannot build this UNet2DModel yet: ${problems.join('; ')}`);

  const config: UNet2DConfig = {
    sampleSize: size, inChannels: o.inChannels, outChannels: o.outChannels, blockOutChannels: [...o.blockOutChannels],
    layersPerBlock: o.layersPerBlock, attentionResolutions: attention.flatMap((a, k) => (a ? [size / 2 ** k] : [])),
    midBlockAttention: o.addAttention, normNumGroups: o.normNumGroups, resnetTimeScaleShift: o.resnetTimeScaleShift,
    dropout: o.dropout, numClassEmbeds: o.numClassEmbeds === null || o.classEmbedType !== null ? 0 : o.numClassEmbeds - 1,
    ...(numHeads === undefined ? {} : { numHeads }),
  };
  try {
    return resolveUNetConfig(config);
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
}

/**
 * The diffusers options of this library's UNet2DConfig: every key written explicitly, so that diffusers'
 * `UNet2DModel.from_config` builds the same network. Throws when the config has no diffusers equivalent (an
 * attentionResolutions entry that matches no level; several head sizes under one numHeads).
 */
export function unetConfigToDiffusers(config: UNet2DConfig): DiffusersUNet2DOptions {
  const c = resolveUNetConfig(config);
  const channels = c.blockOutChannels, last = channels.length - 1;
  const resolutions = channels.map((_, k) => c.sampleSize / 2 ** k);
  for (const r of c.attentionResolutions) {
    if (!resolutions.includes(r)) {
      throw new Error(`UNet2DModel: attentionResolutions entry ${show(r)} matches no level (the levels are ${resolutions.join(', ')} pixels wide)`);
    }
  }
  const attention = resolutions.map((r) => c.attentionResolutions.includes(r));
  const attentionChannels = [...new Set([...channels.filter((_, k) => attention[k]), ...(c.midBlockAttention ? [channels[last]] : [])])];
  let attentionHeadDim: number | null = 8; // diffusers' default: no attention layer reads it
  if (attentionChannels.length > 0 && c.numHeads === 1) attentionHeadDim = null;
  else if (attentionChannels.length > 1) {
    throw new Error(`UNet2DModel: numHeads ${c.numHeads} over attention layers of ${attentionChannels.join(' and ')} channels has no diffusers equivalent (attention_head_dim sets the channels per head); use numHeads 1 or attention at one width`);
  } else if (attentionChannels.length === 1) attentionHeadDim = attentionChannels[0] / c.numHeads;
  return {
    ...defaultDiffusersUNetOptions(),
    sampleSize: c.sampleSize, inChannels: c.inChannels, outChannels: c.outChannels,
    downBlockTypes: attention.map((a) => (a ? 'AttnDownBlock2D' : 'DownBlock2D')),
    upBlockTypes: [...attention].reverse().map((a) => (a ? 'AttnUpBlock2D' : 'UpBlock2D')),
    blockOutChannels: [...channels], layersPerBlock: c.layersPerBlock, dropout: c.dropout, attentionHeadDim,
    normNumGroups: c.normNumGroups, normEps: 1e-5, resnetTimeScaleShift: c.resnetTimeScaleShift,
    // diffusers drops the middle attention's GroupNorm under scale_shift unless attn_norm_num_groups is set.
    attnNormNumGroups: c.resnetTimeScaleShift === 'scale_shift' ? c.normNumGroups : null,
    addAttention: c.midBlockAttention, numClassEmbeds: c.numClassEmbeds > 0 ? c.numClassEmbeds + 1 : null,
  };
}
