/**
 * The quality evaluation of a class-conditional digit model: ask it for each class, sample with DDIM, and check
 * what came out with judges that never saw a generated digit.
 *
 * - mnist (10 classes): K samples per digit; the digit classifier (trained only on real digits) must label each
 *   one as the digit asked for.
 * - colored-mnist (60 classes, label digit * 6 + color): K samples per (digit, color) pair; the classifier reads
 *   the digit from the maximum over the channels and the stroke's mean color must be nearest the palette color
 *   asked for ('a red 7 is a red 7').
 *
 * Seeds: the samples of digit d (all its colors, for colored digits) are drawn in batches of at most
 * `batchSize` (64), batch j with seed `seed + d + 10 j`; so every number is reproducible from (seed, K,
 * batchSize, steps, guidance, eta) alone.
 */
import {
  DiffusionPipeline, samplerScheduler, SAMPLERS, type Denoiser, type SamplerName, type ModelMetadata, type NoiseAwareClassifier, type SchedulerOptions,
} from '../bindings/index.ts';
import { PALETTE } from '../bindings/node.ts';
import { classifyColors, maxOverChannels } from './colors.ts';
import { DIGIT_SIZE, classifyImages, tally, type ClassAccuracy } from './digit-classifier.ts';

/** The data the evaluation knows how to judge. */
export type DigitData = 'mnist' | 'colored-mnist';

/** Default samples per class: per digit for mnist, per (digit, color) pair for colored-mnist. */
export const DEFAULT_PER_CLASS: Readonly<Record<DigitData, number>> = { mnist: 50, 'colored-mnist': 4 };

export interface SamplingOptions {
  /** Samples per class (see DEFAULT_PER_CLASS): a positive integer. */
  perClass?: number;
  /** The sampler (the library's samplers by name). Default 'ddim'; a distilled model samples as its file records. */
  sampler?: SamplerName;
  /** Karras et al.'s noise levels, for the samplers that have them. Default false. */
  karras?: boolean;
  /** Sampling steps. Default 50. */
  steps?: number;
  /** Classifier-free guidance weight (1 = plain conditional sampling). Default 1. */
  guidance?: number;
  /** DDIM's eta (0 = deterministic). Default 0. */
  eta?: number;
  /** Base seed (see the top of the file). Default 0. */
  seed?: number;
  /** Samples per call of the pipeline at most (bounds the memory of the activations). Default 64. */
  batchSize?: number;
  /** Called after each digit's batch with the samples drawn so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

interface EvaluationBase {
  perClass: number;
  sampler: SamplerName;
  karras: boolean;
  steps: number;
  guidance: number;
  eta: number;
  seed: number;
  /** Samples drawn, and the seconds sampling took (classification excluded). */
  samples: number;
  samplingSeconds: number;
  /** The generated images, cropped to 28x28, back to back ([N, C, 28, 28] in [-1, 1]), in label order. */
  images: Float32Array;
  /** The label each image was asked for. */
  labels: Int32Array;
}

export interface DigitEvaluation extends EvaluationBase {
  data: 'mnist';
  /** The classifier's verdict on the generated digits, per digit asked for. */
  digits: ClassAccuracy;
}

export interface ColoredEvaluation extends EvaluationBase, ColoredVerdict {
  data: 'colored-mnist';
}

export type Evaluation = DigitEvaluation | ColoredEvaluation;

/**
 * Which digit data a model was trained on; throws, naming `source`, unless it is a class-conditional model of
 * mnist or colored-mnist digits.
 */
