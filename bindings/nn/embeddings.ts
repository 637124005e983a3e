/**
 * Conditioning inputs of the denoisers.
 * - sinusoidalEmbedding: the timestep's sinusoidal features (Vaswani et al.; diffusers' Timesteps with
 *   flip_sin_to_cos = true, downscale_freq_shift = 0: [cos, sin] of t * 10000^(-i / half)). No parameters.
 * - TimestepEmbedding: the MLP that projects them (linear_1, SiLU, linear_2), named as in diffusers.
 * - ClassEmbedding: a learned vector per class label (nn.Embedding), added to the time embedding. The last row
 *   is the reserved null label of classifier-free guidance.
 * - TimeConditioning: the three together, as the denoisers (and the noise-aware classifier) use them.
 */
import { addInPlace, timestepEmbedding } from '../ops/elementwise.ts';
import type { Tensor } from '../tensor.ts';
import { SiLU } from './activation.ts';
import { Sequential } from './combinators.ts';
import type { Context } from './context.ts';
import { Linear } from './linear.ts';
import type { InputGrad, Module } from './module.ts';
import type { Parameter, ParameterSet } from './parameters.ts';

/** The sinusoidal embedding [N, dim] of N timesteps. */
export function sinusoidalEmbedding(timesteps: Int32Array | Float32Array, dim: number): Tensor {
  return timestepEmbedding(Float32Array.from(timesteps), dim, { flipSinToCos: true, downscaleFreqShift: 0 });
}

/** diffusers' TimestepEmbedding: linear_1, SiLU, linear_2. */
export class TimestepEmbedding extends Sequential {
  constructor(params: ParameterSet, name: string, inChannels: number, embedChannels: number) {
    super(name, [
      new Linear(params, `${name}.linear_1`, inChannels, embedChannels),
      new SiLU(`${name}.act`),
      new Linear(params, `${name}.linear_2`, embedChannels, embedChannels),
    ]);
  }
}

/** Adds the embedding of each sample's class label (ctx.labels) to its row of x [N, channels]. */
export class ClassEmbedding implements Module {
  readonly weight: Parameter;

  /** `numClasses` real labels plus one null label (index numClasses) for classifier-free guidance. */
  constructor(params: ParameterSet, readonly name: string, readonly numClasses: number, readonly channels: number) {
    // PyTorch's nn.Embedding starts from N(0, 1); uniform with the same variance (bound sqrt(3)) keeps one
    // random primitive for all initialisation.
    this.weight = params.add(`${name}.weight`, [numClasses + 1, channels], { uniform: Math.sqrt(3) });
  }

  forward(x: Tensor, ctx: Context): Tensor {
    const labels = this.labels(ctx);
    const y = x.clone();
    labels.forEach((label, n) => addInPlace(this.row(y, n), this.row(this.weight.value, label)));
    return y;
  }

  /** Adds each row of dy into the gradient of its label's embedding, rows in order; dy passes through to x. */
  backward(dy: Tensor, ctx: Context, dx?: InputGrad): Tensor | null {
    this.labels(ctx).forEach((label, n) => addInPlace(this.row(this.weight.grad, label), this.row(dy, n)));
    if (dx === null) return null;
    return dx ? addInPlace(dx, dy) : dy;
  }

  private labels(ctx: Context): Int32Array {
    const labels = ctx.labels;
    if (labels === null) throw new Error(`${this.name}: class labels are needed (ctx.labels)`);
    for (const label of labels) {
      if (!Number.isInteger(label) || label < 0 || label > this.numClasses) {
        throw new Error(`${this.name}: class label ${label} is out of range: labels are 0..${this.numClasses - 1}, and ${this.numClasses} is the null label`);
      }
    }
    return labels;
  }

  private row(t: Tensor, n: number): Tensor {
    return t.subview(n * this.channels, [this.channels]);
  }
}

/**
 * sinusoidal(t) -> `time_embedding` MLP, plus `class_embedding` of ctx.labels when numClasses > 0: the vector
 * [N, embedChannels] that conditions a denoiser on the timestep (and the class).
 */
export class TimeConditioning {
  private readonly embedding: Module;

  constructor(params: ParameterSet, readonly sinusoidalDim: number, embedChannels: number, numClasses: number) {
    const time = new TimestepEmbedding(params, 'time_embedding', sinusoidalDim, embedChannels);
    this.embedding = numClasses > 0
      ? new Sequential('conditioning', [time, new ClassEmbedding(params, 'class_embedding', numClasses, embedChannels)])
      : time;
  }

  forward(timesteps: Int32Array | Float32Array, ctx: Context): Tensor {
    return this.embedding.forward(sinusoidalEmbedding(timesteps, this.sinusoidalDim), ctx);
  }

  /** Accumulates the parameter gradients; the sinusoidal input needs no gradient. */
  backward(dTemb: Tensor, ctx: Context): void {
    this.embedding.backward(dTemb, ctx, null);
  }
}
