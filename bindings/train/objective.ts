/**
 * The loss of a diffusion training step on one shard, and its gradient with respect to the model's output.
 *
 * - 'simple': Ho et al.'s L_simple, the mean squared error of the prediction (eps, x0 or v), optionally weighted
 *   per item: Min-SNR-gamma weights (Hang et al. 2023) on the error, importance weights 1 / (T p_t) on the item's
 *   whole loss (Nichol & Dhariwal 2021, §3.3).
 * - 'hybrid': L_simple + lambda L_vlb (Nichol & Dhariwal 2021, eq. 16) for a model that predicts its variance
 *   (outputs [prediction, v]): L_vlb is the bound's term at each item's own timestep (KL(q(x_{t-1} | x_t, x0) ||
 *   p(x_{t-1} | x_t)) for t > 0, the decoder's -log p(x0 | x_1) at t = 0, in bits per dimension) with a
 *   stop-gradient on the mean, so that it trains the variance only, as improved-diffusion's RESCALED_MSE does:
 *   loss_n = mse_n + vlbWeight · T · vb_n (vlbWeight = 0.001 gives their T / 1000; the term of one timestep stands
 *   for the T of the bound's sum).
 *
 * The batch loss is the mean over its B items of iw_n · loss_n; a shard adds its items' share. With no weights the
 * simple loss takes the plain MSE ops (the same bits as before weights existed).
 */
import { Tensor } from '../tensor.ts';
import { concatChannels, concatChannelsBackward, mseLoss, mseLossBackward, scale, sub } from '../ops/elementwise.ts';
import { learnedRangeLogVariance, learnedRangeLogVarianceBackward } from '../ops/learned-variance.ts';
import {
  discretizedGaussianLogLikelihood, discretizedGaussianLogLikelihoodBackward, gaussianLogLikelihood, gaussianLogLikelihoodBackward,
  normalKL, normalKLBackward,
} from '../ops/likelihood.ts';
import { sumOfSquaresPerItem } from '../ops/per-item.ts';
import { schedulerAddNoise } from '../ops/scheduler.ts';
import { DDPMScheduler } from '../schedulers/ddpm.ts';
import type { SchedulerOptions } from '../schedulers/index.ts';
import { originalSampleCoefficients, posteriorTables, type PosteriorTables } from '../schedulers/posterior-tables.ts';

/** The training loss (see the top of the file). */
export type LossType = 'simple' | 'hybrid';
export const LOSS_TYPES: readonly LossType[] = ['simple', 'hybrid'];

/** The bound's decoder term in the hybrid loss: 'discretized' for 8-bit images, 'gaussian' for continuous data. */
export type ObjectiveDecoder = 'discretized' | 'gaussian';

/** What a worker needs to rebuild the objective (plain data). */
export interface ObjectiveConfig {
  loss: LossType;
  /** lambda of the hybrid loss. */
  vlbWeight: number;
  /** The schedule the model trains on (the hybrid loss's posterior and its varianceType). */
  scheduler: SchedulerOptions;
  decoder: ObjectiveDecoder;
  /** Report each item's loss (importance sampling records them). */
  perItem: boolean;
}

/** What the loss reads of a shard besides the model's output and the target (train/gradients.ts's ShardInput has it). */
export interface ObjectiveInput {
  /** The noisy samples x_t. */
  x: Tensor;
  timesteps: Int32Array;
  /** The clean samples (the hybrid loss). */
  x0?: Tensor | null;
  /** Per-item weights of the squared error (Min-SNR-gamma); absent: 1. */
  mseWeights?: Float64Array | null;
  /** Per-item weights of each item's whole loss (importance sampling); absent: 1. */
  lossWeights?: Float64Array | null;
}

/** A shard's loss (its share of the batch loss), each item's loss before importance weights, and dLoss/dOutput. */
export interface ShardLoss {
  loss: number;
  perItem: Float64Array | null;
  dOut: Tensor;
}

export class DiffusionObjective {
  private readonly scheduler: DDPMScheduler;
  private readonly tables: PosteriorTables | null;

  constructor(readonly config: ObjectiveConfig) {
    this.scheduler = DDPMScheduler.fromConfig(config.scheduler);
    this.tables = config.loss === 'hybrid' ? posteriorTables(this.scheduler) : null;
  }

  /** The loss of a shard whose model output is `out` (its target `target`), in a batch of B items of M elements each. */
  evaluate(out: Tensor, target: Tensor, shard: ObjectiveInput, B: number, M: number): ShardLoss {
    if (this.config.loss === 'hybrid') return this.hybrid(out, target, shard, B, M);
    if (!shard.mseWeights && !shard.lossWeights) {
      const share = out.size / (B * M);
      const perItem = this.config.perItem ? sumOfSquaresPerItem(sub(out, target)).map((s) => s / M) : null;
      return { loss: mseLoss(out, target) * share, perItem, dOut: mseLossBackward(out, target, share) };
    }
    const { perItem, loss, dPrediction } = this.weightedError(out, target, shard, B, M, 0);
    return { loss, perItem: this.config.perItem ? perItem : null, dOut: dPrediction };
  }

