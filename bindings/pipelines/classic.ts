/**
 * The pipelines by name, as in diffusers: DDPMPipeline (ancestral sampling), DDIMPipeline and RePaintPipeline. In a
 * file of their own so that a sampler (the 'ddpm-wasm/sampler' entry) loads them without the sampling workers.
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
