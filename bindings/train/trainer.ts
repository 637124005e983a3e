/**
 * The training loop of DDPM (Ho et al. 2020, Algorithm 1), with the usual modern additions:
 *
 *   x0 ~ data, t ~ Uniform{0..T-1}, eps ~ N(0, I);  x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps
 *   loss = || target - model(x_t, t, y) ||^2 (mean), target = eps | x0 | v by the scheduler's predictionType
 *   gradient clipping by global norm, AdamW with linear learning-rate warm-up, an EMA of the weights,
 *   and for class-conditional models, labels dropped to the null label with probability condDropProb
 *   (classifier-free guidance, Ho & Salimans 2022).
 *
 * Everything random is drawn from the counter-based generator at addresses fixed by (seed, step, sample), and
 * the gradient is summed shard by shard in a fixed tree (train/gradients.ts), so a run is a pure function of its
 * options: the same losses and weights in every runtime, with any number of workers, and after a resume.
 */
import type { Dataset } from '../data/dataset.ts';
import { DataOrder } from '../data/dataset.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { adamwStep, emaUpdate } from '../ops/adamw.ts';
import { countNonFinite } from '../ops/elementwise.ts';
import { randInt, randn, randUniform } from '../ops/random.ts';
import { cos } from '../ops/math.ts';
import { STREAMS } from '../random-streams.ts';
import type { NoiseScheduler, SchedulerOptions } from '../schedulers/index.ts';
import { OutOfMemoryError, Tensor, keep, tidy } from '../tensor.ts';
import { clipGradNorm } from './clip-grad-norm.ts';
import { batchGradient, type ShardInput } from './gradients.ts';
import { GradientWorkers } from './workers.ts';

export interface TrainerOptions {
  model: Denoiser;
  scheduler: NoiseScheduler<SchedulerOptions>;
  dataset: Dataset;
  /** Samples per step. Default 64. */
  batchSize?: number;
  /** Peak learning rate of AdamW. Default 2e-4. */
  learningRate?: number;
  /** Seed of every random draw of the run (data order, timesteps, noise, label dropout, dropout). Default 0. */
  seed?: number;
  /** Decay of the exponential moving average of the weights, warmed up as (1 + step) / (10 + step); 0 turns it off. Default 0.999. */
  emaDecay?: number;
  /** Clip the gradient to this global L2 norm; 0 turns clipping off. Default 1.0. */
  gradClipNorm?: number;
  /** Steps of linear learning-rate warm-up. Default 200. */
  warmupSteps?: number;
  /**
   * After warm-up, decay the learning rate to 0 along a half cosine that ends at this step (diffusers'
   * 'cosine' schedule); 0 keeps it constant. Default 0.
   */
  decaySteps?: number;
  /** Probability of replacing a class label by the null label (classifier-free guidance). Default 0.1. */
  condDropProb?: number;
  /** AdamW's decoupled weight decay. Default 0. */
  weightDecay?: number;
  /** AdamW's betas and epsilon. Defaults 0.9, 0.999, 1e-8. */
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  /** Shards the batch's gradient is computed in (see train/gradients.ts); also the most workers that can share a step. Default 4. */
  gradientShards?: number;
  /**
   * Threads computing the gradient (this one plus workers; see train/workers.ts). Changes the speed, never the
   * result. At most gradientShards. Default 1.
   */
  workers?: number;
}

export type TrainingHyperparameters = Required<Omit<TrainerOptions, 'model' | 'scheduler' | 'dataset' | 'workers'>>;

export const TRAINER_DEFAULTS: TrainingHyperparameters = {
  batchSize: 64, learningRate: 2e-4, seed: 0, emaDecay: 0.999, gradClipNorm: 1.0, warmupSteps: 200, decaySteps: 0,
  condDropProb: 0.1, weightDecay: 0, adamBeta1: 0.9, adamBeta2: 0.999, adamEpsilon: 1e-8, gradientShards: 4,
};

/** What each step reports. */
export interface StepReport {
  /** The step just taken, counting from 1. */
  step: number;
  /** The batch's mean squared error before the update. */
  loss: number;
  /** The global gradient norm before clipping. */
  gradNorm: number;
  /** The learning rate used. */
  learningRate: number;
}

/** Thrown when the loss or a gradient becomes NaN or infinite; the parameters are left as before the step. */
export class TrainingDivergedError extends Error {}

export class Trainer {
  readonly model: Denoiser;
  readonly scheduler: NoiseScheduler<SchedulerOptions>;
  readonly dataset: Dataset;
  readonly options: TrainingHyperparameters;
  /** Steps taken so far. */
  step = 0;
  /** AdamW's first and second moments, laid out like the parameters. */
  readonly adamM: Tensor;
  readonly adamV: Tensor;
  /** The EMA of the parameters (a copy of them when emaDecay is 0). */
  readonly ema: Tensor;
  /** Threads computing each step's gradient. */
  readonly workers: number;
  private readonly order: DataOrder;
  private readonly shardGrads: Tensor[];
  private pool: Promise<GradientWorkers> | null = null;

