/**
 * The editing flags of `ddpm sample`: --init (a picture to start from), --strength (img2img / SDEdit: how far it
 * is noised first), --mask (RePaint inpainting: white keeps a pixel, black is painted, as in diffusers'
 * RePaintPipeline and RePaint's own code), --jump-length and --jump-n-sample (RePaint's resampling). Checked
 * together, before anything runs; each mistake is one line naming the flag, the value and what is allowed.
 */
import { InvalidArgumentError } from 'commander';
import type { ModelMetadata } from '../bindings/index.ts';
import { readInitImage, readMask } from './edit-images.ts';
import { fail } from './errors.ts';
import type { EditRequest, SamplerName } from './generate.ts';

/** img2img's default strength (diffusers' StableDiffusionImg2ImgPipeline's). */
export const DEFAULT_STRENGTH = 0.8;

/**
 * Inpainting's defaults: 50 steps with jumps of 5 steps passed 3 times (RePaint's paper takes 250 steps with
 * jumps of 10 x 10, about 4,500 model evaluations; these take 140), and eta 1: RePaint is DDPM sampling, the
 * noise of the posterior at every step (diffusers' RePaintScheduler defaults to eta 0).
 */
export const INPAINT_DEFAULTS = { steps: 50, jumpLength: 5, jumpNSample: 3, eta: 1 } as const;

export interface EditFlags {
  init?: string;
  strength?: number;
  mask?: string;
  jumpLength?: number;
  jumpNSample?: number;
  sampler?: SamplerName;
  eta?: number;
}

/** --strength: a number in (0, 1]. */
export function strengthArgument(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1)) throw new InvalidArgumentError('Expected a number in (0, 1]: how far --init is noised (1 = from noise).');
  return n;
}

/**
 * Checks the editing flags against each other and the model, and reads the pictures: the edit to make, or
 * undefined without --init. `samplerGiven`: whether --sampler was on the command line (inpainting has its own).
 */
export async function readEdit(flags: EditFlags, data: ModelMetadata['data'], samplerGiven: boolean): Promise<EditRequest | undefined> {
  if (flags.init === undefined) {
    for (const flag of ['strength', 'mask', 'jumpLength', 'jumpNSample'] as const) {
      if (flags[flag] !== undefined) fail(`--${kebab(flag)} edits a picture: give it with --init <picture>`);
    }
    return undefined;
  }
  if (flags.mask === undefined) {
    for (const flag of ['jumpLength', 'jumpNSample'] as const) {
      if (flags[flag] !== undefined) fail(`--${kebab(flag)} is an option of inpainting: give a --mask (white keeps a pixel, black is painted)`);
    }
    return { image: await readInitImage('--init', flags.init, data), strength: flags.strength ?? DEFAULT_STRENGTH };
  }
  if (flags.strength !== undefined) fail(`--strength ${flags.strength}: inpainting (--mask) runs RePaint's whole schedule; --strength is for img2img (--init without --mask)`);
  if (samplerGiven) fail(`--sampler ${flags.sampler}: inpainting (--mask) samples with RePaint (DDPM steps with resampling jumps); leave --sampler out`);
  const [image, mask] = [await readInitImage('--init', flags.init, data), await readMask('--mask', flags.mask, data)];
  return {
    image, mask,
    jumpLength: flags.jumpLength ?? INPAINT_DEFAULTS.jumpLength, jumpNSample: flags.jumpNSample ?? INPAINT_DEFAULTS.jumpNSample,
  };
}

/** How the run is named in the summary line. */
export function editName(edit: EditRequest | undefined, sampler: string): string {
  if (!edit) return sampler;
  if (edit.mask) return `RePaint (jumps ${edit.jumpLength} x ${edit.jumpNSample})`;
  return `${sampler} img2img, strength ${edit.strength}`;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
