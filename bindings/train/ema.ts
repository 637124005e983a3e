/**
 * The exponential moving average of the weights that diffusion models are sampled with (Ho et al. 2020, after
 * Polyak averaging), warmed up as in diffusers' EMAModel: decay_s = min(decay, (1 + s) / (10 + s)).
 */
import { emaUpdate } from '../ops/adamw.ts';
import { keep, type Tensor } from '../tensor.ts';

export class EMA {
  /** The averaged weights, laid out like the parameters (a copy of them when decay is 0). */
  readonly weights: Tensor;

  constructor(values: Tensor, readonly decay: number) {
    this.weights = keep(values.clone());
  }

  /** Moves the average toward `values` after step `step` (0-based). */
  update(values: Tensor, step: number): void {
    if (this.decay > 0) emaUpdate(this.weights, values, Math.min(this.decay, (1 + step) / (10 + step)));
    else this.weights.view().set(values.view());
  }

  dispose(): void {
    this.weights.dispose();
  }
}
