/**
 * The sampling pipelines, named as in diffusers: `DiffusionPipeline` takes any scheduler of the library;
 * `DDPMPipeline` and `DDIMPipeline` are the two classic ones by name.
 *
 *   const pipe = new DiffusionPipeline({ model, scheduler: new DPMSolverMultistepScheduler({ useKarrasSigmas: true }) });
 *   const images = await pipe.generate({ batchSize: 16, numInferenceSteps: 10, seed: 42 });
 */
export { DDPMPipeline, DDIMPipeline } from './classic.ts';
export {
  DiffusionPipeline, classifierGradient, type GenerateOptions, type PipelineComponents, type PipelineScheduler, type StepInfo,
} from './pipeline.ts';
export { SamplingWorkers } from './sampling-workers.ts';
