/**
 * ddpm-wasm/sampler: the part of the library that samples a trained model, and nothing else (no training,
 * classifier, datasets or diffusers interop): what a page, a Worker or a command that only makes images imports.
 * Node loads only these modules (the main entry loads them all, about twice as many), and a bundler starts from a
 * graph with nothing to shake off. Everything here is the same object as in the main entry 'ddpm-wasm'.
 *
 *   import { init, loadModel, DDIMPipeline, DDIMScheduler, toRGBA } from 'ddpm-wasm/sampler';
 *   await init();
 *   const { model, metadata } = loadModel(bytes);
 *   const pipe = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
 *   const images = await pipe.generate({ batchSize: 1, numInferenceSteps: 10, seed: 1, classLabels: Int32Array.of(7) });
 *   const { data, width, height } = toRGBA(images.toFloat32Array(), images.shape);
 */
export { init, type WasmSource } from './core/instance.ts';
export { Tensor, tidy, keep, memoryStats, resetPeakBytes, setMemoryLimit, OutOfMemoryError, type Shape } from './tensor.ts';
// The schedulers one by one (not the scheduler index, whose name table reaches every scheduler): the samplers;
// inpainting's RePaintScheduler and inversion's DDIMInverseScheduler are editing, in the main entry.
export { DDPMScheduler, VARIANCE_TYPES, isLearnedVariance, type DDPMSchedulerOptions, type DDPMStepOptions, type VarianceType } from './schedulers/ddpm.ts';
export { DDIMScheduler, type DDIMSchedulerOptions, type DDIMStepOptions } from './schedulers/ddim.ts';
export {
  DPMSolverMultistepScheduler, DPM_ALGORITHM_TYPES,
  type DPMSolverAlgorithmType, type DPMSolverMultistepSchedulerOptions, type DPMSolverStepOptions, type DPMSolverType, type FinalSigmasType,
} from './schedulers/dpm-solver.ts';
export { UniPCMultistepScheduler, type UniPCMultistepSchedulerOptions, type UniPCSolverType } from './schedulers/unipc.ts';
export { EulerDiscreteScheduler, type EulerDiscreteSchedulerOptions, type EulerStepOptions } from './schedulers/euler.ts';
export { EulerAncestralDiscreteScheduler, type EulerAncestralDiscreteSchedulerOptions, type EulerAncestralStepOptions } from './schedulers/euler-ancestral.ts';
export { HeunDiscreteScheduler, type HeunDiscreteSchedulerOptions } from './schedulers/heun.ts';
export { ScoreSdePCScheduler, type ScoreSdePCSchedulerOptions, type ScoreSdePCStepOptions } from './schedulers/score-sde-pc.ts';
export { ScoreSdeODEScheduler, type ScoreSdeODESchedulerOptions } from './schedulers/score-sde-ode.ts';
export { NoiseScheduler, SAMPLER_NOISE_STRIDE, type SchedulerStepOutput, type StepNoiseOptions } from './schedulers/base.ts';
export {
  KNOWN_OPTIONS, PREDICTION_TYPES, SCHEDULER_DEFAULTS,
  type BaseSchedulerOptions, type PredictionType, type SchedulerOptions, type ThresholdingOptions, type ZeroSnrOptions,
} from './schedulers/options.ts';
export { BETA_SCHEDULES, type BetaSchedule } from './schedulers/betas.ts';
export { TIMESTEP_SPACINGS, type TimestepSpacing } from './schedulers/timesteps.ts';
export type { Denoiser } from './models/denoiser.ts';
export { readMetadata, type ModelMetadata, type SamplingRecord } from './models/model-metadata.ts';
export { loadModel, type LoadedModel } from './models/load.ts';
export { SAMPLERS, SAMPLER_INFO, samplerScheduler, type SamplerName } from './pipelines/samplers.ts';
export { DDPMPipeline, DDIMPipeline } from './pipelines/classic.ts';
export { DiffusionPipeline, type GenerateOptions, type PipelineComponents, type PipelineScheduler, type StepInfo } from './pipelines/pipeline.ts';
export { toRGBA, toByte, type RGBAOptions, type RGBAImage } from './io/pixels.ts';
