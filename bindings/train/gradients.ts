/**
 * The gradient of one training batch, computed so that its bits do not depend on how many workers share it.
 *
 * The batch is cut into a fixed number of contiguous shards (`gradientShards`, a training option). Each shard's
 * gradient is computed from zero, alone, and the shard gradients are summed in a fixed pairwise tree:
 * ((g0 + g1) + (g2 + g3)) for four shards. A single thread computes the shards one after another; workers each
 * compute some of them (`train/workers.ts`); either way the same numbers are added in the same order.
 */
import type { Denoiser } from '../models/denoiser.ts';
import { addInPlace, mseLoss, mseLossBackward } from '../ops/elementwise.ts';
import { Tensor, tidy } from '../tensor.ts';
import type { DiffusionObjective } from './objective.ts';

/** What a shard needs: noisy inputs, timesteps, labels and the regression target of its samples. */
export interface ShardInput {
  x: Tensor;
  timesteps: Int32Array;
  labels: Int32Array | null;
  /** The regression target, or null when a TargetSource makes it from the shard (distillation's teacher). */
  target: Tensor | null;
  /** Global index of the shard's first sample (step * batchSize + its place in the batch): addresses dropout. */
  firstSample: number;
  /** The clean samples, for a loss that needs them (the hybrid loss's bound term). */
  x0?: Tensor | null;
  /** The conditioning images [N, k, H, W] of a model conditioned by concatenation. */
  condition?: Tensor | null;
  /** Per-item weights of the squared error (Min-SNR-gamma); absent: 1. */
  mseWeights?: Float64Array | null;
  /** Per-item weights of each item's whole loss (importance sampling: 1 / (T p_t)); absent: 1. */
  lossWeights?: Float64Array | null;
}

/** A shard's part of the batch loss, and each of its items' losses when the objective reports them. */
export interface ShardResult {
  loss: number;
  perItem: Float64Array | null;
}

/** Makes the regression target of a shard whose batch does not carry one (train/distillation-teacher.ts). */
export interface TargetSource {
  target(shard: ShardInput): Tensor;
}

/** [start, end) of each of `shards` contiguous shards of a batch of `batch` items (some may be empty). */
export function shardRanges(batch: number, shards: number): [number, number][] {
  return Array.from({ length: shards }, (_, s) => [Math.floor((s * batch) / shards), Math.floor(((s + 1) * batch) / shards)]);
}

/** Rows [start, end) of a batch tensor, as a view. */
export function rows(t: Tensor, start: number, end: number): Tensor {
  const perItem = t.size / t.shape[0];
  return t.subview(start * perItem, [end - start, ...t.shape.slice(1)]);
}

/** The shard of `input` covering batch items [start, end). */
export function shardOf(input: ShardInput, start: number, end: number): ShardInput {
  return {
    x: rows(input.x, start, end),
    timesteps: input.timesteps.subarray(start, end),
    labels: input.labels ? input.labels.subarray(start, end) : null,
    target: input.target && rows(input.target, start, end),
    firstSample: input.firstSample + start,
    x0: input.x0 && rows(input.x0, start, end),
    condition: input.condition && rows(input.condition, start, end),
    mseWeights: input.mseWeights && input.mseWeights.subarray(start, end),
    lossWeights: input.lossWeights && input.lossWeights.subarray(start, end),
  };
}

/**
 * Forward and backward of one shard, into the model's gradient buffer (zeroed first); the target is the shard's,
 * or made by `source`. Without an objective the loss is the batch's mean squared error, so the shard's part is
 * scaled by its share of the batch's elements; an objective (train/objective.ts) computes weighted and hybrid
 * losses. Returns the shard's contribution to the batch loss (and its items' losses when the objective reports them).
 */
export function shardGradient(
  model: Denoiser, shard: ShardInput, batchElements: number, seed: number, source: TargetSource | null, objective: DiffusionObjective | null = null,
): ShardResult {
  model.params.zeroGrads();
  const n = shard.x.shape[0];
  if (n === 0) return { loss: 0, perItem: objective?.config.perItem ? new Float64Array(0) : null };
  return tidy(() => {
    const target = shard.target ?? source!.target(shard);
    const out = model.forward(shard.x, shard.timesteps, shard.labels, { dropout: { seed, firstSample: shard.firstSample }, condition: shard.condition ?? null });
    if (objective) {
      const M = shard.x.size / n;
      const { loss, perItem, dOut } = objective.evaluate(out, target, shard, batchElements / M, M);
      model.backward(dOut, null);
      return { loss, perItem };
    }
    const share = out.size / batchElements;
    const loss = mseLoss(out, target) * share;
    model.backward(mseLossBackward(out, target, share), null);
    return { loss, perItem: null };
  });
}

/**
 * Sums the shard gradients in the fixed pairwise tree into `out`: level by level, neighbours are added
 * (a + b, c + d, ...), an odd one out moving up unchanged. `shardGrads` are overwritten.
 */
export function treeSum(shardGrads: Tensor[], out: Tensor): void {
  let level = shardGrads;
  while (level.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 < level.length) addInPlace(level[i], level[i + 1]);
      next.push(level[i]);
    }
    level = next;
  }
  out.view().set(level[0].view());
}

/** Sums the losses of the shards in the same fixed tree (so the reported loss is worker-independent too). */
export function treeSumNumbers(values: number[]): number {
  let level = values;
  while (level.length > 1) {
    const next: number[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? level[i] + level[i + 1] : level[i]);
    level = next;
  }
  return level[0];
}

/** The batch's loss, and each item's loss (in batch order) when the objective reports them. */
export interface BatchResult {
  loss: number;
  perItem: Float64Array | null;
}

/** The shards' results as the batch's: losses summed in the fixed tree, items' losses concatenated in order. */
export function batchResult(results: ShardResult[]): BatchResult {
  const perItem = results.every((r) => r.perItem !== null)
    ? Float64Array.from(results.flatMap((r) => Array.from(r.perItem!))) : null;
  return { loss: treeSumNumbers(results.map((r) => r.loss)), perItem };
}

/** Gradients of the whole batch computed shard by shard in this thread, summed into model.params.grads. */
export function batchGradient(
  model: Denoiser, input: ShardInput, shards: number, seed: number, scratch: Tensor[], source: TargetSource | null, objective: DiffusionObjective | null = null,
): BatchResult {
  const batchElements = input.x.size;
  const results = shardRanges(input.x.shape[0], shards).map(([start, end], s) => {
    const result = shardGradient(model, shardOf(input, start, end), batchElements, seed, source, objective);
    scratch[s].view().set(model.params.grads.view());
    return result;
  });
  treeSum(scratch, model.params.grads);
  return batchResult(results);
}
