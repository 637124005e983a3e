/**
 * Sampling and drawing, shared by `ddpm sample`, the previews `ddpm train` writes while it trains, and the demo:
 * build the sampler from a model file's scheduler config, generate, and turn the result into a picture (an image
 * grid, or a scatter plot over the training data for 2-D points) or a NumPy array.
 */
import {
  DDPMScheduler, DiffusionPipeline, img2imgStart, RePaintScheduler, samplerScheduler, SAMPLER_INFO, Tensor, tidy, toyDataset,
  type Convolutions, type CorrectorType, type Denoiser, type GenerateOptions, type ModelMetadata, type NoiseAwareClassifier, type SamplerName,
  type SamplingWorkers, type SchedulerOptions,
} from '../bindings/index.ts';
import { isDigits, isToy, TOY_SIZE } from './data.ts';

export { SAMPLERS, SAMPLER_INFO, samplerScheduler, type SamplerName } from '../bindings/index.ts';

/**
 * The picture layer, loaded on first use: it brings in sharp, which costs a good part of the command's start-up
 * and is not needed by commands that fail early or only read files (the module cache keeps one copy).
 */
export const pictures = () => import('./pictures/index.ts');

/**
 * RePaint's scheduler for a model (inpainting): the model's training schedule and clipping from its stored
 * config (its other options, a timestep spacing say, are for other samplers).
 */
export function repaintScheduler(stored: SchedulerOptions, eta = 0): RePaintScheduler {
  const trained = DDPMScheduler.fromConfig(stored).config;
  const keys = ['numTrainTimesteps', 'betaSchedule', 'betaStart', 'betaEnd', 'trainedBetas', 'predictionType', 'clipSample', 'clipSampleRange'] as const;
  return new RePaintScheduler({ ...Object.fromEntries(keys.map((key) => [key, trained[key]])), eta });
}

/** Editing a picture (`ddpm sample --init`): img2img with `strength`, or RePaint inpainting with `mask`. */
export interface EditRequest {
  /** The picture [C, H, W] in [-1, 1] that every sample starts from (img2img) or keeps where the mask is 1. */
  image: Float32Array;
  /** img2img: how far the picture is noised, in (0, 1]. */
  strength?: number;
  /** Inpainting: [1, H, W] of 1 (keep) and 0 (paint). */
  mask?: Float32Array;
  jumpLength?: number;
  jumpNSample?: number;
}

/**
 * The classifier-free guidance `ddpm sample` and the demo use for class-conditional models (the README's pictures).
 * A classifier trained only on real digits (scripts/evaluate.ts, DDIM-50) recognises the shipped models' digits
 * as the class asked for 93.8% (digits) and 90.5% (colored digits) of the time at 1 (no guidance), and 100% and
 * 99.8% at 3.
 */
export const DEFAULT_GUIDANCE = 3;

export interface SampleRequest {
  model: Denoiser;
  /** The scheduler config the model was trained with (from its file). */
  scheduler: SchedulerOptions;
  sampler: SamplerName;
  /** Sampling steps; default from SAMPLER_INFO (numTrainTimesteps for DDPM). */
  steps?: number;
  /** Karras et al.'s sigmas, for the samplers that have them. */
  karras?: boolean;
  /** sde-pc: the Langevin corrector's step rule. Default: the scheduler's ('langevin'). */
  corrector?: CorrectorType;
  num: number;
  seed: number;
  labels?: Int32Array | null;
  /** The guidance weight, or one per attribute (composed) for a model with labels per attribute. */
  guidance?: number | readonly number[];
  /** The conditioning images of a conditioned model, [num, ...condition shape] flat. */
  condition?: Float32Array;
  eta?: number;
  classifier?: NoiseAwareClassifier;
  classifierScale?: number;
  /** Called after every step with x_t (a copy) and the step's index. */
  onFrame?: (sample: Float32Array, index: number, total: number, timestep: number) => void;
  /** The index of these samples' first in a larger run, drawn in batches (see GenerateOptions.firstSample). Default 0. */
  firstSample?: number;
  /** Edit a picture instead of sampling from noise (one thread: no workers). */
  edit?: EditRequest;
  /** How the model's 3x3 convolutions run (GenerateOptions.convolutions). Default 'winograd'. */
  convolutions?: Convolutions;
}

