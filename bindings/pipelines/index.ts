/**
 * The sampling pipelines, named as in diffusers: `DiffusionPipeline` takes any scheduler of the library;
 * `DDPMPipeline` and `DDIMPipeline` are the two classic ones by name, `RePaintPipeline` inpaints. Editing
 * (img2img, inpainting, inversion, interpolation) runs through the same `generate` loop.
 *
 *   const pipe = new DiffusionPipeline({ model, scheduler: new DPMSolverMultistepScheduler({ useKarrasSigmas: true }) });
 *   const images = await pipe.generate({ batchSize: 16, numInferenceSteps: 10, seed: 42 });
 *   const cleaned = await pipe.generate({ image, strength: 0.6, numInferenceSteps: 10, seed: 42 });
 */
export { DDPMPipeline, DDIMPipeline, RePaintPipeline } from './classic.ts';
export {
  DiffusionPipeline, classifierGradient, type GenerateOptions, type InvertOptions, type PipelineComponents, type PipelineScheduler, type StepInfo,
} from './pipeline.ts';
export { slerp, interpolate, type InterpolateOptions, type InterpolationEnd } from './interpolation.ts';
export { img2imgStart } from './editing.ts';
export { SamplingWorkers } from './sampling-workers.ts';
