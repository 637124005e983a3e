/**
 * The two classic pipelines by name, as in diffusers: DDPMPipeline (ancestral sampling) and DDIMPipeline. In a
 * file of their own so that a sampler (the 'ddpm-wasm/sampler' entry) loads them without the sampling workers.
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
