/**
 * Sampling (Ho et al. 2020, Algorithm 2; Song et al. 2021 for DDIM; the ODE solvers after diffusers): start from
 * x_T ~ N(0, initNoiseSigma² I) (or the caller's latents) and apply the scheduler's step along its timesteps,
 * asking the model at every step for its prediction on scaleModelInput(x_t) at the scheduler's model timestep.
 * Any scheduler of the library serves: DDPM, DDIM, DPM-Solver, UniPC, Euler, Euler ancestral, Heun, and the
 * score-SDE predictor-corrector and probability-flow samplers (which call the model more than once per timestep:
 * their `timesteps` list every call).
 *
 * Guidance:
 * - classifier-free (Ho & Salimans 2022): the model is run with the class labels and with the null label, and
 *   its prediction is out_uncond + guidanceScale * (out_cond - out_uncond) (1 = plain conditional sampling);
 * - classifier guidance (Dhariwal & Nichol 2021): a noise-aware classifier's gradient g = ∇x log p(y | x_t, t)
 *   shifts the predicted noise: eps' = eps - classifierScale * sqrt(1 - ab_t) * g (their Algorithm 2, which
 *   serves DDPM and DDIM alike); a model predicting v or x0 gets the same shift, converted to its output.
 *
 * Randomness (pipelines/noise.ts): by default x_T is `randn` of (seed, STREAMS.initialNoise) with item n at numbers
 * n*M .. n*M + M - 1, and each step's noise comes from the scheduler at (seed, its block); so a sample depends on
 * its seed and its index alone, not on the batch size; with `firstSample` = k, item n takes the numbers of item
 * k + n, so a large run can be sampled in batches of bounded memory and give the same samples as one batch. With
 * generator 'torch' the noise is PyTorch's, drawn as diffusers draws it, to replay a diffusers run.
 *
 * A model that predicts its variance (improved DDPM's learned variance: outputs of 2C channels) samples with
 * DDPMScheduler, whose learned varianceType uses it (respaced for strided steps), or with a deterministic sampler,
 * which needs only the prediction (DDIM with eta 0 and the ODE solvers: the variance channels are dropped, as
 * improved-diffusion's DDIM does). A sampler that adds noise of its own fixed variance would ignore what the model
 * learned: that is an error. Guidance shifts the prediction; the variance is the conditional pass's (as GLIDE).
 *
 * On failure (a bad option found by the scheduler, an error in onStep, out of memory) everything the call
 * allocated is freed before the error propagates, so the next call starts from the same memory.
 */
import { predictsVariance, type Denoiser } from '../models/denoiser.ts';
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import { composedGuidedForward, guidedForward } from '../models/guidance.ts';
import { InferenceCache } from '../nn/inference-cache.ts';
import { addInPlace, concatChannels, concatChannelsBackward, softmaxCrossEntropy, softmaxCrossEntropyBackward } from '../ops/elementwise.ts';
import { sameShape, tensorArg } from '../ops/check.ts';
import { schedulerCombine } from '../ops/scheduler.ts';
import type { TorchCpuCapability } from '../ops/torch-random.ts';
import type {
  DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
  HeunDiscreteScheduler, UniPCMultistepScheduler,
} from '../schedulers/index.ts';
import type { ScoreSdeODEScheduler } from '../schedulers/score-sde-ode.ts';
import type { ScoreSdePCScheduler } from '../schedulers/score-sde-pc.ts';
import { OutOfMemoryError, Tensor, keep, tidy } from '../tensor.ts';
import { toClassLabels } from '../core/class-labels.ts';
import { checkFirstSample } from './batch-noise.ts';
import { philoxNoise, torchNoise, type NoiseGenerator, type NoiseSource } from './noise.ts';

/** The schedulers a pipeline can sample with. */
export type PipelineScheduler = DDPMScheduler | DDIMScheduler | DPMSolverMultistepScheduler | UniPCMultistepScheduler |
  EulerDiscreteScheduler | EulerAncestralDiscreteScheduler | HeunDiscreteScheduler | ScoreSdePCScheduler | ScoreSdeODEScheduler;

/** What `onStep` receives after every step. */
export interface StepInfo {
  /** 0-based index of the step, and how many there are. */
  index: number;
  total: number;
  /** The timestep just denoised. */
  timestep: number;
  /** x_{t_prev}, the sample after this step (valid only during the callback: copy it to keep it). */
  sample: Tensor;
  /** The model's current estimate of the clean sample x0 (valid only during the callback). */
  predOriginalSample: Tensor;
}

