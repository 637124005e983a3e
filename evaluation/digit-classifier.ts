/**
 * The judge of the quality evaluation: a small CNN that labels 28x28 grayscale digits, trained only on real
 * digits (the 'train' split of mnistDataset), never on generated ones. It is the NoiseAwareClassifier run at
 * timestep 0: at a fixed t its encoder is a plain CNN (conv_in, resnets, strided convolutions) followed by a
 * pooling head (GroupNorm, SiLU, global average pooling, linear), so no new layer is needed.
 *
 * Training: the library's ClassifierTrainer on clean digits (t = 0): softmax cross-entropy, AdamW with a linear
 * warm-up and a linear decay to 0, gradients clipped to a global norm of 1; each digit shifted by up to
 * `maxShift` pixels (so a generated digit a little off-centre is judged by its shape). The data order and the
 * shifts are drawn from the seed, so a run is a pure function of its options, bit-identical in every runtime.
 */
import {
  ClassifierTrainer, NoiseAwareClassifier, ops, Tensor, tidy,
  type ClassifierBatch, type ClassifierConfig, type Dataset,
} from '../bindings/index.ts';
import { mnistDataset } from '../bindings/node.ts';

/** The side of the digits the classifier reads. */
export const DIGIT_SIZE = 28;

/** The classifier: 28 -> 14 -> 7 with 16, 32, 32 channels, one resnet per level, no attention (about 100k parameters). */
export const DIGIT_CLASSIFIER_CONFIG: ClassifierConfig = {
  sampleSize: DIGIT_SIZE, inChannels: 1, blockOutChannels: [16, 32, 32], layersPerBlock: 1,
  attentionResolutions: [], midBlockAttention: false, normNumGroups: 8, numClasses: 10,
};

export interface DigitClassifierOptions {
  /** Training steps. Default 600 (about 4 epochs of the 9,000 training digits at batch 64). */
  steps?: number;
  /** Digits per step. Default 64. */
  batchSize?: number;
  /** Peak learning rate of AdamW. Default 3e-3. */
  learningRate?: number;
  /** Steps of linear warm-up; the rate then decays linearly to 0 at the last step. Default 50. */
  warmupSteps?: number;
  /** AdamW's decoupled weight decay. Default 0.01. */
  weightDecay?: number;
  /** Largest random shift of a digit, in pixels, in each direction (0 = none). Default 2. */
  maxShift?: number;
  /** Seed of the weights, the data order and the shifts. Default 0. */
  seed?: number;
}

export const DIGIT_CLASSIFIER_DEFAULTS: Required<DigitClassifierOptions> = {
  steps: 600, batchSize: 64, learningRate: 3e-3, warmupSteps: 50, weightDecay: 0.01, maxShift: 2, seed: 0,
};

/** Random stream of the shifts (distinct from the library's streams, bindings/random-streams.ts). */
export const SHIFT_STREAM = 0x5e1f7;

/** Fills in the defaults and checks every option. */
export function resolveClassifierOptions(options: DigitClassifierOptions = {}): Required<DigitClassifierOptions> {
  for (const key of Object.keys(options)) {
    if (!(key in DIGIT_CLASSIFIER_DEFAULTS)) {
      throw new Error(`trainDigitClassifier: unknown option '${key}'; options are ${Object.keys(DIGIT_CLASSIFIER_DEFAULTS).join(', ')}`);
    }
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DIGIT_CLASSIFIER_DEFAULTS, ...defined } as Required<DigitClassifierOptions>;
  for (const [key, min] of [['steps', 1], ['batchSize', 1], ['warmupSteps', 0], ['maxShift', 0], ['seed', 0]] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < min) throw new Error(`trainDigitClassifier: ${key} must be an integer >= ${min}, got ${o[key]}`);
  }
  if (!(o.learningRate > 0 && o.learningRate <= 1)) throw new Error(`trainDigitClassifier: learningRate must be in (0, 1], got ${o.learningRate}`);
  if (!(o.weightDecay >= 0 && o.weightDecay < 1)) throw new Error(`trainDigitClassifier: weightDecay must be in [0, 1), got ${o.weightDecay}`);
  if (o.maxShift > 8) throw new Error(`trainDigitClassifier: maxShift must be at most 8 pixels, got ${o.maxShift}`);
  return o;
}

/** What the training loop reports after each step. */
export interface ClassifierTrainingStep {
  /** The step just taken, counting from 1, of `steps`. */
  step: number;
  steps: number;
  /** The batch's mean cross-entropy before the update. */
  loss: number;
}

export interface TrainDigitClassifierRequest extends DigitClassifierOptions {
  /** Labelled grayscale digits [1, 28, 28] in [-1, 1]. Default: mnistDataset({ split: 'train' }). */
  dataset?: Dataset;
  /** The classifier's architecture. Default DIGIT_CLASSIFIER_CONFIG. */
  config?: ClassifierConfig;
  /** Called after every step. */
  onStep?: (report: ClassifierTrainingStep) => void;
}

/** The classifier trainer on clean, randomly shifted digits at t = 0. */
class DigitClassifierTrainer extends ClassifierTrainer {
  constructor(classifier: NoiseAwareClassifier, dataset: Dataset, private readonly o: Required<DigitClassifierOptions>) {
    super({
      classifier, scheduler: null, dataset, batchSize: o.batchSize, learningRate: o.learningRate, warmupSteps: o.warmupSteps,
      decay: 'linear', decaySteps: o.steps, weightDecay: o.weightDecay, seed: o.seed,
    });
  }

