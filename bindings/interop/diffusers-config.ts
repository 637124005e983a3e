/**
 * diffusers' UNet2DModel config.json (v0.27.2's keys, snake_case) both ways: `parseDiffusersUNetConfig` /
 * `formatDiffusersUNetConfig` convert the file to and from `DiffusersUNet2DOptions`, every key of diffusers'
 * UNet2DModel in camelCase, defaults filled in as diffusers fills them (a key missing from an old file takes
 * v0.27.2's default, exactly as `UNet2DModel.from_config` does). Formatting gives the bytes diffusers'
 * save_pretrained writes. diffusers-unet.ts translates these options to and from this library's UNet2DConfig.
 *
 * Pure: no Node modules (browsers read folders through it).
 */
import {
  DOWN_BLOCK_TYPES, UP_BLOCK_TYPES, type ActFn, type ClassEmbedType, type DownBlockType, type ResampleType, type TimeEmbeddingType,
  type UpBlockType,
} from '../models/unet2d-config.ts';
import { formatPythonJson, PythonFloat, pythonFloatRepr, type PythonJson } from '../io/python-json.ts';

/** The diffusers version whose config format this module reads and writes. */
export const DIFFUSERS_VERSION = '0.27.2';

/** UNet2DModel's block types (diffusers also accepts each with a 'UNetRes' prefix, which `blockType` strips). */
export { DOWN_BLOCK_TYPES, UP_BLOCK_TYPES };
export type { ActFn, ClassEmbedType, DownBlockType, ResampleType, TimeEmbeddingType, UpBlockType };

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
