/**
 * What the schedulers, trainer and pipelines need of a denoising model: a forward that predicts the training
 * target (noise, the clean sample or v) from a noisy batch, its timesteps and optional class labels, and a
 * backward that accumulates parameter gradients. The model knows nothing of noise schedules. Every `Model`
 * (models/model.ts) but the classifier is one; any object of this shape can be sampled and trained.
 */
import type { PassOptions } from '../nn/context.ts';
import type { InputGrad } from '../nn/module.ts';
import type { ParameterSet } from '../nn/parameters.ts';
import type { Tensor } from '../tensor.ts';

export interface Denoiser {
  /** The key of the model's config in a model file ('mlp', 'unet2d'). */
  readonly kind: string;
  readonly config: object;
  readonly params: ParameterSet;
  /** The shape of one sample, e.g. [2] for 2-D points or [C, H, W] for images. */
  readonly sampleShape: readonly number[];
  /** Number of real class labels (the null label is this number), or 0 for an unconditional model. */
  readonly numClasses: number;
  /**
   * The shape of one item of the output, when it differs from sampleShape: [2C, ...] for a model that also
   * predicts its variance (improved DDPM's learned variance: the prediction's C channels, then v's). Default:
   * sampleShape.
   */
  readonly outputShape?: readonly number[];
  /**
   * For a model with labels per attribute (core/attribute-labels.ts): the number of values of each attribute; its
   * labels are the mixed-radix codes of the values, and numClasses = prod(sizes + 1) - 1. Absent otherwise.
   */
  readonly classAttributes?: readonly number[];
  /** For a model conditioned by concatenation: the channels of its conditioning image (PassOptions.condition). Default 0. */
  readonly conditionChannels?: number;
  /** x [N, ...sampleShape], one timestep and (for class-conditional models) one label per item. */
  forward(x: Tensor, timesteps: Int32Array, classLabels?: Int32Array | null, options?: PassOptions): Tensor;
  /** Gradient of the output -> gradient of the input (see `InputGrad`); adds into params.grads. */
  backward(dOut: Tensor, dx?: InputGrad): Tensor | null;
}

/** Whether the model's output holds a variance after its prediction: [2C, ...] for samples [C, ...] (see outputShape). */
export function predictsVariance(model: Denoiser): boolean {
  const out = model.outputShape ?? model.sampleShape, sample = model.sampleShape;
  return sample.length >= 2 && out.length === sample.length && out[0] === 2 * sample[0] && sample.every((d, i) => i === 0 || out[i] === d);
}
