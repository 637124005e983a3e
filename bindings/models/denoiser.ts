/**
 * What the schedulers, trainer and pipelines need of a denoising model: a forward that predicts the training
 * target (noise, the clean sample or v) from a noisy batch, its timesteps and optional class labels, and a
 * backward that accumulates parameter gradients. The model knows nothing of noise schedules.
 */
import type { InputGrad } from '../nn/layer.ts';
import type { DropoutContext } from '../nn/dropout.ts';
import type { ParameterSet } from '../nn/parameters.ts';
import type { Tensor } from '../tensor.ts';

export interface Denoiser {
  /** 'mlp' or 'unet2d': the key of the model's config in a checkpoint. */
  readonly kind: string;
  readonly config: object;
  readonly params: ParameterSet;
  /** The shape of one sample, e.g. [2] for 2-D points or [C, H, W] for images. */
  readonly sampleShape: readonly number[];
  /** Number of real class labels (the null label is this number), or 0 for an unconditional model. */
  readonly numClasses: number;
  /** x [N, ...sampleShape], one timestep and (for class-conditional models) one label per item. */
  forward(x: Tensor, timesteps: Int32Array, classLabels?: Int32Array | null): Tensor;
  /** Gradient of the output -> gradient of the input (see the `InputGrad` convention); adds into params.grads. */
  backward(dOut: Tensor, dx?: InputGrad): Tensor | null;
  /** Turns dropout on (training, with the masks' random address) or off (null). */
  setDropoutContext(context: DropoutContext | null): void;
}

/** Checks the class labels given to a model: present exactly when it is class-conditional, and in range. */
export function checkClassLabels(model: string, numClasses: number, batch: number, labels: Int32Array | null | undefined): Int32Array | null {
  if (numClasses === 0) {
    if (labels) throw new Error(`${model}: this model is unconditional (numClassEmbeds is 0), but class labels were given`);
    return null;
  }
  if (!labels) throw new Error(`${model}: this model is class-conditional (${numClasses} classes): give one class label per sample`);
  if (!(labels instanceof Int32Array)) throw new Error(`${model}: class labels must be an Int32Array, got ${Array.isArray(labels) ? 'an array' : typeof labels}`);
  if (labels.length !== batch) throw new Error(`${model}: got ${labels.length} class labels for a batch of ${batch}`);
  return labels;
}