export interface GenerateOptions {
  /** How many samples. Default 1. */
  batchSize?: number;
  /**
   * Sampling steps (at most the scheduler's numTrainTimesteps). Default: numTrainTimesteps for DDPM, 50 for the
   * others. Heun evaluates the model twice per step but the last.
   */
  numInferenceSteps?: number;
  /**
   * The initial noise x_T, [batchSize, ...model.sampleShape] of standard normal values, instead of drawing it
   * from the seed (diffusers' latents); it is scaled by the scheduler's initNoiseSigma and left unchanged.
   */
  latents?: Tensor;
  /**
   * Seed of the initial noise and of every step's noise: a non-negative safe integer; with generator 'torch', any
   * seed torch.manual_seed takes (a number or a bigint). Default 0.
   */
  seed?: number | bigint;
  /**
   * Where the noise comes from (pipelines/noise.ts): 'philox', the library's counter-based generator (a sample
   * depends on its seed and index only), or 'torch', PyTorch's CPU generator drawn as diffusers' pipelines draw
   * it, to replay a diffusers run seeded with torch.manual_seed(seed). Default 'philox'.
   */
  generator?: NoiseGenerator;
  /** With generator 'torch': one seed per sample (diffusers' list of generators) instead of `seed`. */
  seeds?: readonly (number | bigint)[];
  /** With generator 'torch': the ATen kernel whose numbers to reproduce ('avx2': x86-64; 'default': arm64). Default 'avx2'. */
  torchCapability?: TorchCpuCapability;
  /** One label per sample, for class-conditional models (required by them). */
  classLabels?: Int32Array | number[];
  /**
   * Classifier-free guidance weight w (1 = none; needs a class-conditional model trained with label dropout).
   * For a model with labels per attribute, a weight per attribute composes them (Liu et al. 2022): out(∅) +
   * Σ_a w_a (out(a) - out(∅)) over the attributes each label names. Default 1.
   */
  guidanceScale?: number | readonly number[];
  /**
   * The conditioning images [batchSize, k, H, W] of a model conditioned by concatenation (conditionChannels k):
   * one per sample, the same at every step. Required by such a model.
   */
  condition?: Tensor;
  /** A noise-aware classifier for classifier guidance (with classLabels). */
  classifier?: NoiseAwareClassifier;
  /** Weight of the classifier's gradient. Default 1. */
  classifierScale?: number;
  /** DDIM only: the weight of each step's noise (0 = deterministic, 1 = DDPM-like). Default 0. */
  eta?: number;
  /**
   * DDIM only: take each step's eps from the clipped x0 estimate, as guided-diffusion's DDIM does, rather than
   * from the model output (diffusers' default, false). Default true: when the model's x0 estimate overshoots
   * [-1, 1], as it does under guidance, the raw eps carries the overshoot into every later step; DDIM-50 of the
   * shipped digit model with guidance 3 makes digits the judge recognises 2.2% of the time with false, and
   * crisp ones with true (see the README).
   */
  useClippedModelOutput?: boolean;
  /** Called after every step with the intermediate sample and the predicted x0. */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /**
   * With generator 'philox': the index of this batch's first sample in a larger run. Its noise is that of samples
   * firstSample .. firstSample + batchSize - 1, so sampling in batches gives the same samples as one big batch.
   * Default 0.
   */
  firstSample?: number;
}

export interface PipelineComponents<S extends PipelineScheduler = PipelineScheduler> {
  model: Denoiser;
  scheduler: S;
}

/** Sampling with any scheduler (see `PipelineScheduler`); `DDPMPipeline` and `DDIMPipeline` name two of them. */
export class DiffusionPipeline<S extends PipelineScheduler = PipelineScheduler> {
  readonly model: Denoiser;
  readonly scheduler: S;
  /** numInferenceSteps when the caller gives none. */
  protected readonly defaultSteps: number;

  /** @param defaultSteps numInferenceSteps when the caller gives none: default, the scheduler's defaultInferenceSteps */
  constructor({ model, scheduler }: PipelineComponents<S>, defaultSteps?: number) {
    this.model = model;
    this.scheduler = scheduler;
    this.defaultSteps = defaultSteps ?? scheduler.defaultInferenceSteps;
  }