export function checkDigitModel(model: Denoiser, metadata: ModelMetadata, source = 'the model'): DigitData {
  const name = metadata.data?.name;
  if (name !== 'mnist' && name !== 'colored-mnist') {
    throw new Error(`${source} was trained on '${name}', not on mnist or colored-mnist: the evaluation judges generated digits`);
  }
  if (model.numClasses === 0) {
    throw new Error(`${source} is unconditional (trained without --class-cond): the evaluation asks for each class, so it needs a class-conditional model`);
  }
  const classes = name === 'mnist' ? 10 : 10 * PALETTE.length;
  const channels = name === 'mnist' ? 1 : 3;
  if (model.numClasses !== classes) throw new Error(`${source} has ${model.numClasses} classes; a ${name} model has ${classes}`);
  const [C, H, W] = model.sampleShape;
  if (model.sampleShape.length !== 3 || C !== channels || H !== W || H < DIGIT_SIZE) {
    throw new Error(`${source} makes samples of shape [${model.sampleShape.join(', ')}]; ${name} samples are [${channels}, S, S] with S >= ${DIGIT_SIZE}`);
  }
  return name;
}

/** Samples the model for every class and judges the samples (see the top of the file). */
export async function evaluateModel(
  model: Denoiser, metadata: ModelMetadata, classifier: NoiseAwareClassifier, options: SamplingOptions = {},
): Promise<Evaluation> {
  const data = checkDigitModel(model, metadata);
  const record = metadata.sampling;
  // A distilled model samples one way only: its file's.
  const o = resolveSampling(record ? { ...options, sampler: record.sampler, steps: record.steps, guidance: record.guidanceScale, karras: false } : options, data);
  const stored = record ? { ...metadata.scheduler, timestepSpacing: record.timestepSpacing } : metadata.scheduler;
  const { images, labels, seconds } = await sampleAllClasses(model, stored, data, o, options.onProgress);
  const base = { ...o, samples: labels.length, samplingSeconds: seconds, images, labels };
  return data === 'mnist'
    ? { data, ...base, digits: judgeDigits(classifier, images, labels) }
    : { data, ...base, ...judgeColoredDigits(classifier, images, labels) };
}

/** The classifier's verdict on grayscale digits [N, 1, 28, 28] against the digits asked for. */
export function judgeDigits(classifier: NoiseAwareClassifier, images: Float32Array, labels: Int32Array): ClassAccuracy {
  return tally(classifyImages(classifier, images), labels, 10);
}

/** What the judges say of colored digits. */
export interface ColoredVerdict {
  /** Per digit asked for: the digit read right. */
  digits: ClassAccuracy;
  /** Per color asked for: the color read right. */
  colors: ClassAccuracy;
  /** Per label (digit * 6 + color): both read right. */
  both: ClassAccuracy;
  /** Per label: the digit read right (whatever the color), and the color read right (whatever the digit). */
  digitsByLabel: ClassAccuracy;
  colorsByLabel: ClassAccuracy;
}

/**
 * The verdict on colored digits [N, 3, 28, 28] against their labels (digit * 6 + color): the digit read by the
 * classifier from the maximum over the channels, the color from the stroke, and both.
 */
export function judgeColoredDigits(classifier: NoiseAwareClassifier, images: Float32Array, labels: Int32Array): ColoredVerdict {
  const plane = DIGIT_SIZE * DIGIT_SIZE;
  const K = PALETTE.length;
  const digitsAsked = labels.map((label) => Math.floor(label / K));
  const colorsAsked = labels.map((label) => label % K);
  const digitsRead = classifyImages(classifier, maxOverChannels(images, 3, plane));
  const colorsRead = classifyColors(images, plane);
  // Per-label tallies of one judge: the label itself when that judge was right, -1 when it was wrong.
  const whenRight = (right: (i: number) => boolean) => labels.map((label, i) => (right(i) ? label : -1));
  const digitRight = (i: number) => digitsRead[i] === digitsAsked[i];
  const colorRight = (i: number) => colorsRead[i] === colorsAsked[i];
  return {
    digits: tally(digitsRead, digitsAsked, 10),
    colors: tally(colorsRead, colorsAsked, K),
    both: tally(whenRight((i) => digitRight(i) && colorRight(i)), labels, 10 * K),
    digitsByLabel: tally(whenRight(digitRight), labels, 10 * K),
    colorsByLabel: tally(whenRight(colorRight), labels, 10 * K),
  };
}

export type ResolvedSampling = Required<Omit<SamplingOptions, 'onProgress'>>;

