/**
 * The quality evaluation of the conditioning tasks (bindings/data/conditioned.ts) on held-out digits (the test
 * split, never trained on), with the targets of the project's issue:
 *
 * - colorize: the luminance Y = 0.299 R + 0.587 G + 0.114 B of the output (in [0, 1]) correlates >= 0.9 with the
 *   grey input (Pearson, over the image's pixels), and its colour is one of the six: over the stroke (input > 0.5),
 *   the mean colour scaled to a largest channel of 1 lies within 0.25 (Euclidean) of a palette colour, and at
 *   least 90% of the stroke's pixels, each scaled the same way, are nearest that colour.
 * - superres: 2x2 averages of the output (in [0, 1]) give back the 14x14 input within 2/255 mean absolute error;
 *   also the error against the true 28x28 digit, next to the same errors of nearest upsampling (the condition
 *   itself, whose averages give the input back exactly) for scale.
 *
 * Seeds: batch j of the held-out digits (in the order of a fixed shuffle) is sampled with seed `seed + j`.
 */
import {
  conditionFromInput, DataOrder, DDIMScheduler, DiffusionPipeline, inputOf, ops, tidy, Tensor, type ConditionTask, type Denoiser, type ModelMetadata,
} from '../bindings/index.ts';
import { coloredMnistDataset, mnistDataset, PALETTE } from '../bindings/node.ts';
import { nearestPaletteColor } from './colors.ts';

export interface ConditionedOptions {
  /** Held-out digits to condition on. Default 200. */
  num?: number;
  /** DDIM steps. Default 50. */
  steps?: number;
  seed?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Per-image verdicts and their summary. */
export interface ConditionedEvaluation {
  task: ConditionTask;
  num: number;
  steps: number;
  samplingSeconds: number;
  /** colorize: luminance-input correlation per image, and whether its colour is one of the six (and which). */
  correlation?: Float64Array;
  colour?: Int32Array;
  /** superres: per image, the MAE (in [0, 1] units) of the output's 2x2 averages against the input, and of the output against the true digit; the same of nearest upsampling. */
  inputError?: Float64Array;
  truthError?: Float64Array;
  nearestTruthError?: Float64Array;
  /** The outputs, [num, C, 28, 28] in [-1, 1], and the inputs. */
  outputs: Float32Array;
  inputs: Float32Array;
}

const LUMA = [0.299, 0.587, 0.114];
const to01 = (v: number) => Math.min(1, Math.max(0, (v + 1) / 2));

/** Samples the model on held-out digits of its task and judges each output (see the top of the file). */
export async function evaluateConditioned(model: Denoiser, metadata: ModelMetadata, options: ConditionedOptions = {}): Promise<ConditionedEvaluation> {
  const task = metadata.data.condition?.task as ConditionTask | undefined;
  if (task !== 'colorize' && task !== 'superres') throw new Error(`evaluateConditioned: the model was trained without a conditioning task (data '${metadata.data.name}')`);
  const { num = 200, steps = 50, seed = 0, batchSize = 50, onProgress } = options;
  const data = task === 'colorize' ? coloredMnistDataset({ split: 'test' }) : mnistDataset({ split: 'test' });
  const indices = new DataOrder(data.size, 0).indices(0, num);
  const pipeline = new DiffusionPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
  const [C, H, W] = model.sampleShape;
  const truths = new Float32Array(num * C * H * W), outputs = new Float32Array(num * C * H * W);
  const inputSize = metadata.data.condition!.inputShape.reduce((a, b) => a * b, 1);
  const inputs = new Float32Array(num * inputSize);
  let seconds = 0;
  for (let start = 0, j = 0; start < num; start += batchSize, j++) {
    const count = Math.min(batchSize, num - start);
    const { x, input, condition } = tidy(() => {
      const truth = data.batch(indices.subarray(start, start + count)).x;
      const low = inputOf(task, truth);
      return { x: truth.toFloat32Array(), input: low.toFloat32Array(), condition: conditionFromInput(task, low) };
    });
    truths.set(x, start * C * H * W);
    inputs.set(input, start * inputSize);
    const started = performance.now();
    const out = await pipeline.generate({ batchSize: count, numInferenceSteps: steps, seed: seed + j, condition });
    seconds += (performance.now() - started) / 1000;
    outputs.set(out.toFloat32Array(), start * C * H * W);
    out.dispose();
    condition.dispose();
    onProgress?.(start + count, num);
  }
  const base = { task, num, steps, samplingSeconds: seconds, outputs, inputs };
  return task === 'colorize' ? { ...base, ...judgeColorization(outputs, inputs, num, H * W) } : { ...base, ...judgeSuperResolution(outputs, inputs, truths, num, H, W) };
}

/** colorize: the luminance correlation and the palette colour (-1: none of the six) of each output. */
export function judgeColorization(outputs: Float32Array, inputs: Float32Array, num: number, plane: number): { correlation: Float64Array; colour: Int32Array } {
  const correlation = new Float64Array(num), colour = new Int32Array(num);
  for (let n = 0; n < num; n++) {
    const rgb = (c: number, i: number) => to01(outputs[(n * 3 + c) * plane + i]);
    const grey = (i: number) => to01(inputs[n * plane + i]);
    const luma = Array.from({ length: plane }, (_, i) => LUMA[0] * rgb(0, i) + LUMA[1] * rgb(1, i) + LUMA[2] * rgb(2, i));
    correlation[n] = pearson(luma, Array.from({ length: plane }, (_, i) => grey(i)));
    const stroke = Array.from({ length: plane }, (_, i) => i).filter((i) => grey(i) > 0.5);
    colour[n] = strokePalette(stroke.map((i) => [rgb(0, i), rgb(1, i), rgb(2, i)]));
  }
  return { correlation, colour };
}

/** The palette colour of a stroke's pixels (see the top of the file), or -1. */
export function strokePalette(pixels: number[][]): number {
  if (pixels.length === 0) return -1;
  const mean = [0, 1, 2].map((c) => pixels.reduce((s, p) => s + p[c], 0) / pixels.length);
  const { index, distance } = nearestPaletteColor(mean);
  if (index < 0 || distance > 0.25) return -1;
  const agreeing = pixels.filter((p) => nearestPaletteColor(p).index === index).length;
  return agreeing >= 0.9 * pixels.length ? index : -1;
}

/** superres: the input's error after 2x2 averaging, the error against the truth, and nearest upsampling's. */
export function judgeSuperResolution(outputs: Float32Array, inputs: Float32Array, truths: Float32Array, num: number, H: number, W: number) {
  const size = outputs.length / num, low = size / 4;
  const mae = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(to01(v) - to01(b[i])), 0) / a.length;
  const inputError = new Float64Array(num), truthError = new Float64Array(num), nearestTruthError = new Float64Array(num);
  tidy(() => {
    const shape = [num, size / (H * W), H, W];
    const averaged = ops.avgPool2x2(Tensor.from(outputs.map((v) => Math.min(1, Math.max(-1, v))), shape)).toFloat32Array();
    const nearestUp = ops.upsampleNearest2x(Tensor.from(inputs, [num, size / (H * W), H / 2, W / 2])).toFloat32Array();
    for (let n = 0; n < num; n++) {
      inputError[n] = mae(averaged.subarray(n * low, (n + 1) * low), inputs.subarray(n * low, (n + 1) * low));
      truthError[n] = mae(outputs.subarray(n * size, (n + 1) * size), truths.subarray(n * size, (n + 1) * size));
      nearestTruthError[n] = mae(nearestUp.subarray(n * size, (n + 1) * size), truths.subarray(n * size, (n + 1) * size));
    }
  });
  return { inputError, truthError, nearestTruthError };
}