  /** Samples `batchSize` items: a Tensor [batchSize, ...model.sampleShape] (the caller disposes it). */
  async generate(options: GenerateOptions = {}): Promise<Tensor> {
    const o = this.checkOptions(options);
    const { scheduler } = this;
    scheduler.setTimesteps(o.numInferenceSteps);
    this.checkVariance(o);
    const noise = o.generator === 'torch' ? torchNoise(o.seeds ?? o.seed, o.torchCapability) : philoxNoise(o.seed as number, o.firstSample);
    scheduler.firstSample = o.firstSample;
    const timesteps = scheduler.timesteps;
    const step = scheduler.step.bind(scheduler) as (output: Tensor, t: number, x: Tensor, options: object) => ReturnType<DDIMScheduler['step']>;
    // The weights do not change during the run: the inference kernels' packed weights are prepared once.
    const cache = new InferenceCache();
    let x: Tensor | null = null;
    try {
      x = this.initialNoise(o, noise);
      for (let index = 0; index < timesteps.length; index++) {
        const t = timesteps[index];
        let info: StepInfo | null = null;
        const current: Tensor = x;
        const next = tidy(() => {
          const output = this.predict(scheduler.scaleModelInput(current, t), t, o, cache);
          const stepOptions = this.stepOptions(o);
          const stepNoise = noise.step(current.shape, scheduler.drawsNoise(t, stepOptions));
          const { prevSample, predOriginalSample } = step(output, t, current, stepNoise ? { ...stepOptions, noise: stepNoise } : stepOptions);
          info = { index, total: timesteps.length, timestep: t, sample: prevSample, predOriginalSample };
          return { prevSample, predOriginalSample };
        });
        try {
          if (o.onStep) await o.onStep(info!);
        } catch (error) {
          next.prevSample.dispose();
          throw error;
        } finally {
          next.predOriginalSample.dispose();
        }
        current.dispose();
        x = next.prevSample;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return x;
    } catch (error) {
      x?.dispose();
      if (!(error instanceof OutOfMemoryError)) throw error;
      throw error.withHint(`${this.constructor.name}.generate (batchSize ${o.batchSize})`,
        'lower batchSize: batches with firstSample give the same samples as one large batch');
    } finally {
      scheduler.reset();
      scheduler.firstSample = 0;
      cache.dispose();
    }
  }

  /** x_T: the caller's latents or the noise source's, times initNoiseSigma (a new tensor). */
  private initialNoise(o: ResolvedGenerateOptions, source: NoiseSource): Tensor {
    const sigma = this.scheduler.initNoiseSigma;
    return keep(tidy(() => {
      const noise = o.latents ?? source.initial([o.batchSize, ...this.model.sampleShape]);
      return sigma === 1 && !o.latents ? noise : schedulerCombine([[noise, sigma]]);
    }));
  }

  /**
   * A model that predicts its variance needs a scheduler that uses it or a deterministic one; a scheduler that
   * uses one needs such a model (see the file header).
   */
  private checkVariance(o: ResolvedGenerateOptions): void {
    const { model, scheduler } = this;
    const name = `${this.constructor.name}.generate`;
    const learned = predictsVariance(model), used = scheduler.predictsVariance;
    const schedulerName = scheduler.constructor.name;
    if (used && !learned) {
      throw new Error(`${name}: ${schedulerName}'s varianceType '${(scheduler.config as { varianceType?: string }).varianceType}' takes the variance from the model, ` +
        `but this model predicts none (its output has the sample's ${model.sampleShape[0]} channels): use 'fixed_small' or 'fixed_large'`);
    }
    if (!learned || used) return;
    const stepOptions = this.stepOptions(o);
    if (Array.from(scheduler.timesteps).some((t) => scheduler.drawsNoise(t, stepOptions))) {
      throw new Error(`${name}: a learned-variance model sampled with a scheduler that ignores variance: ${schedulerName}` +
        `${schedulerName === 'DDIMScheduler' ? ` with eta ${o.eta}` : ''} adds noise of its own fixed variance; use DDPMScheduler with ` +
        "varianceType 'learned_range' (as the model file says), or a deterministic sampler (DDIM with eta 0, DPM-Solver++, UniPC, Euler, Heun)");
    }
  }

  /** The options of the scheduler's step that it takes: the seed of its noise, and DDIM's eta and clipped eps. */
  private stepOptions(o: ResolvedGenerateOptions): object {
    const offered = { ...(o.generator === 'philox' && { seed: o.seed }), eta: o.eta, useClippedModelOutput: o.useClippedModelOutput };
    return Object.fromEntries(Object.entries(offered).filter(([key]) => this.scheduler.stepOptionNames.includes(key)));
  }

  /**
   * The model's prediction at (inference) timestep t for its input x (already scaled by the scheduler), with
   * classifier-free and classifier guidance applied.
   */
  private predict(x: Tensor, t: number, o: ResolvedGenerateOptions, cache: InferenceCache): Tensor {
    const { model } = this;
    const N = o.batchSize;
    const modelTimestep = this.scheduler.modelTimestep(t);
    const timesteps = new Int32Array(N).fill(modelTimestep);
    // The labels may be the classifier's alone (classifier guidance of an unconditional model).
    const labels = model.numClasses > 0 ? o.classLabels : null;
    const learned = predictsVariance(model);
    const pass = { mode: 'inference' as const, cache, condition: o.condition };
    const output = !labels ? model.forward(x, timesteps, null, pass)
      : Array.isArray(o.guidanceScale) ? composedGuidedForward(model, x, timesteps, labels, o.guidanceScale, pass)
        : guidedForward(model, x, timesteps, labels, o.guidanceScale as number, pass, learned ? model.sampleShape[0] : undefined);
    // The prediction, and the variance the scheduler takes (if any).
    const { da: prediction, db: variance } = learned ? concatChannelsBackward(output, model.sampleShape[0]) : { da: output, db: null };
    if (o.classifier) {
      const ab = this.scheduler.alphaCumprodAt(t);
      const gradient = classifierGradient(o.classifier, x, timesteps, o.classLabels!);
      addInPlace(prediction, gradient, -o.classifierScale * Math.sqrt(1 - ab) * this.scheduler.outputPerEpsilon(t));
    }
    return variance && this.scheduler.predictsVariance ? concatChannels(prediction, variance) : prediction;
  }

  private checkOptions(options: GenerateOptions): ResolvedGenerateOptions {
    const name = `${this.constructor.name}.generate`;
    const known = ['batchSize', 'numInferenceSteps', 'latents', 'seed', 'generator', 'seeds', 'torchCapability', 'classLabels', 'guidanceScale', 'condition', 'classifier', 'classifierScale', 'eta', 'useClippedModelOutput', 'onStep', 'firstSample'];
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) throw new Error(`${name}: unknown option '${key}'; options are ${known.join(', ')}`);
    }
    const o = { batchSize: 1, numInferenceSteps: this.defaultSteps, seed: 0, generator: 'philox' as const, torchCapability: 'avx2' as const, guidanceScale: 1, classifierScale: 1, eta: 0, useClippedModelOutput: true, firstSample: 0, ...options };
    for (const ddimOption of ['eta', 'useClippedModelOutput'] as const) {
      if (!this.scheduler.stepOptionNames.includes(ddimOption) && options[ddimOption] !== undefined) {
        throw new Error(`${name}: ${ddimOption} is an option of DDIM sampling (DDIMPipeline), not of ${this.constructor.name} with ${this.scheduler.constructor.name}`);
      }
    }
    if (typeof o.useClippedModelOutput !== 'boolean') throw new Error(`${name}: useClippedModelOutput must be true or false, got ${o.useClippedModelOutput}`);
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`${name}: batchSize must be a positive integer, got ${o.batchSize}`);
    if (o.generator !== 'philox' && o.generator !== 'torch') throw new Error(`${name}: generator must be 'philox' or 'torch', got ${String(o.generator)}`);
    if (o.generator === 'philox') {
      if (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed) || o.seed < 0) throw new Error(`${name}: seed must be a non-negative safe integer, got ${String(o.seed)}`);
      if (options.seeds !== undefined || options.torchCapability !== undefined) throw new Error(`${name}: seeds and torchCapability are options of generator 'torch'`);
      checkFirstSample(name, o.firstSample, o.batchSize, this.model.sampleShape);
    } else if (o.firstSample !== 0) {
      throw new Error(`${name}: firstSample is an option of generator 'philox' (PyTorch's noise depends on the batch, as in diffusers)`);
    } else if (o.seeds !== undefined && (!Array.isArray(o.seeds) || o.seeds.length !== o.batchSize)) {
      throw new Error(`${name}: seeds must be an array of one seed per sample (batchSize ${o.batchSize}), got ${Array.isArray(o.seeds) ? `${o.seeds.length} seeds` : typeof o.seeds}`);
    }
    if (o.latents !== undefined) {
      const expected = [o.batchSize, ...this.model.sampleShape];
      sameShape(name, '[batchSize, ...model.sampleShape]', expected, 'latents', tensorArg(name, 'latents', o.latents));
    }
    this.checkGuidance(name, o.guidanceScale);
    this.checkCondition(name, o.condition ?? null, o.batchSize);
    if (typeof o.classifierScale !== 'number' || !Number.isFinite(o.classifierScale)) throw new Error(`${name}: classifierScale must be a finite number, got ${o.classifierScale}`);
    const classes = this.model.numClasses;
    let labels: Int32Array | null = null;
    if (o.classLabels !== undefined) {
      if (classes === 0 && !o.classifier) throw new Error(`${name}: classLabels were given, but the model is unconditional and no classifier was given`);
      labels = toClassLabels(`${name}: classLabels`, o.classLabels, classes || o.classifier!.numClasses);
      if (labels.length !== o.batchSize) throw new Error(`${name}: ${labels.length} classLabels for batchSize ${o.batchSize}`);
    } else if (classes > 0) {
      throw new Error(`${name}: the model is class-conditional (${classes} classes): give classLabels, one per sample`);
    }
    if (o.guidanceScale !== 1 && classes === 0) throw new Error(`${name}: guidanceScale ${o.guidanceScale} needs a class-conditional model`);
    if (Array.isArray(o.guidanceScale) && o.classifier) throw new Error(`${name}: composed guidance (a weight per attribute) and classifier guidance do not combine`);
    if (o.classifier) {
      if (!labels) throw new Error(`${name}: classifier guidance needs classLabels`);
      const { inChannels: C, sampleSize: S, numClasses: judged } = o.classifier.config;
      if (String([C, S, S]) !== String(this.model.sampleShape)) {
        throw new Error(`${name}: the classifier reads [${C}, ${S}, ${S}] samples, the model makes [${this.model.sampleShape.join(', ')}]`);
      }
      const unknown = labels.find((label) => label >= judged);
      if (unknown !== undefined) throw new Error(`${name}: class label ${unknown} is out of range for the classifier: it tells ${judged} classes apart (0..${judged - 1})`);
    }
    return { ...o, classLabels: labels, classifier: o.classifier ?? null, latents: o.latents ?? null, condition: o.condition ?? null };
  }

  /** A finite weight, or (for a model with labels per attribute) one finite weight per attribute. */
  private checkGuidance(name: string, scale: unknown): void {
    const attributes = this.model.classAttributes;
    if (Array.isArray(scale)) {
      if (!attributes) throw new Error(`${name}: guidanceScale as a list (a weight per attribute) needs a model with labels per attribute (classAttributes); give one number`);
      if (scale.length !== attributes.length || !scale.every((w) => typeof w === 'number' && Number.isFinite(w))) {
        throw new Error(`${name}: guidanceScale must list ${attributes.length} finite weights, one per attribute, got [${scale.join(', ')}]`);
      }
      if (predictsVariance(this.model)) throw new Error(`${name}: composed guidance of a model that predicts its variance is not supported: give one guidanceScale`);
      return;
    }
    if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new Error(`${name}: guidanceScale must be a finite number, got ${String(scale)}`);
  }

  /** The conditioning images: [batchSize, k, H, W] for a model with conditionChannels k, absent otherwise. */
  private checkCondition(name: string, condition: Tensor | null, batchSize: number): void {
    const k = this.model.conditionChannels ?? 0;
    if (k === 0) {
      if (condition !== null) throw new Error(`${name}: a condition was given, but the model takes no conditioning image`);
      return;
    }
    if (condition === null) throw new Error(`${name}: the model is conditioned on an image of ${k} channels: give condition [${batchSize}, ${k}, ${this.model.sampleShape.slice(1).join(', ')}]`);
    sameShape(name, 'the conditioning images [batchSize, k, H, W]', [batchSize, k, ...this.model.sampleShape.slice(1)], 'condition', tensorArg(name, 'condition', condition));
  }
}

type ResolvedGenerateOptions = Required<Omit<GenerateOptions, 'classLabels' | 'classifier' | 'onStep' | 'latents' | 'seeds' | 'condition'>> & {
  classLabels: Int32Array | null; classifier: NoiseAwareClassifier | null; latents: Tensor | null; seeds?: readonly (number | bigint)[];
  condition: Tensor | null;
  onStep?: GenerateOptions['onStep'];
};

/** ∇x log p(y | x, t) of a noise-aware classifier: backward of log-softmax at the labels. */
export function classifierGradient(classifier: NoiseAwareClassifier, x: Tensor, timesteps: Int32Array, labels: Int32Array): Tensor {
  return tidy(() => {
    const { probs } = softmaxCrossEntropy(classifier.forward(x, timesteps), labels);
    // d(-mean CE)/dlogits * N = onehot - probs, the gradient of sum_n log p(y_n | x_n).
    const dLogits = softmaxCrossEntropyBackward(probs, labels, -labels.length);
    return classifier.backward(dLogits)!;
  });
}
