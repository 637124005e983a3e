/**
 * Diffusion schedulers, after diffusers (camelCase options, 0-indexed timesteps t = 0 .. T-1): the noise
 * schedules, DDPMScheduler (ancestral sampling, and `addNoise` for training) and DDIMScheduler (fewer, optionally
 * deterministic steps). They know nothing of the model.
 */
export { DDPMScheduler, VARIANCE_TYPES, type DDPMSchedulerOptions, type DDPMStepOptions, type VarianceType } from './ddpm.ts';
export { DDIMScheduler, type DDIMSchedulerOptions, type DDIMStepOptions } from './ddim.ts';
export {
  NoiseScheduler, PREDICTION_TYPES, SAMPLER_NOISE_STRIDE, SCHEDULER_DEFAULTS,
  type PredictionType, type SchedulerOptions, type SchedulerStepOutput, type StepNoiseOptions,
} from './base.ts';
export { BETA_SCHEDULES, betasFor, cosineBetas, cumprod, linearBetas, scaledLinearBetas, sigmoidBetas, type BetaSchedule } from './betas.ts';
export { TIMESTEP_SPACINGS, spacedTimesteps, type TimestepSpacing } from './timesteps.ts';