  /**
   * The weighted squared error of each item (w_n · mse_n, w_n the Min-SNR weight), the shard's share of the batch
   * loss with `extra` (per item, e.g. the bound's term) added before the importance weights, and the gradient.
   */
  private weightedError(prediction: Tensor, target: Tensor, shard: ObjectiveInput, B: number, M: number, extra: Float64Array | 0) {
    const n = prediction.shape[0];
    const difference = sub(prediction, target);
    const squares = sumOfSquaresPerItem(difference);
    const w = (i: number) => shard.mseWeights?.[i] ?? 1, iw = (i: number) => shard.lossWeights?.[i] ?? 1;
    const perItem = Float64Array.from(squares, (s, i) => w(i) * (s / M) + (extra === 0 ? 0 : extra[i]));
    let loss = 0;
    for (let i = 0; i < n; i++) loss += iw(i) * perItem[i] / B;
    const scales = Array.from({ length: n }, (_, i) => 2 * iw(i) * w(i) / (B * M));
    const dPrediction = schedulerAddNoise(difference, difference, scales, new Array(n).fill(0));
    difference.dispose();
    return { perItem, loss, dPrediction };
  }

  /** L_simple + lambda T L_t with the stop-gradient on the mean (see the top of the file). */
  private hybrid(out: Tensor, target: Tensor, shard: ObjectiveInput, B: number, M: number): ShardLoss {
    const tables = this.tables!;
    const x0 = shard.x0;
    if (!x0) throw new Error("DiffusionObjective: the hybrid loss needs the shard's clean samples (x0)");
    const n = x0.shape[0], C = x0.shape[1];
    const { da: prediction, db: v } = concatChannelsBackward(out, C);
    const t = Array.from(shard.timesteps);
    const { predictionType, varianceType } = this.scheduler.config;
    // The model's mean from its (frozen) prediction: mu~(x0_hat, x_t), x0_hat unclipped (clip_denoised=False).
    const k = t.map((ti) => originalSampleCoefficients(predictionType, this.scheduler.alphasCumprod[ti]));
    const x0Hat = schedulerAddNoise(shard.x, prediction, k.map((c) => c.onSample), k.map((c) => c.onOutput));
    const coef1 = t.map((ti) => tables.coef1[ti]), coef2 = t.map((ti) => tables.coef2[ti]);
    const modelMean = schedulerAddNoise(x0Hat, shard.x, coef1, coef2);
    const trueMean = schedulerAddNoise(x0, shard.x, coef1, coef2);
    const minLog = t.map((ti) => tables.posteriorLogVarianceClipped[ti]), maxLog = t.map((ti) => tables.logBetas[ti]);
    const learned = varianceType === 'learned';
    const logVariance = learned ? v : learnedRangeLogVariance(v, minLog, maxLog);
    const logScales = learned ? scale(v, 0.5) : learnedRangeLogVariance(v, minLog.map((l) => l / 2), maxLog.map((l) => l / 2));
    const trueLogVariance = perItemConstant(x0.shape, minLog);
    const kl = normalKL(trueMean, trueLogVariance, modelMean, logVariance);
    const decoding = t.some((ti) => ti === 0);
    const nll = decoding ? this.decoderLogLikelihood(x0, modelMean, logScales).map((ll) => -ll) : null;
    const weight = this.config.vlbWeight * this.scheduler.config.numTrainTimesteps / Math.LN2;
    const vb = Float64Array.from(t, (ti, i) => weight * (ti === 0 ? nll![i] : kl[i]));
    const { perItem, loss, dPrediction } = this.weightedError(prediction, target, shard, B, M, vb);
    // The bound's gradient reaches v only: through log sigma² (KL, t > 0) and the log-scales (decoder, t = 0).
    const iw = (i: number) => shard.lossWeights?.[i] ?? 1;
    const dLogVariance = normalKLBackward(t.map((ti, i) => (ti === 0 ? 0 : iw(i) * weight / B)), trueMean, trueLogVariance, modelMean, logVariance, { dMean2: null }).dLogVar2;
    const dv = learned ? dLogVariance.clone() : learnedRangeLogVarianceBackward(dLogVariance, minLog, maxLog);
    if (decoding) {
      const dOut = t.map((ti, i) => (ti === 0 ? -iw(i) * weight / B : 0));
      const { dLogScales } = this.decoderBackward(dOut, x0, modelMean, logScales);
      // 'learned': log-scale = v / 2, so dv += dLogScales / 2 (the range [0, 1] has slope 1/2).
      if (learned) learnedRangeLogVarianceBackward(dLogScales, new Array(n).fill(0), new Array(n).fill(1), { dv });
      else learnedRangeLogVarianceBackward(dLogScales, minLog.map((l) => l / 2), maxLog.map((l) => l / 2), { dv });
    }
    return { loss, perItem: this.config.perItem ? perItem : null, dOut: concatChannels(dPrediction, dv) };
  }

  private decoderLogLikelihood(x0: Tensor, means: Tensor, logScales: Tensor): Float64Array {
    return this.config.decoder === 'discretized' ? discretizedGaussianLogLikelihood(x0, means, logScales) : gaussianLogLikelihood(x0, means, logScales);
  }

  private decoderBackward(dOut: number[], x0: Tensor, means: Tensor, logScales: Tensor): { dLogScales: Tensor } {
    const backward = this.config.decoder === 'discretized' ? discretizedGaussianLogLikelihoodBackward : gaussianLogLikelihoodBackward;
    return backward(dOut, x0, means, logScales, { dMeans: null });
  }
}

/** A tensor of `shape` whose item n holds `values[n]` (rounded to float32) everywhere. */
function perItemConstant(shape: readonly number[], values: readonly number[]): Tensor {
  const out = new Tensor(shape);
  const M = out.size / shape[0], view = out.view();
  values.forEach((value, n) => view.fill(value, n * M, (n + 1) * M));
  return out;
}
