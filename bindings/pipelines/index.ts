/**
 * The sampling pipelines, named as in diffusers:
 *
 *   const pipe = new DDPMPipeline({ model, scheduler });      // or DDIMPipeline
 *   const images = await pipe.generate({ batchSize: 16, numInferenceSteps: 1000, seed: 42 });
 */
import type { DDIMScheduler, DDPMScheduler } from '../schedulers/index.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { DiffusionPipeline } from './pipeline.ts';

/** Ancestral DDPM sampling; 1000 steps by default. */
export class DDPMPipeline extends DiffusionPipeline {
  constructor(components: { model: Denoiser; scheduler: DDPMScheduler }) {
    super(components, components.scheduler.config.numTrainTimesteps);
  }
}

/** DDIM sampling (eta from the scheduler's step options; 0 = deterministic); 50 steps by default. */
export class DDIMPipeline extends DiffusionPipeline {
  constructor(components: { model: Denoiser; scheduler: DDIMScheduler }) {
    super(components, Math.min(50, components.scheduler.config.numTrainTimesteps), true);
  }
}

export { DiffusionPipeline, classifierGradient, type GenerateOptions, type StepInfo } from './pipeline.ts';
