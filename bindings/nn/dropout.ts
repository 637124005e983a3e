/**
 * Dropout as a layer. It is the identity unless the model is training and p > 0; then its mask comes from the
 * counter-based generator addressed by (seed, this layer's stream, the first sample's global index), so a
 * sample's mask is the same whatever the batch split between workers.
 */
import { dropout, dropoutBackward } from '../ops/dropout.ts';
import { addInPlace } from '../ops/elementwise.ts';
import { dropoutStream } from '../random-streams.ts';
import type { Tensor } from '../tensor.ts';
import { saved, type InputGrad, type Layer } from './layer.ts';

/** Where a training step's dropout masks come from. */
export interface DropoutContext {
  seed: number;
  /** Global index of the first sample of this batch (e.g. step * batchSize + first index). */
  firstSample: number;
}


export class Dropout implements Layer {
  /** Set by the model while training; null means evaluation (identity). */
  context: DropoutContext | null = null;
  private mask: Tensor | null = null;
  /** The random stream of this layer: a hash of its name, so it depends on nothing but the architecture. */
  private readonly stream: number;

  constructor(readonly p: number, readonly name: string) {
    if (!(p >= 0 && p < 1)) throw new Error(`${name}: dropout must be in [0, 1), got ${p}`);
    this.stream = dropoutStream(name);
  }

  forward(x: Tensor): Tensor {
    this.mask = null;
    if (this.p === 0 || this.context === null) return x;
    const perSample = x.size / x.shape[0];
    const { y, mask } = dropout(x, { p: this.p, seed: this.context.seed, offset: this.context.firstSample * perSample, stream: this.stream });
    this.mask = mask;
    return y;
  }

  backward(dy: Tensor, dx?: InputGrad): Tensor | null {
    if (dx === null) return null;
    if (this.mask === null) {
      if (!dx) return dy;
      addInPlace(dx, dy);
      return dx;
    }
    return dropoutBackward(dy, saved(this.mask, this.name), { dx });
  }
}
