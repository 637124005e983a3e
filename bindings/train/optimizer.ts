/**
 * The optimizer of every training loop: AdamW (torch.optim.AdamW) with a learning-rate schedule, gradient
 * clipping by global norm and a divergence check, over a model's flat parameter and gradient buffers.
 *
 *   schedule: linear warm-up lr·(s + 1)/warmupSteps, then 'constant', 'cosine' (a half cosine to 0 at
 *   decaySteps, diffusers' 'cosine') or 'linear' (to 0 after decaySteps)
 *   clipping: as torch.nn.utils.clip_grad_norm_, g *= maxNorm / (norm + 1e-6) when the norm exceeds maxNorm
 *   divergence: a non-finite loss or gradient stops training before the parameters change
 */
import type { ParameterSet } from '../nn/parameters.ts';
import { adamwStep } from '../ops/adamw.ts';
import { countNonFinite, scaleInPlace, sumOfSquares } from '../ops/elementwise.ts';
import { cos } from '../ops/math.ts';
import { Tensor, keep } from '../tensor.ts';

export type LearningRateDecay = 'constant' | 'cosine' | 'linear';

export interface OptimizerOptions {
  /** Peak learning rate. */
  learningRate: number;
  /** Steps of linear warm-up. */
  warmupSteps: number;
  /** What follows the warm-up. */
  decay: LearningRateDecay;
  /** The step where the decay reaches 0 ('cosine', 'linear'). */
  decaySteps: number;
  /** AdamW's decoupled weight decay, betas and epsilon (PyTorch's names: weight_decay, betas, eps). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Clip the gradient to this global L2 norm; 0 turns clipping off. */
  gradClipNorm: number;
}

/** Thrown when the loss or a gradient becomes NaN or infinite; the parameters are left as before the step. */
export class TrainingDivergedError extends Error {}

/** What one update reports. */
export interface UpdateReport {
  /** The global gradient norm before clipping. */
  gradNorm: number;
  /** The learning rate used. */
  learningRate: number;
}

export class AdamW {
  /** The first and second moment estimates, laid out like the parameters. */
  readonly m: Tensor;
  readonly v: Tensor;

  constructor(size: number, readonly options: OptimizerOptions) {
    this.m = keep(Tensor.zeros([size]));
    try {
      this.v = keep(Tensor.zeros([size]));
    } catch (error) {
      this.m.dispose(); // all or nothing: a failed optimizer leaves no memory behind
      throw error;
    }
  }

  /** The learning rate of step `step` (0-based). */
  learningRateAt(step: number): number {
    const { learningRate, warmupSteps, decay, decaySteps } = this.options;
    if (step < warmupSteps) return (learningRate * (step + 1)) / warmupSteps;
    if (decay === 'linear') return (learningRate * (decaySteps - step)) / (decaySteps - Math.min(warmupSteps, decaySteps - 1));
    if (decay === 'constant' || decaySteps <= warmupSteps) return learningRate;
    const progress = Math.min(1, (step - warmupSteps) / (decaySteps - warmupSteps));
    return learningRate * 0.5 * (1 + cos(Math.PI * progress));
  }

  /** Checks, clips and applies the gradient in params.grads (step is 0-based), updating params.values in place. */
  update(params: ParameterSet, loss: number, step: number): UpdateReport {
    const grads = params.grads;
    if (!Number.isFinite(loss) || countNonFinite(grads) > 0) {
      throw new TrainingDivergedError(`training diverged at step ${step + 1}: the loss or a gradient is NaN or infinite ` +
        `(loss ${loss}); the parameters were not updated. Lower the learning rate or keep gradient clipping on.`);
    }
    const { gradClipNorm, beta1, beta2, epsilon, weightDecay } = this.options;
    const gradNorm = clipGradNorm(grads, gradClipNorm > 0 ? gradClipNorm : Infinity);
    const learningRate = this.learningRateAt(step);
    adamwStep(params.values, grads, this.m, this.v, { lr: learningRate, beta1, beta2, eps: epsilon, weightDecay, step: step + 1 });
    return { gradNorm, learningRate };
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}

/** Clips `grads` (all gradients, one flat tensor) to norm `maxNorm`; returns the norm before clipping (f64 sum in wasm). */
export function clipGradNorm(grads: Tensor, maxNorm: number): number {
  const norm = Math.sqrt(sumOfSquares(grads));
  if (norm > maxNorm) scaleInPlace(grads, maxNorm / (norm + 1e-6));
  return norm;
}
