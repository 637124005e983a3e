/**
 * `ddpm sample` in batches of bounded memory: the samples are drawn `--batch` at a time, each batch at its place
 * in the run (GenerateOptions.firstSample), so the result does not depend on the batch size, and each batch goes
 * to the output as soon as it is done:
 *
 * - .npy: streamed into the file (its header written first, for the final shape), so memory does not grow with
 *   --num at all;
 * - .png: the picture needs every sample, so their values are gathered (cropped, 4 bytes each), but the model's
 *   working memory is still one batch's;
 * - --animate: the frames are gathered batch by batch the same way.
 *
 * The default batch is as many samples as fit a working-memory budget, measured by sampling one sample for one
 * step with the same options (guidance doubles the model's batch; classifier guidance adds a backward pass).
 */
import { memoryStats, resetPeakBytes, type ModelMetadata } from '../bindings/index.ts';
import { NpyFileWriter } from '../bindings/io/npy-file.ts';
import { SamplingWorkers } from '../bindings/index.ts';
import { generateSamples, layoutOf, npyValues, requestPipeline, type SampleRequest } from './generate.ts';

/** The WebAssembly working memory the default batch aims at, beyond the model itself. */
export const SAMPLING_MEMORY_BUDGET = 64 * 2 ** 20;

/** The default --batch: how many samples of `request` fit the budget (at least 1, at most `request.num`). */
export async function defaultBatch(request: SampleRequest): Promise<number> {
  resetPeakBytes();
  const before = memoryStats().liveBytes;
  // One step (img2img at strength 1, so that it runs): the working memory of a step does not depend on which.
  const edit = request.edit && !request.edit.mask ? { ...request.edit, strength: 1 } : request.edit;
  await generateSamples({
    ...request, num: 1, steps: 1, labels: request.labels?.subarray(0, 1) ?? null, condition: conditionsOf(request, 0, 1), onFrame: undefined,
    firstSample: 0, edit,
  });
  const perSample = Math.max(1, memoryStats().peakBytes - before);
  return Math.max(1, Math.min(request.num, Math.floor(SAMPLING_MEMORY_BUDGET / perSample)));
}

/** What a batch's step reports: the batch, the step and the current samples (a copy). */
export type BatchStep = (batch: number, index: number, total: number, timestep: number, sample: Float32Array) => void;

/**
 * Draws `request.num` samples in batches of `batch` and hands each batch's samples (flat, [n, ...sampleShape])
 * to `onBatch` with the index of its first sample, in order. With `threads` > 1 (and no per-step callback) each
 * batch is split between that many threads: the same samples.
 */
export async function sampleInBatches(
  request: SampleRequest, batch: number, onBatch: (samples: Float32Array, first: number) => Promise<void>, onStep?: BatchStep, threads = 1,
): Promise<void> {
  const workers = threads > 1 && !onStep ? await SamplingWorkers.start(requestPipeline(request), threads, request.classifier ?? null) : null;
  try {
    for (let first = 0, b = 0; first < request.num; first += batch, b++) {
      const size = Math.min(batch, request.num - first);
      const samples = await generateSamples({
        ...request, num: size, firstSample: first, labels: request.labels?.subarray(first, first + size) ?? null, condition: conditionsOf(request, first, size),
        onFrame: onStep ? (sample, index, total, timestep) => onStep(b, index, total, timestep, sample) : undefined,
      }, workers);
      await onBatch(samples, first);
    }
  } finally {
    workers?.close();
  }
}

/** Where the samples go. */
export interface SampleSink {
  write(samples: Float32Array, first: number): Promise<void>;
  /** Removes whatever a failed or stopped run left (synchronous, for signal handlers). */
  abortSync(): void;
}

/** Samples streamed into a .npy file of the run's final shape (see npyValues). */
export class NpySink implements SampleSink {
  private constructor(private readonly writer: NpyFileWriter, private readonly data: ModelMetadata['data']) {}

  static async create(path: string, data: ModelMetadata['data'], num: number): Promise<NpySink> {
    return new NpySink(await NpyFileWriter.create(path, layoutOf(data, num).shape), data);
  }

  write(samples: Float32Array): Promise<void> {
    return this.writer.append(npyValues(samples, this.data));
  }

  finish(): Promise<void> {
    return this.writer.finish();
  }

  abortSync(): void {
    this.writer.abortSync();
  }
}

/** Every sample's values gathered, for a picture (which needs all of them). */
export class GatheredSamples implements SampleSink {
  readonly values: Float32Array;
  private readonly perSample: number;

  constructor(sampleShape: readonly number[], num: number) {
    this.perSample = sampleShape.reduce((a, b) => a * b, 1);
    this.values = new Float32Array(num * this.perSample);
  }

  async write(samples: Float32Array, first: number): Promise<void> {
    this.values.set(samples, first * this.perSample);
  }

  abortSync(): void {}
}

/**
 * The frames of an animation, gathered across batches: every batch takes the same steps, so frame k holds each
 * batch's samples at its k-th recorded step.
 */
export class AnimationFrames {
  readonly frames: Float32Array[] = [];
  readonly captions: string[] = [];
  private readonly perSample: number;

  constructor(sampleShape: readonly number[], private readonly num: number, private readonly batch: number, private readonly count: number) {
    this.perSample = sampleShape.reduce((a, b) => a * b, 1);
  }

  /** Records step `index` of `total` of batch `b` when it is one of the about `count` frames. */
  record(b: number, index: number, total: number, timestep: number, sample: Float32Array): void {
    const every = Math.max(1, Math.round(total / this.count));
    if (index % every !== 0 && index !== total - 1) return;
    const k = Math.ceil(index / every);
    if (b === 0) {
      this.frames[k] = new Float32Array(this.num * this.perSample);
      this.captions[k] = index === total - 1 ? 'done' : `t = ${timestep}`;
    }
    this.frames[k].set(sample, b * this.batch * this.perSample);
  }
}

/** The conditioning images of samples [first, first + size) of a request, if it has any. */
function conditionsOf(request: SampleRequest, first: number, size: number): Float32Array | undefined {
  if (!request.condition) return undefined;
  const per = request.condition.length / request.num;
  return request.condition.subarray(first * per, (first + size) * per);
}
