/**
 * Training of a noise-aware classifier for classifier guidance (Dhariwal & Nichol 2021, section 4): the
 * classifier sees noisy samples x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps at uniformly random timesteps t and
 * learns p(y | x_t, t) with the cross-entropy loss, in the one training loop (train/loop.ts): AdamW with a
 * linear learning-rate warm-up, the gradient clipped to a global norm of 1, as the diffusion trainer does.
 * Without a scheduler it is a plain classifier of clean samples at t = 0.
 *
 * Random draws follow the diffusion trainer's addressing (sample g = step * batchSize + i takes number g of the
 * timestep stream and numbers g*M .. g*M + M - 1 of the noise stream), on streams of its own, so a run is a pure
 * function of its options, bit-identical in every runtime.
 */
import type { Dataset } from '../data/dataset.ts';
import { DataOrder } from '../data/dataset.ts';
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import { softmaxCrossEntropy, softmaxCrossEntropyBackward } from '../ops/elementwise.ts';
import { randInt, randn } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import type { NoiseScheduler, SchedulerOptions } from '../schedulers/index.ts';
import { tidy, type Tensor } from '../tensor.ts';
import { TrainingLoop, type LoopReport } from './loop.ts';
import { AdamW, type LearningRateDecay } from './optimizer.ts';

export interface ClassifierTrainerOptions {
  classifier: NoiseAwareClassifier;
  /**
   * The noise schedule of the diffusion model the classifier will guide (its numTrainTimesteps and betas); null
   * trains on clean samples at t = 0.
   */
  scheduler: NoiseScheduler<SchedulerOptions> | null;
  /** Labelled samples of the classifier's input shape. */
  dataset: Dataset;
  /** Samples per step. Default 64. */
  batchSize?: number;
  /** Peak learning rate of AdamW. Default 3e-4. */
  learningRate?: number;
  /** Steps of linear learning-rate warm-up. Default 100. */
  warmupSteps?: number;
  /** After the warm-up: 'constant', or 'linear' / 'cosine' decay to 0 at decaySteps. Default 'constant'. */
  decay?: LearningRateDecay;
  /** The step where the decay reaches 0. Default 0. */
  decaySteps?: number;
  /** AdamW's decoupled weight decay. Default 0. */
  weightDecay?: number;
  /** Seed of the data order, timesteps and noise. Default 0. */
  seed?: number;
}

export type ClassifierHyperparameters = Required<Omit<ClassifierTrainerOptions, 'classifier' | 'scheduler' | 'dataset'>>;

export const CLASSIFIER_TRAINER_DEFAULTS: ClassifierHyperparameters = {
  batchSize: 64, learningRate: 3e-4, warmupSteps: 100, decay: 'constant', decaySteps: 0, weightDecay: 0, seed: 0,
};

/** What each step reports: the step (from 1), the batch's mean cross-entropy before the update, the fraction of the batch classified right, the gradient norm and the learning rate. */
export type ClassifierStepReport = LoopReport<{ loss: number; accuracy: number }>;

/** A batch of classifier training: inputs (noisy or not), their timesteps and labels. */
export interface ClassifierBatch { x: Tensor; timesteps: Int32Array; labels: Int32Array }

export class ClassifierTrainer extends TrainingLoop<{ loss: number; accuracy: number }> {
  readonly classifier: NoiseAwareClassifier;
  readonly scheduler: NoiseScheduler<SchedulerOptions> | null;
  readonly dataset: Dataset;
  readonly options: ClassifierHyperparameters;
  protected readonly order: DataOrder;

  constructor(options: ClassifierTrainerOptions) {
    const { classifier, scheduler, dataset, ...rest } = options;
    const o = resolveOptions(rest);
    checkCompatible(classifier, dataset);
    super(classifier.params, new AdamW(classifier.params.size, {
      learningRate: o.learningRate, warmupSteps: o.warmupSteps, decay: o.decay, decaySteps: o.decaySteps,
      weightDecay: o.weightDecay, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, gradClipNorm: 1,
    }), null);
    this.options = o;
    this.classifier = classifier;
    this.scheduler = scheduler;
    this.dataset = dataset;
    this.order = new DataOrder(dataset.size, o.seed);
  }