/** Fills in the defaults of the sampling options for `data` and checks them (before any sampling). */
export function resolveSampling(options: SamplingOptions, data: DigitData): ResolvedSampling {
  const known = ['perClass', 'sampler', 'karras', 'steps', 'guidance', 'eta', 'seed', 'batchSize', 'onProgress'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(`evaluateModel: unknown option '${key}'; options are ${known.join(', ')}`);
  }
  const { onProgress: _unused, ...rest } = options;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const o = { perClass: DEFAULT_PER_CLASS[data], sampler: 'ddim', karras: false, steps: 50, guidance: 1, eta: 0, seed: 0, batchSize: 64, ...defined } as ResolvedSampling;
  if (!SAMPLERS.includes(o.sampler)) throw new Error(`evaluateModel: sampler must be one of ${SAMPLERS.join(', ')}, got ${String(o.sampler)}`);
  if (o.eta !== 0 && o.sampler !== 'ddim') throw new Error(`evaluateModel: eta is an option of the ddim sampler, not ${o.sampler}`);
  for (const [key, min] of [['perClass', 1], ['steps', 1], ['seed', 0], ['batchSize', 1]] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < min) throw new Error(`evaluateModel: ${key} must be an integer >= ${min}, got ${o[key]}`);
  }
  if (!Number.isFinite(o.guidance)) throw new Error(`evaluateModel: guidance must be a finite number, got ${o.guidance}`);
  if (!(o.eta >= 0 && Number.isFinite(o.eta))) throw new Error(`evaluateModel: eta must be a finite number >= 0, got ${o.eta}`);
  return o;
}

/** Every class's samples, cropped to 28x28, in label order: per digit, batches of at most o.batchSize. */
async function sampleAllClasses(
  model: Denoiser, stored: SchedulerOptions, data: DigitData, o: ResolvedSampling, onProgress?: (done: number, total: number) => void,
): Promise<{ images: Float32Array; labels: Int32Array; seconds: number }> {
  const colors = data === 'mnist' ? 1 : PALETTE.length;
  const perDigit = colors * o.perClass;
  const [C, S] = model.sampleShape;
  const M = C * DIGIT_SIZE * DIGIT_SIZE;
  const total = 10 * perDigit;
  const images = new Float32Array(total * M);
  const labels = Int32Array.from({ length: total }, (_, i) => Math.floor(i / o.perClass));
  const pipeline = new DiffusionPipeline({ model, scheduler: samplerScheduler(o.sampler, stored ?? {}, { karras: o.karras }) });
  let seconds = 0;
  for (let digit = 0; digit < 10; digit++) {
    for (let chunk = 0; chunk * o.batchSize < perDigit; chunk++) {
      const from = digit * perDigit + chunk * o.batchSize;
      const count = Math.min(o.batchSize, (digit + 1) * perDigit - from);
      const started = performance.now();
      const out = await pipeline.generate({
        batchSize: count, numInferenceSteps: o.steps, seed: o.seed + digit + 10 * chunk, classLabels: labels.subarray(from, from + count),
        guidanceScale: o.guidance, ...(o.sampler === 'ddim' && { eta: o.eta }),
      });
      seconds += (performance.now() - started) / 1000;
      images.set(cropCentre(out.toFloat32Array(), S, DIGIT_SIZE), from * M);
      out.dispose();
      onProgress?.(from + count, total);
    }
  }
  return { images, labels, seconds };
}

/** The centre `size` x `size` of every plane of side `side` (digits padded beyond 28 are cropped back). */
export function cropCentre(data: Float32Array, side: number, size: number): Float32Array {
  if (side === size) return data;
  const pad = (side - size) >> 1;
  const planes = data.length / (side * side);
  const out = new Float32Array(planes * size * size);
  for (let plane = 0; plane < planes; plane++) {
    for (let y = 0; y < size; y++) {
      const from = plane * side * side + (y + pad) * side + pad;
      out.set(data.subarray(from, from + size), (plane * size + y) * size);
    }
  }
  return out;
}
