/** The configuration of UNet2DModel: diffusers' names in camelCase, each with its default and its checks. */
import { unknownKeyMessage } from '../core/names.ts';

export interface UNet2DConfig {
  /** Height and width of the images (square). Must be divisible by 2^(blocks - 1). Default 32. */
  sampleSize?: number;
  /** Channels of the input images. Default 3. */
  inChannels?: number;
  /** Channels of the output (the prediction). Default: inChannels. */
  outChannels?: number;
  /** Channels of each resolution level, highest resolution first. Default [32, 64, 64]. */
  blockOutChannels?: number[];
  /** Resnet blocks per level on the way down (the way up has one more). Default 2. */
  layersPerBlock?: number;
  /** Resolutions (in pixels) at which the down and up blocks add self-attention after each resnet. Default [16]. */
  attentionResolutions?: number[];
  /** Self-attention in the middle block (diffusers' add_attention). Default true. */
  midBlockAttention?: boolean;
  /** Attention heads; must divide the channels at every attention. Default 4. */
  numHeads?: number;
  /** Groups of every GroupNorm; must divide every channel count. Default 32. */
  normNumGroups?: number;
  /** 'default' adds the projected time embedding as a bias; 'scale_shift' is AdaGN. Default 'default'. */
  resnetTimeScaleShift?: 'default' | 'scale_shift';
  /** Dropout inside every resnet while training. Default 0. */
  dropout?: number;
  /** Number of class labels for class conditioning (0 = unconditional); one more null label is reserved. Default 0. */
  numClassEmbeds?: number;
}

const DEFAULTS: Required<UNet2DConfig> = {
  sampleSize: 32, inChannels: 3, outChannels: 3, blockOutChannels: [32, 64, 64], layersPerBlock: 2,
  attentionResolutions: [16], midBlockAttention: true, numHeads: 4, normNumGroups: 32,
  resnetTimeScaleShift: 'default', dropout: 0, numClassEmbeds: 0,
};

/** Fills in defaults and checks every option, with messages naming the option, the value and what is allowed. */
export function resolveUNetConfig(config: UNet2DConfig): Required<UNet2DConfig> {
  const known = new Set(Object.keys(DEFAULTS));
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new Error(unknownKeyMessage('UNet2DModel', 'option', key, [...known]));
  }
  const c = { ...DEFAULTS, outChannels: config.inChannels ?? DEFAULTS.inChannels, ...config } as Required<UNet2DConfig>;
  const positive = (name: keyof UNet2DConfig, value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < 1) throw new Error(`UNet2DModel: ${name} must be a positive integer, got ${String(value)}`);
  };
  for (const name of ['sampleSize', 'inChannels', 'outChannels', 'layersPerBlock', 'numHeads', 'normNumGroups'] as const) positive(name, c[name]);
  if (!Array.isArray(c.blockOutChannels) || c.blockOutChannels.length === 0) {
    throw new Error('UNet2DModel: blockOutChannels must be a non-empty array of channel counts');
  }
  c.blockOutChannels.forEach((ch) => positive('blockOutChannels', ch));
  const factor = 1 << (c.blockOutChannels.length - 1);
  if (c.sampleSize % factor !== 0) {
    throw new Error(`UNet2DModel: sampleSize (${c.sampleSize}) must be divisible by ${factor} for ${c.blockOutChannels.length} levels (blockOutChannels [${c.blockOutChannels.join(', ')}])`);
  }
  for (const ch of c.blockOutChannels) {
    if (ch % c.normNumGroups !== 0) throw new Error(`UNet2DModel: normNumGroups (${c.normNumGroups}) must divide every entry of blockOutChannels [${c.blockOutChannels.join(', ')}]`);
  }
  if (!Array.isArray(c.attentionResolutions)) throw new Error('UNet2DModel: attentionResolutions must be an array of resolutions');
  if (c.resnetTimeScaleShift !== 'default' && c.resnetTimeScaleShift !== 'scale_shift') {
    throw new Error(`UNet2DModel: resnetTimeScaleShift must be 'default' or 'scale_shift', got '${String(c.resnetTimeScaleShift)}'`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`UNet2DModel: dropout must be in [0, 1), got ${c.dropout}`);
  if (!Number.isInteger(c.numClassEmbeds) || c.numClassEmbeds < 0) throw new Error(`UNet2DModel: numClassEmbeds must be an integer >= 0, got ${c.numClassEmbeds}`);
  return { ...c, blockOutChannels: [...c.blockOutChannels], attentionResolutions: [...c.attentionResolutions] };
}
