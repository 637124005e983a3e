/**
 * Conditioning tasks: a dataset of images paired with a conditioning image made from each, for a U-Net conditioned
 * by concatenation (conditionChannels; nn/condition-input.ts):
 *
 * - 'colorize': colour a grey digit. Samples are colored digits [3, S, S]; the condition is the digit's grey image
 *   [1, S, S], the maximum over the channels (a tint of 0 or 1 per channel leaves the digit itself there).
 * - 'superres': 2x super-resolution (SR3, Saharia et al. 2021). Samples are digits [C, S, S]; the input is the
 *   low-resolution image [C, S/2, S/2] (2x2 averages), and the condition is that image upsampled to [C, S, S]
 *   (nearest), so that the model sees it pixel for pixel beside the sample.
 *
 * `conditionFromInput` makes the model's condition from what a user gives (the grey image, or the low-resolution
 * one); `inputOf` makes that input from a sample (for held-out evaluation).
 */
import { upsampleNearest2x } from '../ops/elementwise.ts';
import { avgPool2x2 } from '../ops/resample.ts';
import { Tensor, tidy } from '../tensor.ts';
import type { Dataset } from './dataset.ts';

export type ConditionTask = 'colorize' | 'superres';
export const CONDITION_TASKS: readonly ConditionTask[] = ['colorize', 'superres'];

/** What a conditioning task's dataset says about its conditions (Dataset.condition). */
export interface ConditionDescription {
  readonly task: ConditionTask;
  /** One condition as the model takes it: [k, H, W]. */
  readonly shape: readonly number[];
  /** One input as a user gives it: [1, H, W] grey for 'colorize', [C, H/2, W/2] for 'superres'. */
  readonly inputShape: readonly number[];
}

/** The task's condition and input shapes for samples of `sampleShape` [C, H, W]. */
export function describeCondition(task: ConditionTask, sampleShape: readonly number[]): ConditionDescription {
  const [C, H, W] = sampleShape;
  if (task === 'colorize') {
    if (C !== 3) throw new Error(`colorize: the samples must be colour images [3, H, W], got [${sampleShape.join(', ')}]`);
    return { task, shape: [1, H, W], inputShape: [1, H, W] };
  }
  if (H % 2 !== 0 || W % 2 !== 0) throw new Error(`superres: the samples' height and width must be even (2x), got [${sampleShape.join(', ')}]`);
  return { task, shape: [C, H, W], inputShape: [C, H / 2, W / 2] };
}

/** The user's input of each sample x [N, C, H, W]: its grey image ('colorize') or its 2x2 averages ('superres'). */
export function inputOf(task: ConditionTask, x: Tensor): Tensor {
  if (task === 'superres') return avgPool2x2(x);
  const [N, C, H, W] = x.shape;
  const values = x.toFloat32Array(), plane = H * W;
  const grey = new Float32Array(N * plane);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < plane; i++) {
      let value = values[n * C * plane + i];
      for (let c = 1; c < C; c++) value = Math.max(value, values[(n * C + c) * plane + i]);
      grey[n * plane + i] = value;
    }
  }
  return Tensor.from(grey, [N, 1, H, W]);
}

/** The model's condition from users' inputs [N, ...inputShape]: the grey image itself, or the low-resolution one upsampled. */
export function conditionFromInput(task: ConditionTask, input: Tensor): Tensor {
  return task === 'superres' ? upsampleNearest2x(input) : input.clone();
}

/** A dataset of `base`'s samples (and labels) with the task's condition of each, computed once. */
export class ConditionedDataset implements Dataset {
  readonly name: string;
  readonly size: number;
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly condition: ConditionDescription;
  private readonly conditions: Float32Array;
  private readonly conditionSize: number;

  constructor(private readonly base: Dataset, task: ConditionTask) {
    this.name = base.name;
    this.size = base.size;
    this.sampleShape = base.sampleShape;
    this.numClasses = base.numClasses;
    this.classNames = base.classNames;
    this.condition = describeCondition(task, base.sampleShape);
    this.conditionSize = this.condition.shape.reduce((a, b) => a * b, 1);
    this.conditions = new Float32Array(this.size * this.conditionSize);
    const chunk = 512;
    for (let start = 0; start < this.size; start += chunk) {
      const indices = Int32Array.from({ length: Math.min(chunk, this.size - start) }, (_, i) => start + i);
      this.conditions.set(tidy(() => conditionFromInput(task, inputOf(task, base.batch(indices).x)).toFloat32Array()), start * this.conditionSize);
    }
  }

  batch(indices: Int32Array): { x: Tensor; labels: Int32Array | null; condition: Tensor } {
    const { x, labels } = this.base.batch(indices);
    const condition = new Tensor([indices.length, ...this.condition.shape]);
    const view = condition.view();
    indices.forEach((index, i) => view.set(this.conditions.subarray(index * this.conditionSize, (index + 1) * this.conditionSize), i * this.conditionSize));
    return { x, labels, condition };
  }
}
