/**
 * Training of a noise-aware classifier for classifier guidance (Dhariwal & Nichol 2021, section 4): the
 * classifier sees noisy samples x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps at uniformly random timesteps t and
 * learns p(y | x_t, t) with the cross-entropy loss, AdamW and a linear learning-rate warm-up; the gradient is
 * clipped to a global norm of 1, as the diffusion trainer does.
 *
 * Random draws follow the diffusion trainer's addressing (sample g = step * batchSize + i takes number g of the
 * timestep stream and numbers g*M .. g*M + M - 1 of the noise stream), on streams of its own, so a run is a pure
 * function of its options, bit-identical in every runtime.
 */
import type { Dataset } from '../data/dataset.ts';
import { DataOrder } from '../data/dataset.ts';
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import { adamwStep } from '../ops/adamw.ts';
import { countNonFinite, softmaxCrossEntropy, softmaxCrossEntropyBackward } from '../ops/elementwise.ts';
import { randInt, randn } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import type { NoiseScheduler, SchedulerOptions } from '../schedulers/index.ts';
import { Tensor, tidy } from '../tensor.ts';
import { clipGradNorm } from './clip-grad-norm.ts';
import { allocateAll } from './trainer.ts';

export interface ClassifierTrainerOptions {
  classifier: NoiseAwareClassifier;
  /** The noise schedule of the diffusion model the classifier will guide (its numTrainTimesteps and betas). */
  scheduler: NoiseScheduler<SchedulerOptions>;
  /** Labelled samples of the classifier's input shape. */
  dataset: Dataset;
  /** Samples per step. Default 64. */
  batchSize?: number;
  /** Peak learning rate of AdamW. Default 3e-4. */
  learningRate?: number;
  /** Steps of linear learning-rate warm-up. Default 100. */
  warmupSteps?: number;
  /** AdamW's decoupled weight decay. Default 0. */
  weightDecay?: number;
  /** Seed of the data order, timesteps and noise. Default 0. */
  seed?: number;
}

export type ClassifierHyperparameters = Required<Omit<ClassifierTrainerOptions, 'classifier' | 'scheduler' | 'dataset'>>;

export const CLASSIFIER_TRAINER_DEFAULTS: ClassifierHyperparameters = { batchSize: 64, learningRate: 3e-4, warmupSteps: 100, weightDecay: 0, seed: 0 };

/** What each step reports. */
export interface ClassifierStepReport {
  /** The step just taken, counting from 1. */
  step: number;
  /** The batch's mean cross-entropy before the update. */
  loss: number;
  /** The fraction of the batch classified right (the highest probability on the true label). */
  accuracy: number;
  /** The learning rate used. */
  learningRate: number;
}

export class ClassifierTrainer {
  readonly classifier: NoiseAwareClassifier;
  readonly scheduler: NoiseScheduler<SchedulerOptions>;
  readonly dataset: Dataset;
  readonly options: ClassifierHyperparameters;
  /** Steps taken so far. */
  step = 0;
  private readonly adamM: Tensor;
  private readonly adamV: Tensor;
  private readonly order: DataOrder;

  constructor(options: ClassifierTrainerOptions) {
    const { classifier, scheduler, dataset, ...rest } = options;
    this.options = resolveOptions(rest);
    checkCompatible(classifier, dataset);
    this.classifier = classifier;
    this.scheduler = scheduler;
    this.dataset = dataset;
    const size = classifier.params.size;
    [this.adamM, this.adamV] = allocateAll(() => [Tensor.zeros([size]), Tensor.zeros([size])],
      `ClassifierTrainer (${size.toLocaleString('en-US')} parameters)`, 'use a smaller classifier');
    this.order = new DataOrder(dataset.size, this.options.seed);
  }

  /** Runs `steps` more steps, yielding a report after each. */
  async *run({ steps }: { steps: number }): AsyncGenerator<ClassifierStepReport> {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`ClassifierTrainer.run: steps must be a positive integer, got ${steps}`);
    for (let i = 0; i < steps; i++) {
      yield this.trainStep();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** One step: a noisy batch, cross-entropy, its gradient, clipping and AdamW. */
  trainStep(): ClassifierStepReport {
    return tidy(() => {
      const { x, timesteps, labels } = this.drawBatch(this.step);
      const params = this.classifier.params;
      params.zeroGrads();
      const { loss, probs } = softmaxCrossEntropy(this.classifier.forward(x, timesteps), labels);
      this.classifier.backward(softmaxCrossEntropyBackward(probs, labels), null);
      if (!Number.isFinite(loss) || countNonFinite(params.grads) > 0) {
        throw new Error(`classifier training diverged at step ${this.step + 1}: the loss or a gradient is NaN or infinite (loss ${loss}); lower the learning rate`);
      }
      clipGradNorm(params.grads, 1);
      const { learningRate, warmupSteps, weightDecay } = this.options;
      const lr = this.step < warmupSteps ? (learningRate * (this.step + 1)) / warmupSteps : learningRate;
      adamwStep(params.values, params.grads, this.adamM, this.adamV, { lr, weightDecay, step: this.step + 1 });
      this.step++;
      return { step: this.step, loss, accuracy: accuracy(probs, labels), learningRate: lr };
    });
  }

  /** The noisy batch of step `step`: x_t of samples in data order, their timesteps and labels. */
  drawBatch(step: number): { x: Tensor; timesteps: Int32Array; labels: Int32Array } {
    const { batchSize: B, seed } = this.options;
    const first = step * B;
    const { x: x0, labels } = this.dataset.batch(this.order.indices(first, B));
    const M = x0.size / B;
    const timesteps = randInt(B, this.scheduler.config.numTrainTimesteps, { seed, offset: first, stream: STREAMS.classifierTimesteps });
    const noise = randn(x0.shape, { seed, offset: first * M, stream: STREAMS.classifierNoise });
    return { x: this.scheduler.addNoise(x0, noise, timesteps), timesteps, labels: labels! };
  }

  /** Frees the optimizer state (the classifier keeps its parameters). */
  dispose(): void {
    this.adamM.dispose();
    this.adamV.dispose();
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
  for (const [key, min] of [['batchSize', 1], ['warmupSteps', 0], ['seed', 0]] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < min) throw new Error(`ClassifierTrainer: ${key} must be an integer >= ${min}, got ${o[key]}`);
  }
  if (!(o.learningRate > 0 && o.learningRate <= 1)) throw new Error(`ClassifierTrainer: learningRate must be in (0, 1], got ${o.learningRate}`);
  if (!(o.weightDecay >= 0 && o.weightDecay < 1)) throw new Error(`ClassifierTrainer: weightDecay must be in [0, 1), got ${o.weightDecay}`);
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
