/**
 * What img2img and inpainting need beyond sampling, loaded by the pipeline only for a call that edits: which of
 * their options go together (`checkEditing`), where an img2img run starts (diffusers' get_timesteps of
 * StableDiffusionImg2ImgPipeline), and the checked, batch-sized copies of the image and the mask (diffusers'
 * RePaintPipeline binarises the mask at 0.5). Images and masks are copied byte for byte, never computed on: the
 * mask's 0 and 1 are exact, so the masked blend in RePaintScheduler.step has the same bits everywhere.
 */
import { countNonFinite } from '../ops/elementwise.ts';
import { fmt, tensorArg } from '../ops/check.ts';
import { Tensor } from '../tensor.ts';
import type { EditingCheck } from './options.ts';
import { isRePaint, isScoreSde } from './scheduler-kinds.ts';

/**
 * Where img2img starts (diffusers' get_timesteps): init = min(floor(n · strength), n) steps run, from entry
 * `begin` = order · (n - init) of the scheduler's timesteps. `strength` in (0, 1] (checked by the caller); fewer
 * than one step is an error naming strength and n.
 */
export function img2imgStart(name: string, numInferenceSteps: number, strength: number, order: number): { begin: number; steps: number } {
  const init = Math.min(Math.floor(numInferenceSteps * strength), numInferenceSteps);
  if (init < 1) {
    throw new Error(`${name}: strength ${strength} of numInferenceSteps ${numInferenceSteps} runs no step (floor(${numInferenceSteps} · ${strength}) = 0): ` +
      `raise strength to at least ${1 / numInferenceSteps} or numInferenceSteps to at least ${Math.ceil(1 / strength)}`);
  }
  return { begin: order * (numInferenceSteps - init), steps: init };
}

/** Checks an image for img2img or inpainting: [batchSize or 1, ...sampleShape], every value finite. */
export function checkEditImage(name: string, key: string, image: unknown, batchSize: number, sampleShape: readonly number[]): void {
  const shape = tensorArg(name, key, image);
  const fits = shape.length === sampleShape.length + 1 && (shape[0] === batchSize || shape[0] === 1) &&
    sampleShape.every((d, i) => shape[i + 1] === d);
  if (!fits) throw new Error(`${name}: ${key} must be [${batchSize} or 1, ${sampleShape.join(', ')}] (the model's samples), got ${fmt(shape)}`);
  const bad = countNonFinite(image as Tensor);
  if (bad > 0) throw new Error(`${name}: ${key} has ${bad} values that are NaN or infinite`);
}

/** Checks a mask: [batchSize or 1, 1 or C, ...] for samples [C, ...], every value finite. */
export function checkMaskImage(name: string, mask: unknown, batchSize: number, sampleShape: readonly number[]): void {
  const shape = tensorArg(name, 'maskImage', mask);
  const fits = shape.length === sampleShape.length + 1 && (shape[0] === batchSize || shape[0] === 1) &&
    (shape[1] === sampleShape[0] || shape[1] === 1) && sampleShape.slice(1).every((d, i) => shape[i + 2] === d);
  if (!fits) {
    throw new Error(`${name}: maskImage must be [${batchSize} or 1, 1 or ${sampleShape[0]}, ${sampleShape.slice(1).join(', ')}] ` +
      `(1 keeps a pixel, 0 paints it), got ${fmt(shape)}`);
  }
  const bad = countNonFinite(mask as Tensor);
  if (bad > 0) throw new Error(`${name}: maskImage has ${bad} values that are NaN or infinite`);
}

/** A checked image as [batchSize, ...sampleShape]: a copy, one image repeated when one was given. */
export function batchImage(image: Tensor, batchSize: number): Tensor {
  const out = new Tensor([batchSize, ...image.shape.slice(1)]);
  // Views after the allocation, which may grow (and so detach) the memory.
  const values = image.view(), target = out.view();
  if (image.shape[0] === batchSize) target.set(values);
  else for (let n = 0; n < batchSize; n++) target.set(values, n * values.length);
  return out;
}

/**
 * A checked mask as [batchSize, ...sampleShape] of exact 0 and 1 (diffusers: below 0.5 is 0, the rest 1), one
 * channel repeated over the sample's channels and one mask over the batch when so given.
 */
export function batchMask(mask: Tensor, batchSize: number, sampleShape: readonly number[]): Tensor {
  const [C] = sampleShape;
  const plane = sampleShape.slice(1).reduce((a, b) => a * b, 1);
  const [items, channels] = mask.shape;
  const out = new Tensor([batchSize, ...sampleShape]);
  const source = mask.view(), target = out.view();
  for (let n = 0; n < batchSize; n++) {
    for (let c = 0; c < C; c++) {
      const from = ((items === 1 ? 0 : n) * channels + (channels === 1 ? 0 : c)) * plane;
      const to = (n * C + c) * plane;
      for (let i = 0; i < plane; i++) target[to + i] = source[from + i] < 0.5 ? 0 : 1;
    }
  }
  return out;
}

/** img2img (image + strength) and inpainting (image + maskImage, with a RePaintScheduler): which options go together. */
export const checkEditing: EditingCheck = (name, o, options, { model, scheduler }) => {
  const repaint = isRePaint(scheduler);
  const given = (key: keyof typeof options) => options[key] !== undefined;
  if (repaint && (!given('image') || !given('maskImage'))) {
    throw new Error(`${name}: RePaintScheduler inpaints: give image and maskImage (1 keeps a pixel, 0 paints it)`);
  }
  if (repaint && given('seeds')) {
    throw new Error(`${name}: seeds (one generator per image) is not for inpainting: diffusers' RePaintPipeline draws every step's noise from the first generator; give seed`);
  }
  if (given('maskImage') && !repaint) {
    throw new Error(`${name}: maskImage (inpainting) needs a RePaintScheduler (RePaintPipeline), not ${scheduler.constructor.name}`);
  }
  for (const key of ['jumpLength', 'jumpNSample'] as const) {
    if (given(key) && !repaint) throw new Error(`${name}: ${key} is an option of inpainting with a RePaintScheduler, not of ${scheduler.constructor.name}`);
    if (typeof o[key] !== 'number' || !Number.isSafeInteger(o[key]) || o[key] < 1) throw new Error(`${name}: ${key} must be an integer >= 1, got ${String(o[key])}`);
  }
  if (given('strength') && (!given('image') || repaint)) {
    throw new Error(`${name}: strength is an option of img2img (image without maskImage)${repaint ? '; RePaint inpainting runs its whole schedule' : ''}`);
  }
  if (typeof o.strength !== 'number' || !(o.strength > 0 && o.strength <= 1)) {
    throw new Error(`${name}: strength must be a number in (0, 1] (how far the image is noised; 1 = from noise), got ${String(o.strength)}`);
  }
  if (!given('image')) return;
  if (isScoreSde(scheduler) && !repaint) {
    throw new Error(`${name}: img2img (image and strength) needs a scheduler that can start part-way; ${scheduler.constructor.name} ` +
      'runs its whole call plan: use DDIM, DDPM, DPM-Solver++, UniPC, Euler or Heun');
  }
  if (given('latents')) throw new Error(`${name}: latents and image exclude each other (img2img and inpainting draw their own start)`);
  checkEditImage(name, 'image', o.image, o.batchSize, model.sampleShape);
  if (given('maskImage')) checkMaskImage(name, o.maskImage, o.batchSize, model.sampleShape);
};
