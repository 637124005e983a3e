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
import { randInt, randn, randUniform } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import type { NoiseScheduler, SchedulerOptions } from '../schedulers/index.ts';
import { OutOfMemoryError, Tensor, keep, tidy } from '../tensor.ts';
import { EMA } from './ema.ts';
import { batchGradient, type ShardInput, type TargetSource } from './gradients.ts';
import { TrainingLoop, type LoopReport } from './loop.ts';
import { buildAllOrNothing } from './trainer-state.ts';
import { AdamW } from './optimizer.ts';
import { GradientWorkers, type TeacherMessage } from './workers.ts';

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

/** What each step reports: the step just taken (from 1), the batch's mean squared error before the update, the global gradient norm before clipping, and the learning rate used. */
export type StepReport = LoopReport<{ loss: number }>;

export class Trainer extends TrainingLoop<{ loss: number }> {
  readonly model: Denoiser;
  readonly scheduler: NoiseScheduler<SchedulerOptions>;
  readonly dataset: Dataset;
  readonly options: TrainingHyperparameters;
  /** Threads computing each step's gradient. */
  readonly workers: number;
  protected readonly order: DataOrder;
  private readonly shardGrads: Tensor[];
  private pool: Promise<GradientWorkers> | null = null;

  constructor(options: TrainerOptions) {
    const { model, scheduler, dataset, workers = 1, ...rest } = options;
    const o = resolveTrainerOptions(rest);
    if (!Number.isInteger(workers) || workers < 1 || workers > o.gradientShards) {
      throw new Error(`Trainer: workers must be an integer from 1 to gradientShards (${o.gradientShards}), got ${workers}`);
    }
    checkCompatible(model, dataset);
    const size = model.params.size;
    const state = buildAllOrNothing(`Trainer (${size.toLocaleString('en-US')} parameters)`, 'lower gradientShards, or use a smaller model', (track) => ({
      optimizer: track(new AdamW(size, {
        learningRate: o.learningRate, warmupSteps: o.warmupSteps, decay: 'cosine', decaySteps: o.decaySteps,
        weightDecay: o.weightDecay, beta1: o.adamBeta1, beta2: o.adamBeta2, epsilon: o.adamEpsilon, gradClipNorm: o.gradClipNorm,
      })),
      ema: track(new EMA(model.params.values, o.emaDecay)),
      shardGrads: Array.from({ length: o.gradientShards }, () => track(keep(Tensor.zeros([size])))),
    }));
    super(model.params, state.optimizer, state.ema);
    this.options = o;
    this.workers = workers;
    this.model = model;
    this.scheduler = scheduler;
    this.dataset = dataset;
    this.shardGrads = state.shardGrads;
    this.order = new DataOrder(dataset.size, o.seed);
  }

  /** AdamW's first and second moments, laid out like the parameters. */
  get adamM(): Tensor { return this.optimizer.m; }
  get adamV(): Tensor { return this.optimizer.v; }
  /** The EMA of the parameters (a copy of them when emaDecay is 0). */
  get ema(): Tensor { return this.averaged!.weights; }

  /** The batch's gradient, computed in this thread or shared with workers, shard by shard in a fixed tree. */
  protected async computeGradient(step: number): Promise<{ loss: number }> {
    const { gradientShards, seed, batchSize } = this.options;
    try {
      const input = tidy(() => keepInput(this.drawBatch(step)));
      try {
        const source = this.targetSource();
        const loss = this.workers === 1
          ? batchGradient(this.model, input, gradientShards, seed, this.shardGrads, source)
          : await (await this.startWorkers()).batchGradient(this.model, input, gradientShards, seed, this.shardGrads, source);
        return { loss };
      } finally {
        input.x.dispose();
        if (input.target !== input.x) input.target?.dispose();
      }
    } catch (error) {
      if (!(error instanceof OutOfMemoryError)) throw error;
      throw error.withHint(`Trainer step ${step + 1} (batchSize ${batchSize})`, 'lower batchSize, or use a smaller model');
    }
  }

  /** Where targets come from when batches carry none (distillation's teacher); the diffusion loss carries them. */
  protected targetSource(): TargetSource | null {
    return null;
  }

  /** The target source as plain data for the workers, when there is one. */
  protected teacherMessage(): TeacherMessage | null {
    return null;
  }

  private startWorkers(): Promise<GradientWorkers> {
    this.pool ??= GradientWorkers.start(this.model, this.workers, this.teacherMessage());
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
  override async dispose(): Promise<void> {
    if (this.pool) (await this.pool).close();
    this.pool = null;
    for (const t of this.shardGrads) t.dispose();
    await super.dispose();
  }
}

/** Keeps the tensors of a batch alive past the `tidy` that drew it (x and target may be the same tensor). */
function keepInput(input: ShardInput): ShardInput {
  keep(input.x);
  if (input.target) keep(input.target);
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