/** The pipeline of a request: its model with its sampler's scheduler. */
export function requestPipeline(request: SampleRequest): DiffusionPipeline {
  const scheduler = request.edit?.mask ? repaintScheduler(request.scheduler)
    : samplerScheduler(request.sampler, request.scheduler, { karras: request.karras, corrector: request.corrector });
  return new DiffusionPipeline({ model: request.model, scheduler });
}

/**
 * Generates `num` samples; returns them flat, [num, ...model.sampleShape]. With `workers` (built for this request's
 * pipeline) the batch is split between threads: the same samples.
 */
export async function generateSamples(request: SampleRequest, workers: SamplingWorkers | null = null): Promise<Float32Array> {
  const { model, sampler, num, seed, labels, guidance = 1, eta = 0, classifier, classifierScale = 1, onFrame, edit } = request;
  if (edit && workers) throw new Error('generateSamples: editing a picture samples on one thread (no workers)');
  const options: GenerateOptions = { batchSize: num, seed, numInferenceSteps: request.steps ?? defaultSteps(sampler, request.scheduler) };
  if (request.firstSample) options.firstSample = request.firstSample;
  if (labels) options.classLabels = labels;
  if (guidance !== 1) options.guidanceScale = guidance;
  if ((sampler === 'ddim' || edit?.mask) && eta !== 0) options.eta = eta;
  if (classifier) Object.assign(options, { classifier, classifierScale });
  if (request.convolutions) options.convolutions = request.convolutions;
  if (onFrame) options.onStep = (info) => onFrame(info.sample.toFloat32Array(), info.index, info.total, info.timestep);
  const tensors: Tensor[] = [];
  try {
    if (request.condition) {
      const k = model.conditionChannels ?? 0;
      options.condition = tensors[tensors.length] = Tensor.from(request.condition, [num, k, ...model.sampleShape.slice(1)]);
    }
    if (edit) {
      options.image = tensors[tensors.length] = Tensor.from(edit.image, [1, ...model.sampleShape]);
      if (edit.mask) {
        options.maskImage = tensors[tensors.length] = Tensor.from(edit.mask, [1, 1, ...model.sampleShape.slice(1)]);
        if (edit.jumpLength !== undefined) options.jumpLength = edit.jumpLength;
        if (edit.jumpNSample !== undefined) options.jumpNSample = edit.jumpNSample;
      } else if (edit.strength !== undefined) {
        options.strength = edit.strength;
      }
    }
    const out = await (workers && !onFrame ? workers.generate(options) : requestPipeline(request).generate(options));
    try {
      return out.toFloat32Array();
    } finally {
      out.dispose();
    }
  } finally {
    for (const tensor of tensors) tensor.dispose();
  }
}

/** How many times a request's sampling run evaluates the model (per batch; guidance evaluates each twice at once). */
export function plannedEvaluations(request: SampleRequest, steps: number): number {
  const { edit } = request;
  if (edit?.mask) {
    const s = repaintScheduler(request.scheduler);
    s.setTimesteps(steps, edit.jumpLength, edit.jumpNSample);
    return Array.from(s.timesteps).filter((t, k, all) => k === 0 || t < all[k - 1]).length;
  }
  const s = samplerScheduler(request.sampler, request.scheduler, { karras: request.karras, corrector: request.corrector });
  s.setTimesteps(steps);
  const begin = edit ? img2imgStart('ddpm sample', steps, edit.strength ?? 0.8, s.order).begin : 0;
  s.reset();
  return s.timesteps.length - begin;
}

