/**
 * The sampling pipelines, named as in diffusers: `DiffusionPipeline` takes any scheduler of the library;
 * `DDPMPipeline` and `DDIMPipeline` are the two classic ones by name.
 *
 *   const pipe = new DiffusionPipeline({ model, scheduler: new DPMSolverMultistepScheduler({ useKarrasSigmas: true }) });
 *   const images = await pipe.generate({ batchSize: 16, numInferenceSteps: 10, seed: 42 });
 */
import type { DDIMScheduler, DDPMScheduler } from '../schedulers/index.ts';
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

export {
  DiffusionPipeline, classifierGradient, type GenerateOptions, type PipelineComponents, type PipelineScheduler, type StepInfo,
} from './pipeline.ts';
export { SamplingWorkers } from './sampling-workers.ts';
