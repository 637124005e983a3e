/**
 * Data-parallel training on several cores: each worker (a Node worker thread or a Web Worker) holds its own
 * WebAssembly instance and a copy of the model. Every step the trainer sends the current parameters and some of
 * the batch's shards to each worker, computes the rest itself, and sums all shard gradients in the fixed tree of
 * train/gradients.ts. The same wasm runs the same shards on the same numbers, so the trained weights are
 * bit-identical whatever the number of workers.
 */
import type { Denoiser } from '../models/denoiser.ts';
import type { ModelKind } from '../models/model.ts';
import type { ModelMessage } from '../models/registry.ts';
import { Tensor } from '../tensor.ts';
import type { SchedulerOptions } from '../schedulers/index.ts';
import type { DistillationRecipe } from './distillation-teacher.ts';
import {
  batchResult, shardGradient, shardOf, shardRanges, treeSum, type BatchResult, type ShardInput, type ShardResult, type TargetSource,
} from './gradients.ts';
import type { DiffusionObjective, ObjectiveConfig } from './objective.ts';
import { expectReply, startWorkers, type WorkerChannel } from '../core/platform-worker.ts';

/** A shard as plain arrays, to cross into a worker. */
export interface ShardMessage {
  x: Float32Array;
  shape: number[];
  timesteps: Int32Array;
  labels: Int32Array | null;
  /** Null when the worker's teacher makes the target. */
  target: Float32Array | null;
  firstSample: number;
  /** The clean samples (shape `shape`), for the hybrid loss. */
  x0: Float32Array | null;
  /** The conditioning images and their shape. */
  condition: { values: Float32Array; shape: number[] } | null;
  mseWeights: Float64Array | null;
  lossWeights: Float64Array | null;
}

/** A distillation teacher as plain data, for a worker to rebuild it (train/distillation-teacher.ts). */
export interface TeacherMessage extends ModelMessage {
  scheduler: SchedulerOptions;
  recipe: DistillationRecipe;
}

export type WorkerRequest =
  | { type: 'init'; kind: ModelKind; config: object; teacher: TeacherMessage | null; objective: ObjectiveConfig | null }
  | { type: 'gradients'; params: Float32Array; shards: ShardMessage[]; batchElements: number; seed: number };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'gradients'; grads: Float32Array[]; results: ShardResult[] }
  | { type: 'error'; message: string };

/** The parent's end of a worker's channel. */
type Port = WorkerChannel<WorkerRequest, WorkerReply>;

const WHAT = 'training worker';

export class GradientWorkers {
  private constructor(private readonly ports: Port[]) {}

  /**
   * Starts `count - 1` workers (this thread is the first of `count`) holding a copy of `model`'s architecture.
   */
  static async start(
    model: Denoiser, count: number, teacher: TeacherMessage | null = null, objective: ObjectiveConfig | null = null,
  ): Promise<GradientWorkers> {
    const init: WorkerRequest = { type: 'init', kind: model.kind as ModelKind, config: model.config, teacher, objective };
    return new GradientWorkers(await startWorkers<WorkerRequest, WorkerReply>(import.meta.url, count - 1, init, WHAT));
  }

  get count(): number { return this.ports.length + 1; }

  /**
   * The batch's gradient into model.params.grads, and its loss. Shards are dealt out in contiguous runs: with
   * 4 shards and 2 threads, this thread computes shards 0 and 1 and the worker 2 and 3.
   */
  async batchGradient(
    model: Denoiser, input: ShardInput, shards: number, seed: number, scratch: Tensor[], source: TargetSource | null,
    objective: DiffusionObjective | null = null,
  ): Promise<BatchResult> {
    const ranges = shardRanges(input.x.shape[0], shards);
    const owners = ranges.map((_, s) => Math.floor((s * this.count) / shards));
    const batchElements = input.x.size;
    const params = model.params.values.toFloat32Array();
    const replies = this.ports.map((port, w) => {
      const mine = ranges.filter((_, s) => owners[s] === w + 1).map(([start, end]) => toMessage(shardOf(input, start, end)));
      port.post({ type: 'gradients', params: params.slice(), shards: mine, batchElements, seed });
      return expectReply(port, 'gradients', WHAT);
    });
    const results: ShardResult[] = new Array(shards);
    ranges.forEach(([start, end], s) => {
      if (owners[s] !== 0) return;
      results[s] = shardGradient(model, shardOf(input, start, end), batchElements, seed, source, objective);
      scratch[s].view().set(model.params.grads.view());
    });
    const replied = await Promise.all(replies);
    replied.forEach((reply, w) => {
      const theirs = ranges.map((_, s) => s).filter((s) => owners[s] === w + 1);
      if (reply.type !== 'gradients') return;
      theirs.forEach((s, i) => {
        scratch[s].view().set(reply.grads[i]);
        results[s] = reply.results[i];
      });
    });
    treeSum(scratch, model.params.grads);
    return batchResult(results);
  }

  close(): void {
    for (const port of this.ports) port.terminate();
  }
}

function toMessage(shard: ShardInput): ShardMessage {
  return {
    x: shard.x.toFloat32Array(), shape: [...shard.x.shape], timesteps: shard.timesteps.slice(),
    labels: shard.labels ? shard.labels.slice() : null, target: shard.target && shard.target.toFloat32Array(), firstSample: shard.firstSample,
    x0: shard.x0 ? shard.x0.toFloat32Array() : null,
    condition: shard.condition ? { values: shard.condition.toFloat32Array(), shape: [...shard.condition.shape] } : null,
    mseWeights: shard.mseWeights ? shard.mseWeights.slice() : null, lossWeights: shard.lossWeights ? shard.lossWeights.slice() : null,
  };
}

/** The worker side of a 'gradients' request: each shard's gradient, computed from zero. */
export function computeShardGradients(
  model: Denoiser, source: TargetSource | null, objective: DiffusionObjective | null, request: Extract<WorkerRequest, { type: 'gradients' }>,
): WorkerReply {
  model.params.values.view().set(request.params);
  const grads: Float32Array[] = [];
  const results: ShardResult[] = [];
  for (const shard of request.shards) {
    const x = Tensor.from(shard.x, shard.shape);
    const target = shard.target && Tensor.from(shard.target, shard.shape);
    const x0 = shard.x0 && Tensor.from(shard.x0, shard.shape);
    const condition = shard.condition && Tensor.from(shard.condition.values, shard.condition.shape);
    try {
      const input: ShardInput = {
        x, target, timesteps: shard.timesteps, labels: shard.labels, firstSample: shard.firstSample, x0, condition,
        mseWeights: shard.mseWeights, lossWeights: shard.lossWeights,
      };
      results.push(shardGradient(model, input, request.batchElements, request.seed, source, objective));
      grads.push(model.params.grads.toFloat32Array());
    } finally {
      for (const t of [x, target, x0, condition]) t?.dispose();
    }
  }
  return { type: 'gradients', grads, results };
}
