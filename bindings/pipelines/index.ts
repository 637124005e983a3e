/**
 * The sampling pipelines, named as in diffusers: `DiffusionPipeline` takes any scheduler of the library;
 * `DDPMPipeline` and `DDIMPipeline` are the two classic ones by name, `RePaintPipeline` inpaints. Editing
 * (img2img, inpainting, inversion, interpolation) runs through the same `generate` loop.
 *
 *   const pipe = new DiffusionPipeline({ model, scheduler: new DPMSolverMultistepScheduler({ useKarrasSigmas: true }) });
 *   const images = await pipe.generate({ batchSize: 16, numInferenceSteps: 10, seed: 42 });
 *   const cleaned = await pipe.generate({ image, strength: 0.6, numInferenceSteps: 10, seed: 42 });
 */
import type { DDIMScheduler, DDPMScheduler } from '../schedulers/index.ts';
import type { RePaintScheduler } from '../schedulers/repaint.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { DiffusionPipeline } from './pipeline.ts';

/** Ancestral DDPM sampling; numTrainTimesteps steps by default. */
export class DDPMPipeline extends DiffusionPipeline<DDPMScheduler> {
  constructor(components: { model: Denoiser; scheduler: DDPMScheduler }) {
    super(components);
  }
}

/** DDIM sampling (eta from the generate options; 0 = deterministic); 50 steps by default. */
export class DDIMPipeline extends DiffusionPipeline<DDIMScheduler> {
  constructor(components: { model: Denoiser; scheduler: DDIMScheduler }) {
    super(components);
  }
}

/**
 * RePaint inpainting (Lugmayr et al. 2022): generate({ image, maskImage, jumpLength, jumpNSample, eta }) keeps the
 * image where the mask is 1 and paints the rest; numTrainTimesteps steps by default (diffusers' RePaintPipeline
 * takes 250 of 1000).
 */
export class RePaintPipeline extends DiffusionPipeline<RePaintScheduler> {
  constructor(components: { model: Denoiser; scheduler: RePaintScheduler }) {
    super(components);
  }
}

export {
  DiffusionPipeline, classifierGradient, type GenerateOptions, type InvertOptions, type PipelineComponents, type PipelineScheduler, type StepInfo,
} from './pipeline.ts';
export { slerp, interpolate, type InterpolateOptions, type InterpolationEnd } from './interpolation.ts';
export { img2imgStart } from './editing.ts';
export { SamplingWorkers } from './sampling-workers.ts';