  override drawBatch(step: number): ClassifierBatch {
    const batch = super.drawBatch(step);
    const { batchSize: B, maxShift, seed } = this.o;
    if (maxShift > 0) shiftDigits(batch.x, ops.randInt(2 * B, 2 * maxShift + 1, { seed, offset: 2 * step * B, stream: SHIFT_STREAM }), maxShift);
    return batch;
  }
}

/** Trains a classifier of real digits (see the top of the file); returns it with the loss of every step. */
export async function trainDigitClassifier(request: TrainDigitClassifierRequest = {}): Promise<{ classifier: NoiseAwareClassifier; losses: number[] }> {
  const { dataset = mnistDataset({ split: 'train' }), config = DIGIT_CLASSIFIER_CONFIG, onStep, ...rest } = request;
  const o = resolveClassifierOptions(rest);
  const classifier = new NoiseAwareClassifier(config, o.seed);
  checkDigitData(classifier, dataset);
  const trainer = new DigitClassifierTrainer(classifier, dataset, o);
  const losses: number[] = [];
  try {
    for await (const { step, loss } of trainer.run({ steps: o.steps })) {
      losses.push(loss);
      onStep?.({ step, steps: o.steps, loss });
    }
  } finally {
    await trainer.dispose();
  }
  return { classifier, losses };
}

/**
 * Moves every image of x [N, C, H, W] in place by (dx, dy) = (draws[2n], draws[2n + 1]) - maxShift pixels,
 * filling the uncovered border with the background (-1).
 */
export function shiftDigits(x: Tensor, draws: Int32Array, maxShift: number): void {
  const [N, C, H, W] = x.shape;
  const view = x.view();
  const plane = new Float32Array(H * W);
  for (let n = 0; n < N; n++) {
    const dx = draws[2 * n] - maxShift, dy = draws[2 * n + 1] - maxShift;
    if (dx === 0 && dy === 0) continue;
    for (let c = 0; c < C; c++) {
      const at = (n * C + c) * H * W;
      plane.set(view.subarray(at, at + H * W));
      for (let y = 0; y < H; y++) {
        for (let col = 0; col < W; col++) {
          const sy = y - dy, sx = col - dx;
          view[at + y * W + col] = sy >= 0 && sy < H && sx >= 0 && sx < W ? plane[sy * W + sx] : -1;
        }
      }
    }
  }
}

/** Images classified per forward pass (bounds the memory of the activations). */
const CLASSIFY_BATCH = 100;

/**
 * The most likely class of each image: `images` holds N images of the classifier's shape [C, S, S], back to
 * back. Ties go to the lower class.
 */
export function classifyImages(classifier: NoiseAwareClassifier, images: Float32Array): Int32Array {
  const [C, H, W] = classifier.sampleShape, K = classifier.config.numClasses;
  const M = C * H * W;
  if (images.length % M !== 0) throw new Error(`classifyImages: ${images.length} values do not make whole images of [${C}, ${H}, ${W}]`);
  const N = images.length / M;
  const predictions = new Int32Array(N);
  for (let from = 0; from < N; from += CLASSIFY_BATCH) {
    const count = Math.min(CLASSIFY_BATCH, N - from);
    tidy(() => {
      const logits = classifier.forward(Tensor.from(images.subarray(from * M, (from + count) * M), [count, C, H, W]), new Int32Array(count)).view();
      for (let n = 0; n < count; n++) predictions[from + n] = argmax(logits, n * K, K);
    });
  }
  return predictions;
}

function argmax(values: Float32Array, at: number, count: number): number {
  let best = 0;
  for (let k = 1; k < count; k++) if (values[at + k] > values[at + best]) best = k;
  return best;
}

/** Accuracy of the classifier on a labelled dataset: overall, and per class (rows of the dataset's classes). */
export function datasetAccuracy(classifier: NoiseAwareClassifier, dataset: Dataset): ClassAccuracy {
  checkDigitData(classifier, dataset);
  const { x, labels } = tidy(() => {
    const batch = dataset.batch(Int32Array.from({ length: dataset.size }, (_, i) => i));
    return { x: batch.x.toFloat32Array(), labels: batch.labels! };
  });
  return tally(classifyImages(classifier, x), labels, dataset.numClasses);
}

/** How many of each class were right. */
export interface ClassAccuracy {
  /** Fraction right over all samples. */
  accuracy: number;
  /** Per class: samples right and samples. */
  perClass: { right: number; total: number }[];
}

/** Counts predictions equal to their labels, overall and per label in [0, numClasses). */
export function tally(predictions: Int32Array, labels: Int32Array, numClasses: number): ClassAccuracy {
  const perClass = Array.from({ length: numClasses }, () => ({ right: 0, total: 0 }));
  let right = 0;
  labels.forEach((label, i) => {
    perClass[label].total++;
    if (predictions[i] === label) {
      perClass[label].right++;
      right++;
    }
  });
  return { accuracy: labels.length > 0 ? right / labels.length : 0, perClass };
}

function checkDigitData(classifier: NoiseAwareClassifier, dataset: Dataset): void {
  const { inChannels: C, sampleSize: S, numClasses } = classifier.config;
  const expected = [C, S, S].join(', '), actual = dataset.sampleShape.join(', ');
  if (expected !== actual) throw new Error(`digit classifier: it reads images of shape [${expected}], the dataset '${dataset.name}' has [${actual}]`);
  if (dataset.numClasses !== numClasses) throw new Error(`digit classifier: it tells ${numClasses} classes apart, the dataset '${dataset.name}' has ${dataset.numClasses}`);
}
