/**
 * The models the command builds and the ones the package ships.
 *
 * - 2-D data: MLPDenoiser with its defaults (3 residual blocks of width 128).
 * - Images: a U-Net preset by image size: one resnet per level, the image halved until the lowest resolution is at
 *   most 8 (or odd), self-attention there with 4 heads, GroupNorm of 8 groups, AdaGN ('scale_shift'). `ddpm train`
 *   passes its channel list (train-defaults.ts: 16, 32, 64 for the digits; or --channels), and groups and heads
 *   shrink to divide it; without one (the noise-aware classifier), [32, 64, 64] for 28x28 digits.
 * - Shipped models: names of files in the package's models/ folder (resolved from the package, not from the working
 *   folder).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassifierConfig, MLPDenoiserConfig, UNet2DConfig } from '../bindings/index.ts';
import { fail } from './errors.ts';
import { packageRoot, shown } from './options.ts';

/** Models shipped with the package, by the name `ddpm sample --model NAME` accepts. */
export const SHIPPED_MODELS: Readonly<Record<string, string>> = {
  mnist: 'models/mnist.safetensors',
  'colored-mnist': 'models/colored-mnist.safetensors',
  'colored-mnist-attributes': 'models/colored-mnist-attributes.safetensors',
  colorize: 'models/colorize.safetensors',
  superres: 'models/superres.safetensors',
  'mnist-4step': 'models/mnist-4step.safetensors',
  'colored-mnist-4step': 'models/colored-mnist-4step.safetensors',
};

/** Channels per U-Net level, highest resolution first, before truncation to the levels an image size allows. */
const PRESET_CHANNELS = [32, 64, 64, 128, 128];

/** The MLP for 2-D points. */
export function mlpPreset(): MLPDenoiserConfig {
  return { dataDim: 2 };
}

/** What the U-Net preset adds for the training options: a learned variance, a conditioning image, labels per attribute. */
export interface PresetExtras {
  /** 2 · inChannels for a model that predicts its variance. Default: inChannels. */
  outChannels?: number;
  /** Channels of a conditioning image joined to the input. Default: none. */
  conditionChannels?: number;
  /** Labels per attribute (instead of numClasses). */
  classAttributes?: number[];
}

/** The U-Net for images of side `imageSize` with `inChannels` channels and `numClasses` labels (0: unconditional). */
export function unetPreset(imageSize: number, inChannels: number, numClasses: number, channels?: readonly number[], extras: PresetExtras = {}): UNet2DConfig {
  const blockOutChannels = channels ? [...channels] : PRESET_CHANNELS.slice(0, presetLevels(imageSize));
  const lowest = imageSize / 2 ** (blockOutChannels.length - 1);
  if (!Number.isInteger(lowest)) {
    fail(`--channels ${blockOutChannels.join(',')}: ${blockOutChannels.length} levels halve the image ${blockOutChannels.length - 1} times, ` +
      `but --image-size ${imageSize} is not divisible by ${2 ** (blockOutChannels.length - 1)}; use fewer levels`);
  }
  const last = blockOutChannels[blockOutChannels.length - 1];
  return {
    sampleSize: imageSize, inChannels, blockOutChannels, layersPerBlock: 1, attentionResolutions: [lowest],
    numHeads: largestDivisor(4, [last]), normNumGroups: largestDivisor(8, blockOutChannels),
    resnetTimeScaleShift: 'scale_shift', numClassEmbeds: numClasses,
    ...(extras.outChannels !== undefined && extras.outChannels !== inChannels && { outChannels: extras.outChannels }),
    ...(extras.conditionChannels && { conditionChannels: extras.conditionChannels }),
    ...(extras.classAttributes && { classAttributes: extras.classAttributes }),
  };
}

/** The noise-aware classifier for classifier guidance: the U-Net preset's encoder with a pooling head. */
export function classifierPreset(imageSize: number, inChannels: number, numClasses: number, channels?: readonly number[]): ClassifierConfig {
  const { numClassEmbeds: _unused, ...unet } = unetPreset(imageSize, inChannels, 0, channels);
  return { ...unet, numClasses };
}

/** Levels for an image side: halve while the side is above 8 and even (28 -> 14 -> 7: 3 levels), at most 5. */
export function presetLevels(imageSize: number): number {
  let levels = 1;
  for (let side = imageSize; side > 8 && side % 2 === 0 && levels < PRESET_CHANNELS.length; side /= 2) levels++;
  return levels;
}

/** The largest d <= limit that divides every value. */
function largestDivisor(limit: number, values: readonly number[]): number {
  for (let d = limit; d > 1; d--) if (values.every((v) => v % d === 0)) return d;
  return 1;
}

/**
 * The file a `--model` value names: a shipped model's name (resolved in the package) or a path. A shipped model
 * missing from the package (a partial copy) is reported as such, not as a missing path. `flag` ('--model', or ''
 * for an argument) starts the message.
 */
export function resolveModelFile(value: string, flag: string): string {
  const shipped = SHIPPED_MODELS[value];
  if (shipped === undefined || existsSync(value)) return value;
  const path = join(packageRoot(), shipped);
  if (!existsSync(path)) {
    fail(`${flag ? `${flag} ` : ''}${value}: the shipped model '${value}' is missing (${shown(path)} is not there); reinstall ` +
      "ddpm-wasm, or make it with the README's commands (The shipped models) and pass --model with its path");
  }
  return path;
}
