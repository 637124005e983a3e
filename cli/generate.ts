/**
 * Sampling and drawing, shared by `ddpm sample`, the previews `ddpm train` writes while it trains, and the demo:
 * build the sampler from a model file's scheduler config, generate, and turn the result into a picture (an image
 * grid, or a scatter plot over the training data for 2-D points) or a NumPy array.
 */
import {
  DDIMScheduler, DDPMScheduler, DiffusionPipeline, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
  EulerDiscreteScheduler, HeunDiscreteScheduler, ScoreSdeODEScheduler, ScoreSdePCScheduler, Tensor, tidy, toyDataset, UniPCMultistepScheduler,
  type CorrectorType, type Denoiser, type GenerateOptions, type ModelMetadata, type NoiseAwareClassifier, type PipelineScheduler, type SchedulerOptions,
} from '../bindings/index.ts';
import { isDigits, isToy, TOY_SIZE } from './data.ts';

/**
 * The picture layer, loaded on first use: it brings in sharp, which costs a good part of the command's start-up
 * and is not needed by commands that fail early or only read files (the module cache keeps one copy).
 */
export const pictures = () => import('./pictures/index.ts');

export type SamplerName = 'ddpm' | 'ddim' | 'dpmsolver++' | 'unipc' | 'euler' | 'euler-ancestral' | 'heun' | 'sde-pc' | 'pf-ode';

/**
 * Each sampler: its scheduler, what it is (for --help), its order (the fewest steps), its default steps and the
 * model evaluations of n steps.
 */
export const SAMPLER_INFO: Readonly<Record<SamplerName, { what: string; order: number; steps: number | null; karras: boolean; evaluations?: (steps: number) => number }>> = {
  ddim: { what: 'DDIM (Song et al. 2021), deterministic, first order', order: 1, steps: 50, karras: false },
  ddpm: { what: 'ancestral DDPM (Ho et al. 2020), one step per training timestep by default', order: 1, steps: null, karras: false },
  'dpmsolver++': { what: 'DPM-Solver++ 2M (Lu et al. 2022), second-order multistep', order: 2, steps: 20, karras: true },
  unipc: { what: 'UniPC-bh2 (Zhao et al. 2023), second-order predictor-corrector', order: 2, steps: 20, karras: true },
  euler: { what: "Euler's method on the ODE (Karras et al. 2022), first order", order: 1, steps: 50, karras: true },
  'euler-ancestral': { what: 'Euler ancestral, stochastic, first order', order: 1, steps: 50, karras: false },
  heun: { what: "Heun's method (Karras et al. 2022), second order, two model evaluations per step but the last", order: 2, steps: 20, karras: true, evaluations: (n) => 2 * n - 1 },
  'sde-pc': {
    what: 'score-SDE predictor-corrector (Song et al. 2021): reverse diffusion + one Langevin step per timestep', order: 1, steps: null, karras: false,
    evaluations: (n) => 2 * n,
  },
  'pf-ode': { what: "score-SDE probability-flow ODE (Song et al. 2021), Heun's method in log ab, deterministic", order: 2, steps: null, karras: false, evaluations: (n) => 2 * n - 1 },
};
export const SAMPLERS = Object.keys(SAMPLER_INFO) as SamplerName[];

/** The options of a model's stored config that define its noise schedule and parameterisation. */
const SCHEDULE_KEYS = ['numTrainTimesteps', 'betaSchedule', 'betaStart', 'betaEnd', 'trainedBetas', 'predictionType'] as const;

/**
 * The scheduler of a sampler for a model, from the model file's stored scheduler config (diffusers' from_config).
 * The schedule is the one the model was trained with (DDPMScheduler's reading of the stored config: a stored
 * config lists only what differed from those defaults, and Heun's own defaults differ); the timestep spacing and
 * the solver's options are the sampler's. A model whose x0 is clipped to [-1, 1] (clipSample) gets the same clip
 * in the multistep solvers, which predict x0: dynamic thresholding with sampleMaxValue 1 is that clip (s is 1).
 */
export function samplerScheduler(sampler: SamplerName, stored: SchedulerOptions, options: { karras?: boolean; corrector?: CorrectorType } = {}): PipelineScheduler {
  const trained = DDPMScheduler.fromConfig(stored).config;
  const config = { ...stored, ...Object.fromEntries(SCHEDULE_KEYS.map((key) => [key, trained[key]])) };
  const karras = options.karras ? { useKarrasSigmas: true } : {};
  const clip = trained.clipSample && trained.clipSampleRange === 1 ? { thresholding: true, sampleMaxValue: 1 } : {};
  switch (sampler) {
    case 'ddpm': return DDPMScheduler.fromConfig(config);
    case 'ddim': return DDIMScheduler.fromConfig(config);
    case 'dpmsolver++': return DPMSolverMultistepScheduler.fromConfig(config, { algorithmType: 'dpmsolver++', solverOrder: 2, ...clip, ...karras });
    case 'unipc': return UniPCMultistepScheduler.fromConfig(config, { solverType: 'bh2', solverOrder: 2, ...clip, ...karras });
    case 'euler': return EulerDiscreteScheduler.fromConfig(config, karras);
    case 'euler-ancestral': return EulerAncestralDiscreteScheduler.fromConfig(config);
    case 'heun': return HeunDiscreteScheduler.fromConfig(config, karras);
    case 'sde-pc': return ScoreSdePCScheduler.fromConfig(config, options.corrector ? { corrector: options.corrector } : {});
    case 'pf-ode': return ScoreSdeODEScheduler.fromConfig(config);
  }
}

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
}

/** Generates `num` samples; returns them flat, [num, ...model.sampleShape]. */
export async function generateSamples(request: SampleRequest): Promise<Float32Array> {
  const { model, sampler, num, seed, labels, guidance = 1, eta = 0, classifier, classifierScale = 1, onFrame } = request;
  const pipeline = new DiffusionPipeline({ model, scheduler: samplerScheduler(sampler, request.scheduler, { karras: request.karras, corrector: request.corrector }) });
  const options: GenerateOptions = { batchSize: num, seed, numInferenceSteps: request.steps ?? defaultSteps(sampler, request.scheduler) };
  if (request.firstSample) options.firstSample = request.firstSample;
  if (labels) options.classLabels = labels;
  if (guidance !== 1) options.guidanceScale = guidance;
  const k = model.conditionChannels ?? 0;
  const condition = request.condition && Tensor.from(request.condition, [num, k, ...model.sampleShape.slice(1)]);
  if (condition) options.condition = condition;
  if (sampler === 'ddim' && eta !== 0) options.eta = eta;
  if (classifier) Object.assign(options, { classifier, classifierScale });
  if (onFrame) options.onStep = (info) => onFrame(info.sample.toFloat32Array(), info.index, info.total, info.timestep);
  try {
    const out = await pipeline.generate(options);
    try {
      return out.toFloat32Array();
    } finally {
      out.dispose();
    }
  } finally {
    condition?.dispose();
  }
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
