/**
 * The quality evaluation of a model with labels per attribute (colored-mnist-attributes: digit and color, composed
 * guidance; Liu et al. 2022): three kinds of request, each judged by the judges of evaluation/conditional.ts (the
 * digit classifier trained only on real digits, reading the maximum over the channels, and the stroke's color):
 *
 * - 'a d in any color' (digit d, color 'any'): the digit read right; which colors came out;
 * - 'anything c' (digit 'any', color c): the color read right; which digits came out;
 * - 'a c d' (both): digit, color, and both read right.
 *
 * Guidance: one weight per attribute (composed: out(∅) + Σ w_a (out(a) - out(∅)) over the attributes named), the
 * same weight for both. Seeds: request kind k, batch j: seed + 1000 k + j.
 */
import { DDIMScheduler, DiffusionPipeline, encodeAttributes, type Denoiser, type ModelMetadata, type NoiseAwareClassifier } from '../bindings/index.ts';
import { PALETTE } from '../bindings/node.ts';
import { classifyColors, maxOverChannels } from './colors.ts';
import { classifyImages, DIGIT_SIZE } from './digit-classifier.ts';

export interface AttributeOptions {
  /** Samples per digit ('a d in any color'), per color ('anything c'), and per pair ('a c d'). Defaults 20, 20, 4. */
  perDigit?: number;
  perColor?: number;
  perPair?: number;
  /** DDIM steps. Default 50. */
  steps?: number;
  /** The guidance weight of each named attribute. Default 1. */
  guidance?: number;
  seed?: number;
  batchSize?: number;
  onProgress?: (line: string) => void;
}

/** How often each judge agreed with the request, and what came out where the request said 'any'. */
export interface AttributeVerdict {
  samples: number;
  digitRight: number | null;
  colorRight: number | null;
  bothRight: number | null;
  /** Counts of the digits read (0-9), and of the colors read (palette order; -1 none not counted). */
  digitsRead: number[];
  colorsRead: number[];
}

export interface AttributeEvaluation {
  steps: number;
  guidance: number;
  samplingSeconds: number;
  digit: AttributeVerdict;
  color: AttributeVerdict;
  both: AttributeVerdict;
}

const SIZES = [10, PALETTE.length];

export async function evaluateAttributeModel(
  model: Denoiser, metadata: ModelMetadata, classifier: NoiseAwareClassifier, options: AttributeOptions = {},
): Promise<AttributeEvaluation> {
  if (metadata.data.name !== 'colored-mnist-attributes' || String(model.classAttributes) !== String(SIZES)) {
    throw new Error(`evaluateAttributeModel: the model must be trained on colored-mnist-attributes with --class-cond (labels per attribute), not '${metadata.data.name}'`);
  }
  const { perDigit = 20, perColor = 20, perPair = 4, steps = 50, guidance = 1, seed = 0, batchSize = 60, onProgress } = options;
  const pipeline = new DiffusionPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
  let seconds = 0;
  const request = async (kind: number, wanted: [number, number][]): Promise<AttributeVerdict> => {
    const labels = Int32Array.from(wanted, (values) => encodeAttributes(values, SIZES));
    const plane = DIGIT_SIZE * DIGIT_SIZE;
    const images = new Float32Array(labels.length * 3 * plane);
    for (let start = 0, j = 0; start < labels.length; start += batchSize, j++) {
      const count = Math.min(batchSize, labels.length - start);
      const started = performance.now();
      const out = await pipeline.generate({
        batchSize: count, numInferenceSteps: steps, seed: seed + 1000 * kind + j, classLabels: labels.subarray(start, start + count), guidanceScale: [guidance, guidance],
      });
      seconds += (performance.now() - started) / 1000;
      images.set(out.toFloat32Array(), start * 3 * plane);
      out.dispose();
      onProgress?.(`request ${['digit', 'color', 'both'][kind]}: ${start + count}/${labels.length}`);
    }
    const digits = classifyImages(classifier, maxOverChannels(images, 3, plane)), colors = classifyColors(images, plane);
    const rate = (right: (i: number) => boolean) => wanted.filter((_, i) => right(i)).length / wanted.length;
    const named = (a: number) => wanted.every((values) => values[a] < SIZES[a]);
    const digitOk = (i: number) => digits[i] === wanted[i][0], colorOk = (i: number) => colors[i] === wanted[i][1];
    return {
      samples: wanted.length,
      digitRight: named(0) ? rate(digitOk) : null, colorRight: named(1) ? rate(colorOk) : null,
      bothRight: named(0) && named(1) ? rate((i) => digitOk(i) && colorOk(i)) : null,
      digitsRead: Array.from({ length: 10 }, (_, d) => digits.filter((v) => v === d).length),
      colorsRead: PALETTE.map((_, c) => colors.filter((v) => v === c).length),
    };
  };
  const repeat = <T>(values: T[], times: number) => values.flatMap((v) => new Array<T>(times).fill(v));
  const digitRequests = repeat(Array.from({ length: 10 }, (_, d): [number, number] => [d, SIZES[1]]), perDigit);
  const colorRequests = repeat(PALETTE.map((_, c): [number, number] => [SIZES[0], c]), perColor);
  const pairRequests = repeat(Array.from({ length: 60 }, (_, k): [number, number] => [Math.floor(k / 6), k % 6]), perPair);
  return {
    steps, guidance,
    digit: await request(0, digitRequests), color: await request(1, colorRequests), both: await request(2, pairRequests),
    samplingSeconds: seconds,
  };
}

/** The evaluation as a Markdown table. */
export function formatAttributes(e: AttributeEvaluation, name: string): string {
  const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);
  const row = (what: string, v: AttributeVerdict) =>
    `| ${what} | ${v.samples} | ${pct(v.digitRight)} | ${pct(v.colorRight)} | ${pct(v.bothRight)} | ${v.digitsRead.join(' ')} | ${v.colorsRead.join(' ')} |`;
  return [
    `${name}: DDIM-${e.steps}, guidance ${e.guidance} per named attribute (composed), ${e.samplingSeconds.toFixed(0)} s of sampling`, '',
    '| request | samples | digit right | color right | both right | digits read (0-9) | colors read (r g b y m c) |', '| --- | --- | --- | --- | --- | --- | --- |',
    row("'a d in any color'", e.digit), row("'anything c'", e.color), row("'a c d'", e.both),
  ].join('\n');
}
