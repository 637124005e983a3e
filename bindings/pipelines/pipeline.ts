/**
 * Sampling (Ho et al. 2020, Algorithm 2; Song et al. 2021 for DDIM): start from x_T ~ N(0, I) and apply the
 * scheduler's step from the last timestep down to 0, asking the model for its prediction at every step.
 *
 * Guidance:
 * - classifier-free (Ho & Salimans 2022): the model is run with the class labels and with the null label, and
 *   its prediction is out_uncond + guidanceScale * (out_cond - out_uncond) (1 = plain conditional sampling);
 * - classifier guidance (Dhariwal & Nichol 2021): a noise-aware classifier's gradient g = ∇x log p(y | x_t, t)
 *   shifts the predicted noise: eps' = eps - classifierScale * sqrt(1 - ab_t) * g (their Algorithm 2, which
 *   serves DDPM and DDIM alike); a model predicting v or x0 gets the same shift, converted to its output.
 *
 * Randomness: x_T is `randn` of (seed, STREAMS.initialNoise) with item n at numbers n*M .. n*M + M - 1, and each
 * step's noise comes from the scheduler at (seed, t); so a sample depends on its seed and its index alone, not on
 * the batch size. With `firstSample` = k, item n takes the numbers of item k + n, so a run of many samples can be
 * drawn in batches of bounded memory and give the same samples as one batch.
 *
 * On failure (a bad option found by the scheduler, an error in onStep, out of memory) everything the call
 * allocated is freed before the error propagates, so the next call starts from the same memory.
 */
import type { Denoiser } from '../models/denoiser.ts';
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import { addInPlace, softmaxCrossEntropy, softmaxCrossEntropyBackward, sub } from '../ops/elementwise.ts';
import { randn } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import type { DDIMScheduler, DDPMScheduler } from '../schedulers/index.ts';
import { OutOfMemoryError, Tensor, keep, tidy } from '../tensor.ts';
import { toClassLabels } from '../core/class-labels.ts';
import { checkFirstSample, stepNoiseAt } from './batch-noise.ts';

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
  /** Sampling steps (at most the scheduler's numTrainTimesteps). Default: 1000 for DDPM, 50 for DDIM. */
  numInferenceSteps?: number;
  /** Seed of the initial noise and of every step's noise. Default 0. */
  seed?: number;
  /** One label per sample, for class-conditional models (required by them). */
  classLabels?: Int32Array | number[];
  /** Classifier-free guidance weight w (1 = none; needs a class-conditional model trained with label dropout). Default 1. */
  guidanceScale?: number;
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
   * The index of this batch's first sample in a larger run: its noise is that of samples firstSample ..
   * firstSample + batchSize - 1, so sampling in batches gives the same samples as one big batch. Default 0.
   */
  firstSample?: number;
}

export interface PipelineComponents {
  model: Denoiser;
  scheduler: DDPMScheduler | DDIMScheduler;
}

export class DiffusionPipeline {
  readonly model: Denoiser;
  readonly scheduler: DDPMScheduler | DDIMScheduler;

  /**
   * @param defaultSteps numInferenceSteps when the caller gives none
   * @param isDDIM whether the scheduler's step takes DDIM's options (eta, useClippedModelOutput)
   */
  constructor({ model, scheduler }: PipelineComponents, protected readonly defaultSteps: number, protected readonly isDDIM = false) {
    this.model = model;
    this.scheduler = scheduler;
  }