  /** A batch's cross-entropy and its gradient. */
  protected computeGradient(step: number): { loss: number; accuracy: number } {
    return tidy(() => {
      const { x, timesteps, labels } = this.drawBatch(step);
      this.params.zeroGrads();
      const { loss, probs } = softmaxCrossEntropy(this.classifier.forward(x, timesteps), labels);
      this.classifier.backward(softmaxCrossEntropyBackward(probs, labels), null);
      return { loss, accuracy: accuracy(probs, labels) };
    });
  }

  /**
   * The batch of step `step`: samples in data order (sample g = step * batchSize + i), their labels, and with a
   * scheduler, x_t at timestep number g of the timestep stream with noise numbers g*M .. g*M + M - 1.
   */
  drawBatch(step: number): ClassifierBatch {
    const { batchSize: B, seed } = this.options;
    const first = step * B;
    const { x: x0, labels } = this.dataset.batch(this.order.indices(first, B));
    if (this.scheduler === null) return { x: x0, timesteps: new Int32Array(B), labels: labels! };
    const M = x0.size / B;
    const timesteps = randInt(B, this.scheduler.config.numTrainTimesteps, { seed, offset: first, stream: STREAMS.classifierTimesteps });
    const noise = randn(x0.shape, { seed, offset: first * M, stream: STREAMS.classifierNoise });
    return { x: this.scheduler.addNoise(x0, noise, timesteps), timesteps, labels: labels! };
  }
}

/** The fraction of rows whose largest probability is at the label. */
function accuracy(probs: Tensor, labels: Int32Array): number {
  const p = probs.view();
  const classes = probs.shape[1];
  let right = 0;
  labels.forEach((label, n) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (p[n * classes + k] > p[n * classes + best]) best = k;
    if (best === label) right++;
  });
  return right / labels.length;
}

function resolveOptions(options: Partial<ClassifierHyperparameters>): ClassifierHyperparameters {
  for (const key of Object.keys(options)) {
    if (!(key in CLASSIFIER_TRAINER_DEFAULTS)) {
      throw new Error(`ClassifierTrainer: unknown option '${key}'; options are classifier, scheduler, dataset, ${Object.keys(CLASSIFIER_TRAINER_DEFAULTS).join(', ')}`);
    }
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...CLASSIFIER_TRAINER_DEFAULTS, ...defined } as ClassifierHyperparameters;
  for (const [key, min] of [['batchSize', 1], ['warmupSteps', 0], ['decaySteps', 0], ['seed', 0]] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < min) throw new Error(`ClassifierTrainer: ${key} must be an integer >= ${min}, got ${o[key]}`);
  }
  if (!(o.learningRate > 0 && o.learningRate <= 1)) throw new Error(`ClassifierTrainer: learningRate must be in (0, 1], got ${o.learningRate}`);
  if (!(o.weightDecay >= 0 && o.weightDecay < 1)) throw new Error(`ClassifierTrainer: weightDecay must be in [0, 1), got ${o.weightDecay}`);
  if (!['constant', 'linear', 'cosine'].includes(o.decay)) throw new Error(`ClassifierTrainer: decay must be 'constant', 'linear' or 'cosine', got ${String(o.decay)}`);
  return o;
}

function checkCompatible(classifier: NoiseAwareClassifier, dataset: Dataset): void {
  const { inChannels: C, sampleSize: S, numClasses } = classifier.config;
  const expected = [C, S, S].join(', '), actual = dataset.sampleShape.join(', ');
  if (expected !== actual) throw new Error(`ClassifierTrainer: the classifier takes samples of shape [${expected}], the dataset '${dataset.name}' has [${actual}]`);
  if (dataset.numClasses !== numClasses) {
    throw new Error(`ClassifierTrainer: the classifier tells ${numClasses} classes apart, the dataset '${dataset.name}' has ${dataset.numClasses}`);
  }
}
