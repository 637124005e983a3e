/**
 * Diffusion schedulers, after diffusers (camelCase options, 0-indexed timesteps t = 0 .. T-1): the noise
 * schedules; DDPMScheduler (ancestral sampling, and `addNoise` for training) and DDIMScheduler (fewer, optionally
 * deterministic steps); and the fast solvers DPMSolverMultistepScheduler, UniPCMultistepScheduler,
 * EulerDiscreteScheduler, EulerAncestralDiscreteScheduler and HeunDiscreteScheduler; for editing, RePaintScheduler
 * (inpainting) and DDIMInverseScheduler (DDIM inversion). They know nothing of the model; every one can be
 * rebuilt from a stored config with `fromConfig`.
 */
export { DDPMScheduler, VARIANCE_TYPES, isLearnedVariance, type DDPMSchedulerOptions, type DDPMStepOptions, type VarianceType } from './ddpm.ts';
export { DDIMScheduler, type DDIMSchedulerOptions, type DDIMStepOptions } from './ddim.ts';
export {
  DPMSolverMultistepScheduler, DPM_ALGORITHM_TYPES,
  type DPMSolverAlgorithmType, type DPMSolverMultistepSchedulerOptions, type DPMSolverStepOptions, type DPMSolverType, type FinalSigmasType,
} from './dpm-solver.ts';
export { UniPCMultistepScheduler, type UniPCMultistepSchedulerOptions, type UniPCSolverType } from './unipc.ts';
export { EulerDiscreteScheduler, type EulerDiscreteSchedulerOptions, type EulerStepOptions } from './euler.ts';
export {
  EulerAncestralDiscreteScheduler, type EulerAncestralDiscreteSchedulerOptions, type EulerAncestralStepOptions,
} from './euler-ancestral.ts';
export { HeunDiscreteScheduler, type HeunDiscreteSchedulerOptions } from './heun.ts';
export { RePaintScheduler, type RePaintSchedulerOptions, type RePaintStepOptions, type RePaintUndoOptions } from './repaint.ts';
export { DDIMInverseScheduler, type DDIMInverseSchedulerOptions } from './ddim-inverse.ts';
export { SCHEDULER_CLASSES, schedulerClassName, type SchedulerClassName } from './classes.ts';
export { NoiseScheduler, SAMPLER_NOISE_STRIDE, type SchedulerStepOutput, type StepNoiseOptions } from './base.ts';
export {
  KNOWN_OPTIONS, PREDICTION_TYPES, SCHEDULER_DEFAULTS,
  type BaseSchedulerOptions, type PredictionType, type SchedulerOptions, type ThresholdingOptions, type ZeroSnrOptions,
} from './options.ts';
export {
  BETA_SCHEDULES, betasFor, cosineBetas, cumprod, linearBetas, rescaleZeroTerminalSnr, scaledLinearBetas, sigmoidBetas, type BetaSchedule,
} from './betas.ts';
export { TIMESTEP_SPACINGS, spacedTimesteps, type TimestepSpacing } from './timesteps.ts';
export { karrasSigmas, sigmasOf } from './sigmas.ts';
