/**
 * Sampling on several cores: the batch divided between this thread and workers (Node worker threads or Web
 * Workers), each holding its own WebAssembly core and a copy of the model, scheduler and classifier. Worker w
 * samples a contiguous run of the batch with `firstSample` at its place, and the library's noise is addressed by
 * (seed, sample index), so the samples are bit-identical with any number of workers (and to one batch).
 *
 *   const workers = await SamplingWorkers.start(pipeline, 2);
 *   const images = await workers.generate({ batchSize: 64, seed: 1, classLabels });
 *   workers.close();
 *
 * Conditioning images (`condition`) are split with the batch. Not with PyTorch's noise (generator 'torch' draws for
 * the whole batch), `latents` or `onStep`.
 */
import { expectReply, startWorkers, type WorkerChannel } from '../core/platform-worker.ts';
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import { modelMessage, type ModelMessage } from '../models/registry.ts';
import { schedulerClassName, type SchedulerClassName } from '../schedulers/index.ts';
import { Tensor } from '../tensor.ts';
import type { DiffusionPipeline, GenerateOptions } from './pipeline.ts';

/** The generate() options a worker receives (plain data: the conditioning images as their values and shape). */
export type WorkerGenerateOptions = Omit<GenerateOptions, 'classifier' | 'latents' | 'onStep' | 'classLabels' | 'condition'> & {
  classLabels?: Int32Array;
  condition?: { values: Float32Array; shape: number[] };
};

export type SamplingRequest =
  | { type: 'init'; model: ModelMessage; scheduler: { name: SchedulerClassName; config: object }; classifier: ModelMessage | null }
  | { type: 'generate'; options: WorkerGenerateOptions };

export type SamplingReply = { type: 'ready' } | { type: 'samples'; values: Float32Array } | { type: 'error'; message: string };

const WHAT = 'sampling worker';

export class SamplingWorkers {
  private constructor(private readonly pipeline: DiffusionPipeline, private readonly channels: WorkerChannel<SamplingRequest, SamplingReply>[]) {}

  /** Starts `count - 1` workers (this thread is the first of `count`) with copies of the pipeline's parts. */
  static async start(pipeline: DiffusionPipeline, count: number, classifier: NoiseAwareClassifier | null = null): Promise<SamplingWorkers> {
    if (!Number.isInteger(count) || count < 1) throw new Error(`SamplingWorkers: count must be an integer >= 1, got ${count}`);
    const name = schedulerClassName(pipeline.scheduler);
    if (name === null) throw new Error('SamplingWorkers: the pipeline\'s scheduler is not one of the library\'s (SCHEDULER_CLASSES)');
    const init: SamplingRequest = { type: 'init', model: modelMessage(pipeline.model), scheduler: { name, config: pipeline.scheduler.config }, classifier: classifier && modelMessage(classifier) };
    return new SamplingWorkers(pipeline, await startWorkers<SamplingRequest, SamplingReply>(import.meta.url, count - 1, init, WHAT));
  }

  get count(): number { return this.channels.length + 1; }

  /** The pipeline's generate(), its batch split into contiguous runs, one per thread: the same samples. */
  async generate(options: GenerateOptions = {}): Promise<Tensor> {
    const { classifier: _classifier, latents, onStep, generator, classLabels: _labels, condition, ...rest } = options;
    if (latents || onStep || (generator !== undefined && generator !== 'philox')) {
      throw new Error('SamplingWorkers.generate: latents, onStep and the torch generator need one thread (use the pipeline\'s generate)');
    }
    const batch = options.batchSize ?? 1, first = options.firstSample ?? 0;
    const labels = options.classLabels === undefined ? undefined : Int32Array.from(options.classLabels);
    // Its rows are split here, so their count is checked here; each thread's pipeline checks the rest of the shape.
    if (condition !== undefined && condition.shape[0] !== batch) {
      throw new Error(`SamplingWorkers.generate: condition must have batchSize (${batch}) rows, got shape [${condition.shape.join(', ')}]`);
    }
    const images = condition?.toFloat32Array();
    const perCondition = condition ? condition.size / batch : 0;
    const runs = Array.from({ length: this.count }, (_, w) => [Math.floor((w * batch) / this.count), Math.floor(((w + 1) * batch) / this.count)]);
    const part = ([from, to]: number[]) => ({
      ...rest, batchSize: to - from, firstSample: first + from, ...(labels && { classLabels: labels.slice(from, to) }),
      ...(images && { condition: { values: images.slice(from * perCondition, to * perCondition), shape: [to - from, ...condition!.shape.slice(1)] } }),
    });
    const replies = this.channels.map((channel, w) => {
      const run = runs[w + 1];
      if (run[1] === run[0]) return Promise.resolve(new Float32Array(0));
      channel.post({ type: 'generate', options: part(run) });
      return expectReply(channel, 'samples', WHAT).then((reply) => (reply as Extract<SamplingReply, { type: 'samples' }>).values);
    });
    const mine = runs[0][1] > runs[0][0] ? await generateOn(this.pipeline, part(runs[0]), options.classifier) : null;
    const theirs = await Promise.all(replies);
    const shape = [batch, ...this.pipeline.model.sampleShape];
    const out = new Tensor(shape);
    const view = out.view();
    const perItem = out.size / batch;
    if (mine) { view.set(mine.view()); mine.dispose(); }
    theirs.forEach((values, w) => view.set(values, runs[w + 1][0] * perItem));
    return out;
  }

  close(): void {
    for (const channel of this.channels) channel.terminate();
  }
}

/** The pipeline's generate() for a worker's options (the conditioning images as a tensor for the pass). */
export async function generateOn(pipeline: DiffusionPipeline, options: WorkerGenerateOptions, classifier?: GenerateOptions['classifier']): Promise<Tensor> {
  const { condition, ...rest } = options;
  const images = condition ? Tensor.from(condition.values, condition.shape) : undefined;
  try {
    return await pipeline.generate({ ...rest, ...(images && { condition: images }), ...(classifier && { classifier }) });
  } finally {
    images?.dispose();
  }
}
