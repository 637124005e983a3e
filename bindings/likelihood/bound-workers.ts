/**
 * The variational bound on several cores: a batch divided into contiguous runs, one per thread (this one and
 * Node worker threads or Web Workers), each thread with its own WebAssembly core and a copy of the model and the
 * scheduler. An example's noise is addressed by its example index (bound.ts), so every example's terms are the
 * same bits on any number of threads, and the same as in one `variationalBound` call.
 *
 *   const workers = await BoundWorkers.start(model, scheduler, 2);
 *   const terms = await workers.bound(x0, { decoder: 'discretized', exampleIndices, classLabels });
 *   workers.close();
 */
import { expectReply, startWorkers, type WorkerChannel } from '../core/platform-worker.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { modelMessage, type ModelMessage } from '../models/registry.ts';
import { DDPMScheduler } from '../schedulers/ddpm.ts';
import { Tensor } from '../tensor.ts';
import { checkBoundArguments, variationalBound, type BoundOptions, type BoundTerms } from './bound.ts';

/** What a worker computes: its run of the batch, as plain data. */
export type WorkerBoundOptions = Omit<BoundOptions, 'onTimestep' | 'exampleIndices' | 'classLabels'> & {
  exampleIndices: number[];
  classLabels: Int32Array | null;
};

export type BoundRequest =
  | { type: 'init'; model: ModelMessage; scheduler: object }
  | { type: 'bound'; x0: { values: Float32Array; shape: number[] }; options: WorkerBoundOptions };

export type BoundReply = { type: 'ready' } | { type: 'terms'; terms: BoundTerms } | { type: 'error'; message: string };

const WHAT = 'likelihood worker';

/**
 * This thread takes the last run (the sampling and training workers take the first): with fewer items than
 * threads the last run is the one never empty, so `onTimestep` always fires.
 */
export class BoundWorkers {
  private closed = false;

  private constructor(
    private readonly model: Denoiser, private readonly scheduler: DDPMScheduler, private readonly channels: WorkerChannel<BoundRequest, BoundReply>[],
  ) {}

  /** Starts `count - 1` workers (this thread is the last of `count`) with copies of the model and the scheduler. */
  static async start(model: Denoiser, scheduler: DDPMScheduler, count: number): Promise<BoundWorkers> {
    if (!Number.isInteger(count) || count < 1) throw new Error(`BoundWorkers: count must be an integer >= 1, got ${count}`);
    if (!(scheduler instanceof DDPMScheduler)) throw new Error('BoundWorkers: scheduler must be a DDPMScheduler (its varianceType is the reverse process\'s variance)');
    const init: BoundRequest = { type: 'init', model: modelMessage(model), scheduler: scheduler.config };
    return new BoundWorkers(model, scheduler, await startWorkers<BoundRequest, BoundReply>(import.meta.url, count - 1, init, WHAT));
  }

  get count(): number { return this.channels.length + 1; }

  /**
   * `variationalBound(model, scheduler, x0, options)` with the batch split between the threads: the same terms.
   * The whole batch is checked here first, so a bad item is named by its place in the batch. `onTimestep` follows
   * this thread's run, which steps through the same timesteps as the others (it may finish before them).
   */
  async bound(x0: Tensor, options: BoundOptions): Promise<BoundTerms> {
    const op = 'BoundWorkers.bound';
    if (this.closed) throw new Error(`${op}: the workers are closed`);
    const { exampleIndices, classLabels } = checkBoundArguments(op, this.model, this.scheduler, x0, options);
    const N = x0.shape[0], perItem = x0.size / Math.max(1, N);
    if (classLabels !== null && classLabels.length !== N) throw new Error(`${op}: options.classLabels has ${classLabels.length} entries for ${N} items`);
    const { onTimestep, ...rest } = options;
    const values = x0.toFloat32Array();
    const runs = Array.from({ length: this.count }, (_, w) => [Math.floor((w * N) / this.count), Math.floor(((w + 1) * N) / this.count)]);
    const part = ([from, to]: number[]): WorkerBoundOptions => ({
      ...rest, exampleIndices: exampleIndices.slice(from, to), classLabels: classLabels && classLabels.slice(from, to),
    });
    const replies = this.channels.map((channel, w) => {
      const [from, to] = runs[w];
      if (to === from) return Promise.resolve(null);
      const run = values.slice(from * perItem, to * perItem);
      channel.post({ type: 'bound', x0: { values: run, shape: [to - from, ...x0.shape.slice(1)] }, options: part(runs[w]) }, [run.buffer as ArrayBuffer]);
      return expectReply(channel, 'terms', WHAT).then((reply) => (reply as Extract<BoundReply, { type: 'terms' }>).terms);
    });
    const [from, to] = runs[this.count - 1];
    const run = Tensor.from(values.subarray(from * perItem, to * perItem), [to - from, ...x0.shape.slice(1)]);
    let mine: BoundTerms;
    try {
      mine = variationalBound(this.model, this.scheduler, run, { ...part(runs[this.count - 1]), ...(onTimestep && { onTimestep }) });
    } catch (error) {
      await Promise.allSettled(replies); // the workers' answers to this batch, so that the next call gets its own
      throw error;
    } finally {
      run.dispose();
    }
    return joinRuns([...(await Promise.all(replies)), mine].filter((terms): terms is BoundTerms => terms !== null));
  }

  close(): void {
    this.closed = true;
    for (const channel of this.channels) channel.terminate();
  }
}

/** The terms of consecutive runs of a batch, as one batch's. */
function joinRuns(runs: BoundTerms[]): BoundTerms {
  const join = (pick: (terms: BoundTerms) => Float64Array) => {
    const out = new Float64Array(runs.reduce((n, terms) => n + pick(terms).length, 0));
    let at = 0;
    for (const terms of runs) { out.set(pick(terms), at); at += pick(terms).length; }
    return out;
  };
  const perTimestep = runs[0].perTimestep.map((_, i) => join((t) => t.perTimestep[i]));
  // As in variationalBound's result, the decoder term is perTimestep[0] itself.
  return { total: join((t) => t.total), prior: join((t) => t.prior), diffusion: join((t) => t.diffusion), decoder: perTimestep[0], perTimestep };
}
