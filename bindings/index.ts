/**
 * ddpm-wasm: denoising diffusion probabilistic models on the CPU, bit-identical in every JavaScript runtime.
 *
 *   import { init, Tensor, ops, DDPMScheduler, UNet2DModel, Trainer, DDPMPipeline } from 'ddpm-wasm';
 *   await init();
 *
 * Layers of the API, bottom up: the WebAssembly kernels behind `ops`; tensors and the memory rule (`tidy`);
 * layers and models; schedulers; training; pipelines; checkpoints; datasets. Node-only pieces (the MNIST
 * digits, image folders, atomic file writes) are in 'ddpm-wasm/node'.
 */
export { init } from './core/instance.ts';
export { Tensor, tidy, keep, memoryStats, type Shape } from './tensor.ts';
export * as ops from './ops/index.ts';

export * from './schedulers/index.ts';
export { ScoreSdePCScheduler, type ScoreSdePCSchedulerOptions, type ScoreSdePCStepOptions } from './schedulers/score-sde-pc.ts';
export { ScoreSdeODEScheduler, type ScoreSdeODESchedulerOptions, type ScoreSdeODEStepOptions } from './schedulers/score-sde-ode.ts';
export { MLPDenoiser, type MLPDenoiserConfig } from './models/mlp.ts';
export { UNet2DModel } from './models/unet2d.ts';
export type { UNet2DConfig } from './models/unet2d-config.ts';
export { NoiseAwareClassifier, type ClassifierConfig } from './models/classifier.ts';
export type { Denoiser } from './models/denoiser.ts';
export { ParameterSet, Parameter } from './nn/parameters.ts';

export { Trainer, TrainingDivergedError, TRAINER_DEFAULTS, type TrainerOptions, type StepReport, type TrainingHyperparameters } from './train/trainer.ts';
export * from './likelihood/index.ts';
export { DDPMPipeline, DDIMPipeline, DiffusionPipeline, classifierGradient, type GenerateOptions, type StepInfo } from './pipelines/index.ts';

export { encodeSafetensors, decodeSafetensors, type NamedTensor, type SafetensorsContents } from './io/safetensors.ts';
export { encodeNpy, decodeNpy } from './io/npy.ts';
export { toRGBA, toByte, type RGBAOptions, type RGBAImage } from './io/pixels.ts';
export { encodeModel, decodeModel, encodeTrainingState, restoreTrainingState, describeData, type ModelMetadata } from './io/checkpoint.ts';

export * from './data/index.ts';
export * as datasets from './data/index.ts';
