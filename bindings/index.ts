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
export { init, type WasmSource } from './core/instance.ts';
export { Tensor, tidy, keep, memoryStats, resetPeakBytes, setMemoryLimit, OutOfMemoryError, type Shape } from './tensor.ts';
export { STREAMS, dropoutStream, type StreamName } from './random-streams.ts';
export * as ops from './ops/index.ts';

export * from './schedulers/index.ts';
export { Model, type ModelKind } from './models/model.ts';
export { ScoreSdePCScheduler, CORRECTOR_TYPES, type CorrectorType, type ScoreSdePCSchedulerOptions, type ScoreSdePCStepOptions } from './schedulers/score-sde-pc.ts';
export { ScoreSdeODEScheduler, type ScoreSdeODESchedulerOptions } from './schedulers/score-sde-ode.ts';
export { MLPDenoiser, type MLPDenoiserConfig } from './models/mlp.ts';
export { UNet2DModel } from './models/unet2d.ts';
export {
  resolveUNetConfig, DOWN_BLOCK_TYPES, UP_BLOCK_TYPES, type UNet2DConfig, type ResolvedUNet2DConfig, type DownBlockType, type UpBlockType,
  type ResampleType, type ClassEmbedType, type ActFn, type TimeEmbeddingType,
} from './models/unet2d-config.ts';
export type { Timesteps, ClassInput } from './models/model.ts';
export { NoiseAwareClassifier, type ClassifierConfig } from './models/classifier.ts';
export type { Denoiser } from './models/denoiser.ts';
export { createModel, MODEL_KINDS } from './models/registry.ts';
export {
  encodeModel, decodeModel, convertModelFile, readMetadata, describeData, disposeModel, DEFAULT_MAX_PARAMETERS, type ModelMetadata, type DecodeModelOptions, type SamplingRecord,
} from './models/model-file.ts';
export { loadModel, type LoadedModel } from './models/load.ts';
export { ParameterSet, Parameter } from './nn/parameters.ts';
export type { Module, InputGrad } from './nn/module.ts';
export { Context, CONVOLUTIONS, type PassOptions, type DropoutAddress, type Convolutions } from './nn/context.ts';
export { InferenceCache } from './nn/inference-cache.ts';

export { TrainingLoop, type LoopReport, type BatchMetrics } from './train/loop.ts';
export { AdamW, TrainingDivergedError, clipGradNorm, type OptimizerOptions, type LearningRateDecay, type UpdateReport } from './train/optimizer.ts';
export { EMA } from './train/ema.ts';
export {
  Trainer, TRAINER_DEFAULTS, LOSS_OPTION_DEFAULTS, TIMESTEP_SAMPLINGS,
  type TrainerOptions, type StepReport, type TrainingHyperparameters, type TimestepSampling,
} from './train/trainer.ts';
export { DiffusionObjective, LOSS_TYPES, type LossType, type ObjectiveConfig, type ShardLoss } from './train/objective.ts';
export { LossSecondMomentResampler, HISTORY_PER_TERM, UNIFORM_PROB, type SamplerState } from './train/timestep-sampler.ts';
export { minSnrWeights, snrAt, offsetNoise, addOffsets } from './train/loss-weights.ts';
export { attributeLabelCount, encodeAttributes, decodeAttributes, onlyAttribute } from './core/attribute-labels.ts';
export { posteriorTables, type PosteriorTables } from './schedulers/posterior-tables.ts';
export {
  ClassifierTrainer, CLASSIFIER_TRAINER_DEFAULTS,
  type ClassifierTrainerOptions, type ClassifierStepReport, type ClassifierBatch, type ClassifierHyperparameters,
} from './train/classifier-trainer.ts';
export { encodeTrainingState, restoreTrainingState } from './train/training-state.ts';
export { DistillationTrainer, type DistillationOptions } from './train/distillation.ts';
export { ProgressiveDistillation, type ProgressiveDistillationOptions, type DistillationStepReport } from './train/progressive-distillation.ts';
export { DistillationTeacher, studentGrid, type DistillationRecipe } from './train/distillation-teacher.ts';
export { guidedForward, composedGuidedForward } from './models/guidance.ts';
export { predictsVariance } from './models/denoiser.ts';
export { SAMPLERS, SAMPLER_INFO, samplerScheduler, type SamplerName } from './pipelines/samplers.ts';
export { SamplingWorkers } from './pipelines/sampling-workers.ts';
export {
  DDPMPipeline, DDIMPipeline, DiffusionPipeline, RePaintPipeline, classifierGradient, slerp, interpolate, img2imgStart,
  type GenerateOptions, type InvertOptions, type InterpolateOptions, type InterpolationEnd, type PipelineComponents, type PipelineScheduler, type StepInfo,
} from './pipelines/index.ts';
export * from './likelihood/index.ts';

export { encodeSafetensors, decodeSafetensors, readSafetensorsHeader, type NamedTensor, type SafetensorsContents, type StoredDtype } from './io/safetensors.ts';

// diffusers interoperability: configs, pipeline folders (as path -> bytes maps) and model files, both ways.
export {
  DIFFUSERS_VERSION, parseDiffusersUNetConfig, formatDiffusersUNetConfig, defaultDiffusersUNetOptions, type DiffusersUNet2DOptions,
} from './interop/diffusers-config.ts';
export { unetConfigFromDiffusers, unetConfigToDiffusers } from './interop/diffusers-unet.ts';
export {
  readDiffusersFolder, writeDiffusersFolder, diffusersFolderToModel, modelToDiffusersFolder, weightsFileName, WEIGHT_DTYPES,
  type WeightDtype, type FolderFiles, type DiffusersFolder, type ImportedModel, type ExportOptions, type ReadFolderOptions,
} from './interop/diffusers-folder.ts';
export { modelFileToDiffusersFolder, diffusersModelMetadata, type ExportScheduler, type ModelFileExportOptions } from './interop/diffusers-model-file.ts';
export { schedulerFromDiffusers, schedulerToDiffusers, type DiffusersScheduler, type LibraryScheduler } from './interop/diffusers-pipeline-config.ts';
export { encodeNpy, decodeNpy } from './io/npy.ts';
export { toRGBA, toByte, type RGBAOptions, type RGBAImage } from './io/pixels.ts';

export * from './data/index.ts';
export * as datasets from './data/index.ts';

// The determinism self-test: the scenarios and golden outputs shipped in the package, loaded on first call.
export {
  selfTest, type SelfTestOptions, type SelfTestReport, type ScenarioResult, type Scenario, type EncodedOutput, type GoldenTable,
} from './verify/index.ts';
