/**
 * Conditioning inputs of the denoisers.
 * - Timesteps: the sinusoidal embedding of the timestep (Vaswani et al.; diffusers' Timesteps with
 *   flip_sin_to_cos = true, downscale_freq_shift = 0: [cos, sin] of t * 10000^(-i / half)). No parameters.
 * - TimestepEmbedding: the MLP that projects it (linear_1, SiLU, linear_2), named as in diffusers.
 * - ClassEmbedding: a learned vector per class label (nn.Embedding), added to the time embedding. The last row
 *   is the reserved null label of classifier-free guidance.
 * - TimeConditioning: the three together, as the denoisers (and the noise-aware classifier) use them.
 */
import { addInPlace, timestepEmbedding } from '../ops/elementwise.ts';
import { Tensor } from '../tensor.ts';
import { SiLU } from './activation.ts';
import { saved } from './layer.ts';
import { Linear } from './linear.ts';
import type { Parameter, ParameterSet } from './parameters.ts';

/** The sinusoidal embedding [N, dim] of N timesteps. */
export function sinusoidalEmbedding(timesteps: Int32Array | Float32Array, dim: number): Tensor {
  return timestepEmbedding(Float32Array.from(timesteps), dim, { flipSinToCos: true, downscaleFreqShift: 0 });
}

export class TimestepEmbedding {
  readonly linear1: Linear;
  readonly linear2: Linear;
  private readonly act = new SiLU();

  constructor(params: ParameterSet, name: string, inChannels: number, embedChannels: number) {
    this.linear1 = new Linear(params, `${name}.linear_1`, inChannels, embedChannels);
    this.linear2 = new Linear(params, `${name}.linear_2`, embedChannels, embedChannels);
  }

  forward(x: Tensor): Tensor {
    return this.linear2.forward(this.act.forward(this.linear1.forward(x)));
  }

  /** Accumulates the parameter gradients; the sinusoidal input needs no gradient. */
  backward(dy: Tensor): void {
    this.linear1.backward(this.act.backward(this.linear2.backward(dy)!)!, null);
  }
}

export class ClassEmbedding {
  readonly weight: Parameter;
  private labels: Int32Array | null = null;

  /** `numClasses` real labels plus one null label (index numClasses) for classifier-free guidance. */
  constructor(params: ParameterSet, readonly name: string, readonly numClasses: number, readonly channels: number) {
    // PyTorch's nn.Embedding starts from N(0, 1); uniform with the same variance (bound sqrt(3)) keeps one
    // random primitive for all initialisation.
    this.weight = params.add(`${name}.weight`, [numClasses + 1, channels], { uniform: Math.sqrt(3) });
  }

  /** Adds the embedding of each label to the rows of `temb` [N, channels], in place. */
  addTo(temb: Tensor, labels: Int32Array): void {
    for (const label of labels) {
      if (!Number.isInteger(label) || label < 0 || label > this.numClasses) {
        throw new Error(`${this.name}: class label ${label} is out of range: labels are 0..${this.numClasses - 1}, and ${this.numClasses} is the null label`);
      }
    }
    this.labels = labels;
    labels.forEach((label, n) => addInPlace(temb.subview(n * this.channels, [this.channels]), this.weight.value.subview(label * this.channels, [this.channels])));
  }

  /** Adds each row of dTemb into the gradient of its label's embedding, rows in order. */
  backward(dTemb: Tensor): void {
    const labels = saved(this.labels, this.name);
    labels.forEach((label, n) => addInPlace(this.weight.grad.subview(label * this.channels, [this.channels]), dTemb.subview(n * this.channels, [this.channels])));
  }
}

/**
 * sinusoidal(t) -> `time_embedding` MLP, plus `class_embedding` of the labels when numClasses > 0: the vector
 * [N, embedChannels] that conditions a denoiser on the timestep (and the class).
 */
export class TimeConditioning {
  readonly timeEmbedding: TimestepEmbedding;
  readonly classEmbedding: ClassEmbedding | null;

  constructor(params: ParameterSet, readonly sinusoidalDim: number, embedChannels: number, numClasses: number) {
    this.timeEmbedding = new TimestepEmbedding(params, 'time_embedding', sinusoidalDim, embedChannels);
    this.classEmbedding = numClasses > 0 ? new ClassEmbedding(params, 'class_embedding', numClasses, embedChannels) : null;
  }

  forward(timesteps: Int32Array, labels: Int32Array | null): Tensor {
    const temb = this.timeEmbedding.forward(sinusoidalEmbedding(timesteps, this.sinusoidalDim));
    if (this.classEmbedding) this.classEmbedding.addTo(temb, labels!);
    return temb;
  }

  backward(dTemb: Tensor): void {
    this.classEmbedding?.backward(dTemb);
    this.timeEmbedding.backward(dTemb);
  }
}
