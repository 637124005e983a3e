/**
 * The options of a pipeline's `invert` (DDIM inversion, an image to its latent x_T) and their checks.
 */
import type { Denoiser } from '../models/denoiser.ts';
import { DDIMInverseScheduler } from '../schedulers/ddim-inverse.ts';
import type { Tensor } from '../tensor.ts';
import { checkEditImage, checkEditing } from './editing.ts';
import { resolveGenerateOptions, type ResolvedGenerateOptions, type StepInfo } from './options.ts';

export interface InvertOptions {
  /** The images to invert, [N, ...model.sampleShape] in the model's range [-1, 1]. Required. */
  image: Tensor;
  /** Inversion steps; sample back with the same number. Default: the pipeline's default steps. */
  numInferenceSteps?: number;
  /** One label per image, for class-conditional models (required by them); sample back with the same. */
  classLabels?: Int32Array | number[];
  /** Classifier-free guidance weight (1 = none, the usual choice: inversion under guidance drifts). Default 1. */
  guidanceScale?: number;
  /** The conditioning images [N, k, H, W] of a model conditioned by concatenation (required by it); sample back with the same. */
  condition?: Tensor;
  /**
   * The inverse scheduler. Default: DDIMInverseScheduler.fromConfig(pipeline.scheduler.config) (its schedule,
   * prediction type, clipping, spacing and setAlphaToOne).
   */
  inverseScheduler?: DDIMInverseScheduler;
  /** Called after every step with the sample (at the step's timestep) and the predicted x0. */
  onStep?: (info: StepInfo) => void | Promise<void>;
}

const KNOWN = ['image', 'numInferenceSteps', 'classLabels', 'guidanceScale', 'condition', 'inverseScheduler', 'onStep'];

interface PipelineParts {
  model: Denoiser;
  scheduler: { stepOptionNames: readonly string[]; config: object; constructor: { name: string } };
  defaultSteps: number;
}

/** Checks `invert`'s options; returns them as generate's resolved options, the image and the inverse scheduler. */
export function resolveInvertOptions(name: string, options: InvertOptions, pipeline: PipelineParts):
  { o: ResolvedGenerateOptions; image: Tensor; inverse: DDIMInverseScheduler } {
  if (options === null || typeof options !== 'object') throw new Error(`${name}: options must be an object, got ${String(options)}`);
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new Error(`${name}: unknown option '${key}'; options are ${KNOWN.join(', ')}`);
  }
  const image = options.image;
  if (image === undefined) throw new Error(`${name}: image is required: the images to invert, [N, ${pipeline.model.sampleShape.join(', ')}]`);
  const batchSize = (image as { shape?: readonly number[] }).shape?.[0] ?? 0;
  checkEditImage(name, 'image', image, batchSize, pipeline.model.sampleShape);
  let inverse = options.inverseScheduler;
  if (inverse === undefined) {
    const config = pipeline.scheduler.config as { timestepSpacing?: string };
    if (config.timestepSpacing === 'linspace') {
      throw new Error(`${name}: the pipeline's ${pipeline.scheduler.constructor.name} spaces its timesteps 'linspace', which DDIM inversion does not take: ` +
        "pass inverseScheduler: new DDIMInverseScheduler({ ...config, timestepSpacing: 'leading' })");
    }
    inverse = DDIMInverseScheduler.fromConfig(config);
  } else if (!(inverse instanceof DDIMInverseScheduler)) {
    throw new Error(`${name}: inverseScheduler must be a DDIMInverseScheduler, got ${(inverse as object | null)?.constructor?.name ?? String(inverse)}`);
  }
  const { image: _image, inverseScheduler: _inverse, ...rest } = options;
  const o = resolveGenerateOptions(name, { ...rest, batchSize }, { ...pipeline, scheduler: inverse }, checkEditing);
  return { o, image, inverse };
}