function pearson(a: number[], b: number[]): number {
  const n = a.length, ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** The evaluation as a Markdown table. */
export function formatConditioned(e: ConditionedEvaluation, name: string): string {
  const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / v.length;
  const share = (v: ArrayLike<number>, ok: (x: number) => boolean) => `${(100 * Array.from(v).filter(ok).length / v.length).toFixed(1)}%`;
  const head = `${name}: ${e.num} held-out digits, DDIM-${e.steps}, ${e.samplingSeconds.toFixed(0)} s of sampling`;
  if (e.task === 'colorize') {
    const counts = PALETTE.map((_, k) => Array.from(e.colour!).filter((c) => c === k).length);
    return [head, '', '| measure | value | target |', '| --- | --- | --- |',
      `| luminance-input correlation, mean (min) | ${mean(e.correlation!).toFixed(4)} (${Math.min(...e.correlation!).toFixed(4)}) | >= 0.9 |`,
      `| images with correlation >= 0.9 | ${share(e.correlation!, (c) => c >= 0.9)} | |`,
      `| images whose colour is one of the six | ${share(e.colour!, (c) => c >= 0)} | |`,
      `| colours drawn (${PALETTE.map((p) => p.name).join(', ')}) | ${counts.join(', ')} | |`].join('\n');
  }
  const bins = (v: Float64Array) => (255 * mean(v)).toFixed(3);
  return [head, '', '| measure (mean absolute error, in 1/255) | model | nearest upsampling | target |', '| --- | --- | --- | --- |',
    `| 2x2 averages of the output against the 14x14 input | ${bins(e.inputError!)} (${share(e.inputError!, (x) => x <= 2 / 255)} of images within 2) | 0 | <= 2 |`,
    `| the output against the true 28x28 digit | ${bins(e.truthError!)} | ${bins(e.nearestTruthError!)} | |`].join('\n');
}