  constructor(options: TrainerOptions) {
    const { model, scheduler, dataset, workers = 1, ...rest } = options;
    this.options = resolveTrainerOptions(rest);
    if (!Number.isInteger(workers) || workers < 1 || workers > this.options.gradientShards) {
      throw new Error(`Trainer: workers must be an integer from 1 to gradientShards (${this.options.gradientShards}), got ${workers}`);
    }
    this.workers = workers;
    checkCompatible(model, dataset);
    this.model = model;
    this.scheduler = scheduler;
    this.dataset = dataset;
    const size = model.params.size;
    const state = allocateAll(() => [
      Tensor.zeros([size]), Tensor.zeros([size]), model.params.values.reshape([size]),
      ...Array.from({ length: this.options.gradientShards }, () => Tensor.zeros([size])),
    ], `Trainer (${size.toLocaleString('en-US')} parameters)`, 'lower gradientShards, or use a smaller model');
    [this.adamM, this.adamV, this.ema] = state;
    this.shardGrads = state.slice(3);
    this.order = new DataOrder(dataset.size, this.options.seed);
  }

  /** Runs `steps` more steps, yielding a report after each (an async generator, so a UI can update between steps). */
  async *run({ steps }: { steps: number }): AsyncGenerator<StepReport> {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`Trainer.run: steps must be a positive integer, got ${steps}`);
    for (let i = 0; i < steps; i++) {
      yield await this.trainStep();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** One step: a batch, its gradient (in this thread or shared with workers), clipping, AdamW and the EMA. */
  async trainStep(): Promise<StepReport> {
    const { gradientShards, seed, batchSize } = this.options;
    try {
      const input = tidy(() => keepInput(this.drawBatch(this.step)));
      try {
        const loss = this.workers === 1
          ? batchGradient(this.model, input, gradientShards, seed, this.shardGrads)
          : await (await this.startWorkers()).batchGradient(this.model, input, gradientShards, seed, this.shardGrads);
        return tidy(() => this.update(loss));
      } finally {
        for (const t of new Set([input.x, input.target])) t.dispose();
      }
    } catch (error) {
      if (!(error instanceof OutOfMemoryError)) throw error;
      throw error.withHint(`Trainer step ${this.step + 1} (batchSize ${batchSize})`, 'lower batchSize, or use a smaller model');
    }
  }

  /** The update after the gradient: divergence check, clipping, AdamW, EMA. */
  private update(loss: number): StepReport {
    const grads = this.model.params.grads;
    if (!Number.isFinite(loss) || countNonFinite(grads) > 0) {
      throw new TrainingDivergedError(`training diverged at step ${this.step + 1}: the loss or a gradient is NaN or infinite ` +
        `(loss ${loss}); the parameters were not updated. Lower learningRate or keep gradClipNorm on.`);
    }
    const { gradClipNorm } = this.options;
    const gradNorm = clipGradNorm(grads, gradClipNorm > 0 ? gradClipNorm : Infinity);
    const lr = this.learningRateAt(this.step);
    const { adamBeta1, adamBeta2, adamEpsilon, weightDecay, emaDecay } = this.options;
    adamwStep(this.model.params.values, grads, this.adamM, this.adamV,
      { lr, beta1: adamBeta1, beta2: adamBeta2, eps: adamEpsilon, weightDecay, step: this.step + 1 });
    if (emaDecay > 0) emaUpdate(this.ema, this.model.params.values, Math.min(emaDecay, (1 + this.step) / (10 + this.step)));
    else this.ema.view().set(this.model.params.values.view());
    this.step++;
    return { step: this.step, loss, gradNorm, learningRate: lr };
  }

  /** The learning rate of step `step` (0-based): linear warm-up, then constant or a half-cosine decay. */
  learningRateAt(step: number): number {
    const { learningRate, warmupSteps, decaySteps } = this.options;
    if (step < warmupSteps) return (learningRate * (step + 1)) / warmupSteps;
    if (decaySteps <= warmupSteps) return learningRate;
    const progress = Math.min(1, (step - warmupSteps) / (decaySteps - warmupSteps));
    return learningRate * 0.5 * (1 + cos(Math.PI * progress));
  }

  private startWorkers(): Promise<GradientWorkers> {
    this.pool ??= GradientWorkers.start(this.model, this.workers);
    return this.pool;
  }

  /**
   * The inputs of step `step`: samples in data order, their timesteps, noise, (dropped) labels, the noisy x_t
   * and the regression target. Sample i of step s is global sample g = s * batchSize + i; its noise is numbers
   * g*M .. g*M + M - 1 of the noise stream (M elements per sample), its timestep and label-drop draw number g.
   */
  drawBatch(step: number): ShardInput {
    const { batchSize: B, seed, condDropProb } = this.options;
    const first = step * B;
    const { x: x0, labels } = this.dataset.batch(this.order.indices(first, B));
    const M = x0.size / B;
    const T = this.scheduler.config.numTrainTimesteps;
    const timesteps = randInt(B, T, { seed, offset: first, stream: STREAMS.trainTimesteps });
    const noise = randn(x0.shape, { seed, offset: first * M, stream: STREAMS.trainNoise });
    let classLabels: Int32Array | null = null;
    if (this.model.numClasses > 0) {
      const u = randUniform([B], { seed, offset: first, stream: STREAMS.trainLabelDrop }).toFloat32Array();
      classLabels = Int32Array.from(labels!, (label, i) => (u[i] < condDropProb ? this.model.numClasses : label));
    }
    const x = this.scheduler.addNoise(x0, noise, timesteps);
    const prediction = this.scheduler.config.predictionType;
    const target = prediction === 'epsilon' ? noise : prediction === 'sample' ? x0 : this.scheduler.getVelocity(x0, noise, timesteps);
    return { x, timesteps, labels: classLabels, target, firstSample: first };
  }

  /** Stops the workers and frees the optimizer state and scratch buffers (the model keeps its parameters). */
  async dispose(): Promise<void> {
    if (this.pool) (await this.pool).close();
    this.pool = null;
    for (const t of [this.adamM, this.adamV, this.ema, ...this.shardGrads]) t.dispose();
  }
}

/**
 * Tensors kept past any `tidy`, all or none: when one allocation fails, the ones made before it are freed, and
 * an out-of-memory error says what was being built (`what`) and what to lower (`hint`).
 */
export function allocateAll(make: () => Tensor[], what: string, hint: string): Tensor[] {
  try {
    return tidy(make).map((t) => keep(t));
  } catch (error) {
    if (!(error instanceof OutOfMemoryError)) throw error;
    throw error.withHint(what, hint);
  }
}

/** Keeps the tensors of a batch alive past the `tidy` that drew it (x and target may be the same tensor). */
function keepInput(input: ShardInput): ShardInput {
  keep(input.x);
  keep(input.target);
  return input;
}

function resolveTrainerOptions(options: Partial<TrainingHyperparameters>): TrainingHyperparameters {
  for (const key of Object.keys(options)) {
    if (!(key in TRAINER_DEFAULTS)) throw new Error(`Trainer: unknown option '${key}'; options are model, scheduler, dataset, ${Object.keys(TRAINER_DEFAULTS).join(', ')}`);
  }
  const o = { ...TRAINER_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as TrainingHyperparameters;
  const integer = (key: keyof TrainingHyperparameters, min: number) => {
    if (!Number.isSafeInteger(o[key]) || o[key] < min) throw new Error(`Trainer: ${key} must be an integer >= ${min}, got ${o[key]}`);
  };
  const inRange = (key: keyof TrainingHyperparameters, lo: number, hi: number, hiOpen = true) => {
    const v = o[key];
    if (typeof v !== 'number' || !(v >= lo && (hiOpen ? v < hi : v <= hi))) throw new Error(`Trainer: ${key} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  };
  integer('batchSize', 1); integer('seed', 0); integer('warmupSteps', 0); integer('decaySteps', 0); integer('gradientShards', 1);
  inRange('learningRate', 0, 1, false); inRange('emaDecay', 0, 1); inRange('condDropProb', 0, 1);
  inRange('weightDecay', 0, 1, false); inRange('adamBeta1', 0, 1); inRange('adamBeta2', 0, 1);
  if (!(o.learningRate > 0)) throw new Error(`Trainer: learningRate must be positive, got ${o.learningRate}`);
  if (!(o.gradClipNorm >= 0) || !Number.isFinite(o.gradClipNorm)) throw new Error(`Trainer: gradClipNorm must be >= 0 (0 turns clipping off), got ${o.gradClipNorm}`);
  if (!(o.adamEpsilon > 0)) throw new Error(`Trainer: adamEpsilon must be positive, got ${o.adamEpsilon}`);
  return o;
}

function checkCompatible(model: Denoiser, dataset: Dataset): void {
  const a = model.sampleShape.join(', '), b = dataset.sampleShape.join(', ');
  if (a !== b) throw new Error(`Trainer: the model takes samples of shape [${a}], the dataset '${dataset.name}' has [${b}]`);
  if (model.numClasses > 0 && model.numClasses !== dataset.numClasses) {
    throw new Error(`Trainer: the model has ${model.numClasses} classes (numClassEmbeds), the dataset '${dataset.name}' has ${dataset.numClasses}`);
  }
}