/** The number of steps a sampler takes when none is asked for. */
export function defaultSteps(sampler: SamplerName, scheduler: SchedulerOptions): number {
  const T = DDPMScheduler.fromConfig(scheduler).config.numTrainTimesteps;
  return Math.min(SAMPLER_INFO[sampler].steps ?? T, T);
}

/** How samples of a model's data are laid out: points, or images of the data's own size. */
export interface Layout {
  kind: 'points' | 'images';
  /** [N, 2] or [N, C, H, W], the data's own size (digits: 28, padding cropped). */
  shape: number[];
}

/** The layout of `num` samples of the data a model was trained on (from its file's metadata). */
export function layoutOf(data: ModelMetadata['data'], num: number): Layout {
  const sampleShape = data.sampleShape;
  if (sampleShape.length === 1) return { kind: 'points', shape: [num, sampleShape[0]] };
  const [C, H, W = H] = sampleShape;
  return { kind: 'images', shape: [num, C, isDigits(data.name) ? Math.min(28, H) : H, isDigits(data.name) ? Math.min(28, W) : W] };
}

/** Crops the centre `size` x `size` of every [C, S, S] image (digits padded beyond 28); a copy when no crop is needed. */
export function cropImages(data: Float32Array, sampleShape: readonly number[], size: number): Float32Array {
  const [C, S] = sampleShape;
  if (size === S) return data;
  const N = data.length / (C * S * S);
  const pad = (S - size) >> 1;
  const out = new Float32Array(N * C * size * size);
  for (let plane = 0; plane < N * C; plane++) {
    for (let y = 0; y < size; y++) {
      const from = plane * S * S + (y + pad) * S + pad;
      out.set(data.subarray(from, from + size), (plane * size + y) * size);
    }
  }
  return out;
}

export interface PictureOptions {
  /** A caption per image (class names). */
  captions?: readonly string[];
  /** Images per row. */
  columns?: number;
  title?: string;
}

/** Samples as a PNG: an image grid, or a scatter plot over the regenerated training data (toys). */
export async function samplesPicture(samples: Float32Array, data: ModelMetadata['data'], options: PictureOptions = {}): Promise<Uint8Array> {
  const num = samples.length / data.sampleShape.reduce((a, b) => a * b, 1);
  const layout = layoutOf(data, num);
  if (layout.kind === 'points') {
    const background = isToy(data.name) ? trainingPoints(data.name) : undefined;
    return (await pictures()).scatterPlot(samples, { background, title: options.title });
  }
  const images = cropImages(samples, data.sampleShape, layout.shape[2]);
  const scale = layout.shape[2] <= 32 ? 3 : layout.shape[2] <= 64 ? 2 : 1;
  return (await pictures()).imageGrid(images, layout.shape, { columns: options.columns, labels: options.captions, title: options.title, scale });
}

/**
 * Samples as the values of a .npy file (layoutOf gives its shape): 2-D points as they are, images cropped to the
 * data's own size and mapped to [0, 1]. Batches of one run convert independently, so a writer can stream them.
 */
export function npyValues(samples: Float32Array, data: ModelMetadata['data']): Float32Array {
  const num = samples.length / data.sampleShape.reduce((a, b) => a * b, 1);
  const layout = layoutOf(data, num);
  if (layout.kind === 'points') return samples;
  return cropImages(samples, data.sampleShape, layout.shape[2]).map((x) => Math.min(1, Math.max(0, (x + 1) / 2)));
}

/** The toy's training points, regenerated from its name (the background of scatter plots). */
export function trainingPoints(name: string): Float32Array | undefined {
  if (!isToy(name)) return undefined;
  const dataset = toyDataset(name, TOY_SIZE, 0);
  return tidy(() => {
    const all = dataset.batch(Int32Array.from({ length: Math.min(5000, TOY_SIZE) }, (_, i) => i)).x;
    return all.toFloat32Array();
  });
}