  /** Samples `batchSize` items: a Tensor [batchSize, ...model.sampleShape] (the caller disposes it). */
  async generate(options: GenerateOptions = {}): Promise<Tensor> {
    const o = this.checkOptions(options);
    const { model, scheduler } = this;
    scheduler.setTimesteps(o.numInferenceSteps);
    const shape = [o.batchSize, ...model.sampleShape];
    const perItem = model.sampleShape.reduce((a, b) => a * b, 1);
    let x: Tensor | null = null;
    try {
      x = keep(randn(shape, { seed: o.seed, stream: STREAMS.initialNoise, offset: o.firstSample * perItem }));
      const timesteps = scheduler.timesteps;
      for (let index = 0; index < timesteps.length; index++) {
        const t = timesteps[index];
        let info: StepInfo | null = null;
        const current: Tensor = x;
        const next = tidy(() => {
          const output = this.predict(current, t, o);
          const noise = stepNoiseAt(current, t, o, this.isDDIM ? o.eta > 0 : t > 0);
          const stepOptions = this.isDDIM ? { seed: o.seed, eta: o.eta, useClippedModelOutput: o.useClippedModelOutput, ...noise } : { seed: o.seed, ...noise };
          const { prevSample, predOriginalSample } = scheduler.step(output, t, current, stepOptions);
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
    }
  }

  /** The model's prediction at timestep t, with classifier-free and classifier guidance applied. */
  private predict(x: Tensor, t: number, o: ResolvedGenerateOptions): Tensor {
    const { model } = this;
    const N = o.batchSize;
    const timesteps = new Int32Array(N).fill(t);
    let output: Tensor;
    if (o.classLabels && o.guidanceScale !== 1) {
      // One batch of 2N: the conditional half, then the unconditional (null label) half.
      const both = new Tensor([2 * N, ...x.shape.slice(1)]);
      both.view().set(x.view());
      both.view().set(x.view(), x.size);
      const labels = Int32Array.from({ length: 2 * N }, (_, i) => (i < N ? o.classLabels![i] : model.numClasses));
      const out = model.forward(both, new Int32Array(2 * N).fill(t), labels);
      const cond = out.subview(0, x.shape), uncond = out.subview(x.size, x.shape);
      output = uncond.reshape(x.shape);
      addInPlace(output, sub(cond, uncond), o.guidanceScale);
    } else {
      // The labels may be the classifier's alone (classifier guidance of an unconditional model).
      output = model.forward(x, timesteps, model.numClasses > 0 ? o.classLabels : null);
    }
    if (o.classifier) {
      const ab = this.scheduler.alphasCumprod[t];
      const gradient = classifierGradient(o.classifier, x, timesteps, o.classLabels!);
      addInPlace(output, gradient, -o.classifierScale * Math.sqrt(1 - ab) * this.scheduler.outputPerEpsilon(t));
    }
    return output;
  }

  private checkOptions(options: GenerateOptions): ResolvedGenerateOptions {
    const name = `${this.constructor.name}.generate`;
    const known = ['batchSize', 'numInferenceSteps', 'seed', 'classLabels', 'guidanceScale', 'classifier', 'classifierScale', 'eta', 'useClippedModelOutput', 'onStep', 'firstSample'];
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) throw new Error(`${name}: unknown option '${key}'; options are ${known.join(', ')}`);
    }
    const o = { batchSize: 1, numInferenceSteps: this.defaultSteps, seed: 0, guidanceScale: 1, classifierScale: 1, eta: 0, useClippedModelOutput: true, firstSample: 0, ...options };
    for (const ddimOption of ['eta', 'useClippedModelOutput'] as const) {
      if (!this.isDDIM && options[ddimOption] !== undefined) throw new Error(`${name}: ${ddimOption} is an option of DDIM sampling (DDIMPipeline), not of ${this.constructor.name}`);
    }
    if (typeof o.useClippedModelOutput !== 'boolean') throw new Error(`${name}: useClippedModelOutput must be true or false, got ${o.useClippedModelOutput}`);
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`${name}: batchSize must be a positive integer, got ${o.batchSize}`);
    if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new Error(`${name}: seed must be a non-negative integer, got ${o.seed}`);
    if (typeof o.eta !== 'number' || !Number.isFinite(o.eta) || o.eta < 0) throw new Error(`${name}: eta must be a finite number >= 0, got ${o.eta}`);
    checkFirstSample(name, o.firstSample, o.batchSize, this.model.sampleShape);
    if (typeof o.guidanceScale !== 'number' || !Number.isFinite(o.guidanceScale)) throw new Error(`${name}: guidanceScale must be a finite number, got ${o.guidanceScale}`);
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
    if (o.classifier) {
      if (!labels) throw new Error(`${name}: classifier guidance needs classLabels`);
      const { inChannels: C, sampleSize: S, numClasses: judged } = o.classifier.config;
      if (String([C, S, S]) !== String(this.model.sampleShape)) {
        throw new Error(`${name}: the classifier reads [${C}, ${S}, ${S}] samples, the model makes [${this.model.sampleShape.join(', ')}]`);
      }
      const unknown = labels.find((label) => label >= judged);
      if (unknown !== undefined) throw new Error(`${name}: class label ${unknown} is out of range for the classifier: it tells ${judged} classes apart (0..${judged - 1})`);
    }
    return { ...o, classLabels: labels, classifier: o.classifier ?? null };
  }
}

type ResolvedGenerateOptions = Required<Omit<GenerateOptions, 'classLabels' | 'classifier' | 'onStep'>> &
  { classLabels: Int32Array | null; classifier: NoiseAwareClassifier | null; onStep?: GenerateOptions['onStep'] };

/** ∇x log p(y | x, t) of a noise-aware classifier: backward of log-softmax at the labels. */
export function classifierGradient(classifier: NoiseAwareClassifier, x: Tensor, timesteps: Int32Array, labels: Int32Array): Tensor {
  return tidy(() => {
    const { probs } = softmaxCrossEntropy(classifier.forward(x, timesteps), labels);
    // d(-mean CE)/dlogits * N = onehot - probs, the gradient of sum_n log p(y_n | x_n).
    const dLogits = softmaxCrossEntropyBackward(probs, labels, -labels.length);
    return classifier.backward(dLogits)!;
  });
}
