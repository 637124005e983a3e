/**
 * The training loop of DDPM (Ho et al. 2020, Algorithm 1), with the usual modern additions:
 *
 *   x0 ~ data, t ~ Uniform{0..T-1}, eps ~ N(0, I);  x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps
 *   loss = || target - model(x_t, t, y) ||^2 (mean), target = eps | x0 | v by the scheduler's predictionType
 *   gradient clipping by global norm, AdamW with linear learning-rate warm-up, an EMA of the weights,
 *   and for class-conditional models, labels dropped to the null label with probability condDropProb
 *   (classifier-free guidance, Ho & Salimans 2022; a model with labels per attribute drops each attribute on
 *   its own).
 *
 * Options of the loss (train/objective.ts, train/loss-weights.ts, train/timestep-sampler.ts): the hybrid loss
 * L_simple + lambda L_vlb of a model that learns its variance (Nichol & Dhariwal 2021), importance-sampled
 * timesteps, Min-SNR-gamma weighting (Hang et al. 2023) and offset noise, with diffusers' names and arithmetic.
 * A model conditioned by concatenation trains on the dataset's conditioning images.
 *
 * Everything random is drawn from the counter-based generator at addresses fixed by (seed, step, sample), and
 * the gradient is summed shard by shard in a fixed tree (train/gradients.ts), so a run is a pure function of its
 * options: the same losses and weights in every runtime, with any number of workers, and after a resume.
 */
import type { Dataset } from '../data/dataset.ts';
import { DataOrder } from '../data/dataset.ts';
import { predictsVariance, type Denoiser } from '../models/denoiser.ts';
import { randInt, randn, randUniform } from '../ops/random.ts';
import { STREAMS } from '../random-streams.ts';
import { isLearnedVariance, type NoiseScheduler, type SchedulerOptions } from '../schedulers/index.ts';
import { OutOfMemoryError, Tensor, keep, tidy } from '../tensor.ts';
import { decodeAttributes, encodeAttributes } from '../core/attribute-labels.ts';
import { EMA } from './ema.ts';
import { batchGradient, type BatchResult, type ShardInput, type TargetSource } from './gradients.ts';
import { minSnrWeights, offsetNoise } from './loss-weights.ts';
import { TrainingLoop, type LoopReport } from './loop.ts';
import { DiffusionObjective, LOSS_TYPES, type LossType, type ObjectiveConfig } from './objective.ts';
import { LossSecondMomentResampler } from './timestep-sampler.ts';
import { buildAllOrNothing } from './trainer-state.ts';
import { AdamW } from './optimizer.ts';
import { GradientWorkers, type TeacherMessage } from './workers.ts';

/** How training timesteps are drawn: uniformly, or by importance (train/timestep-sampler.ts). */
export type TimestepSampling = 'uniform' | 'importance';
export const TIMESTEP_SAMPLINGS: readonly TimestepSampling[] = ['uniform', 'importance'];

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
  /**
   * Probability of replacing a class label by the null label (classifier-free guidance); for a model with labels
   * per attribute, of dropping each attribute, independently. Default 0.1.
   */
  condDropProb?: number;
  /**
   * The loss: 'simple' (the MSE of the prediction) or 'hybrid' (L_simple + vlbWeight · L_vlb, for a model that
   * predicts its variance, with the scheduler's varianceType 'learned_range' or 'learned'). Default 'simple'.
   */
  loss?: LossType;
  /** lambda of the hybrid loss (Nichol & Dhariwal 2021). Default 0.001. */
  vlbWeight?: number;
  /** 'uniform' timesteps, or 'importance' sampling by the loss's second moment (after a warm-up). Default 'uniform'. */
  timestepSampling?: TimestepSampling;
  /** Min-SNR-gamma weighting of the squared error (diffusers' snr_gamma; 5 is the paper's); 0 turns it off. Default 0. */
  snrGamma?: number;
  /** Offset noise (diffusers' noise_offset; e.g. 0.1); 0 turns it off. Default 0. */
  noiseOffset?: number;
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

/** The options of the loss, which training states and model files record only when they differ from these. */
export const LOSS_OPTION_DEFAULTS = { loss: 'simple', vlbWeight: 0.001, timestepSampling: 'uniform', snrGamma: 0, noiseOffset: 0 } as const;

export const TRAINER_DEFAULTS: TrainingHyperparameters = {
  batchSize: 64, learningRate: 2e-4, seed: 0, emaDecay: 0.999, gradClipNorm: 1.0, warmupSteps: 200, decaySteps: 0,
  condDropProb: 0.1, weightDecay: 0, adamBeta1: 0.9, adamBeta2: 0.999, adamEpsilon: 1e-8, gradientShards: 4, ...LOSS_OPTION_DEFAULTS,
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
  /** The loss, when it is not the plain MSE (train/objective.ts). */
  protected readonly objective: DiffusionObjective | null;
  /** The importance sampler of timesteps, with timestepSampling 'importance'; its history is part of the training state. */
  readonly timestepSampler: LossSecondMomentResampler | null;
  private readonly shardGrads: Tensor[];
  private pool: Promise<GradientWorkers> | null = null;

  constructor(options: TrainerOptions) {
    const { model, scheduler, dataset, workers = 1, ...rest } = options;
    const o = resolveTrainerOptions(rest);
    if (!Number.isInteger(workers) || workers < 1 || workers > o.gradientShards) {
      throw new Error(`Trainer: workers must be an integer from 1 to gradientShards (${o.gradientShards}), got ${workers}`);
    }
    checkCompatible(model, dataset);
    checkLoss(o, model, scheduler);
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
    const T = scheduler.config.numTrainTimesteps;
    this.timestepSampler = o.timestepSampling === 'importance' ? new LossSecondMomentResampler(T) : null;
    const weighted = o.loss === 'hybrid' || o.snrGamma > 0 || this.timestepSampler !== null;
    this.objective = weighted ? new DiffusionObjective(this.objectiveConfig()) : null;
  }

  /** The options as training states and model files record them: the loss's only where they differ from the defaults. */
  get storedOptions(): Readonly<Record<string, unknown>> {
    return Object.fromEntries(Object.entries(this.options).filter(([key, value]) =>
      !(key in LOSS_OPTION_DEFAULTS) || LOSS_OPTION_DEFAULTS[key as keyof typeof LOSS_OPTION_DEFAULTS] !== value));
  }

  private objectiveConfig(): ObjectiveConfig {
    return {
      loss: this.options.loss, vlbWeight: this.options.vlbWeight, scheduler: this.scheduler.config as SchedulerOptions,
      decoder: this.model.sampleShape.length === 3 ? 'discretized' : 'gaussian', perItem: this.timestepSampler !== null,
    };
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
        const result: BatchResult = this.workers === 1
          ? batchGradient(this.model, input, gradientShards, seed, this.shardGrads, source, this.objective)
          : await (await this.startWorkers()).batchGradient(this.model, input, gradientShards, seed, this.shardGrads, source, this.objective);
        this.timestepSampler?.update(input.timesteps, result.perItem!);
        return { loss: result.loss };
      } finally {
        disposeInput(input);
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
    this.pool ??= GradientWorkers.start(this.model, this.workers, this.teacherMessage(), this.objective?.config ?? null);
    return this.pool;
  }

  /**
   * The inputs of step `step`: samples in data order, their timesteps, noise, (dropped) labels, the noisy x_t
   * and the regression target. Sample i of step s is global sample g = s * batchSize + i; its noise is numbers
   * g*M .. g*M + M - 1 of the noise stream (M elements per sample), its timestep and label-drop draw number g.
   * With importance sampling the timesteps also depend on the loss history (part of the training state).
   */
  drawBatch(step: number): ShardInput {
    const { batchSize: B, seed, noiseOffset, snrGamma } = this.options;
    const first = step * B;
    const { x: x0, labels, condition } = this.dataset.batch(this.order.indices(first, B));
    const M = x0.size / B;
    const { timesteps, lossWeights } = this.drawTimesteps(first, B);
    const gaussian = randn(x0.shape, { seed, offset: first * M, stream: STREAMS.trainNoise });
    const noise = noiseOffset > 0 ? offsetNoise(gaussian, noiseOffset, seed, first) : gaussian;
    const x = this.scheduler.addNoise(x0, noise, timesteps);
    const prediction = this.scheduler.config.predictionType;
    const target = prediction === 'epsilon' ? noise : prediction === 'sample' ? x0 : this.scheduler.getVelocity(x0, noise, timesteps);
    const mseWeights = snrGamma > 0 ? minSnrWeights(this.scheduler.alphasCumprod, timesteps, snrGamma, prediction) : null;
    return {
      x, timesteps, labels: this.dropLabels(labels, first, B), target, firstSample: first,
      x0: this.options.loss === 'hybrid' ? x0 : null, condition: condition ?? null, mseWeights, lossWeights,
    };
  }

  /** The timesteps of global samples first .. first + B - 1: uniform, or by importance once it is warmed up. */
  private drawTimesteps(first: number, B: number): { timesteps: Int32Array; lossWeights: Float64Array | null } {
    const { seed } = this.options;
    if (this.timestepSampler?.warmedUp) {
      const u = randUniform([B], { seed, offset: first, stream: STREAMS.trainTimestepsImportance }).toFloat32Array();
      const { timesteps, weights } = this.timestepSampler.sample(u);
      return { timesteps, lossWeights: weights };
    }
    return { timesteps: randInt(B, this.scheduler.config.numTrainTimesteps, { seed, offset: first, stream: STREAMS.trainTimesteps }), lossWeights: null };
  }

  /** The labels after classifier-free label dropout (per attribute for a model with labels per attribute). */
  private dropLabels(labels: Int32Array | null, first: number, B: number): Int32Array | null {
    const { seed, condDropProb } = this.options;
    const classes = this.model.numClasses;
    if (classes === 0) return null;
    const attributes = this.model.classAttributes;
    if (!attributes) {
      const u = randUniform([B], { seed, offset: first, stream: STREAMS.trainLabelDrop }).toFloat32Array();
      return Int32Array.from(labels!, (label, i) => (u[i] < condDropProb ? classes : label));
    }
    const A = attributes.length;
    const u = randUniform([B * A], { seed, offset: first * A, stream: STREAMS.trainAttributeDrop }).toFloat32Array();
    return Int32Array.from(labels!, (label, i) => {
      const values = decodeAttributes(label, attributes).map((value, a) => (u[i * A + a] < condDropProb ? attributes[a] : value));
      return encodeAttributes(values, attributes);
    });
  }

  /** Stops the workers and frees the optimizer state and scratch buffers (the model keeps its parameters). */
  override async dispose(): Promise<void> {
    if (this.pool) (await this.pool).close();
    this.pool = null;
    for (const t of this.shardGrads) t.dispose();
    await super.dispose();
  }
}

/** The distinct tensors of a batch (x0 may be the target, and the target the noise). */
function inputTensors(input: ShardInput): Tensor[] {
  return [...new Set([input.x, input.target, input.x0, input.condition].filter((t): t is Tensor => t instanceof Tensor))];
}

/** Keeps the tensors of a batch alive past the `tidy` that drew it. */
function keepInput(input: ShardInput): ShardInput {
  for (const t of inputTensors(input)) keep(t);
  return input;
}

function disposeInput(input: ShardInput): void {
  for (const t of inputTensors(input)) t.dispose();
}

function resolveTrainerOptions(options: Partial<TrainingHyperparameters>): TrainingHyperparameters {
  for (const key of Object.keys(options)) {
    if (!(key in TRAINER_DEFAULTS)) throw new Error(`Trainer: unknown option '${key}'; options are model, scheduler, dataset, ${Object.keys(TRAINER_DEFAULTS).join(', ')}`);
  }
  const o = { ...TRAINER_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as TrainingHyperparameters;
  const integer = (key: keyof TrainingHyperparameters, min: number) => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new Error(`Trainer: ${key} must be an integer >= ${min}, got ${v}`);
  };
  const inRange = (key: keyof TrainingHyperparameters, lo: number, hi: number, hiOpen = true) => {
    const v = o[key];
    if (typeof v !== 'number' || !(v >= lo && (hiOpen ? v < hi : v <= hi))) throw new Error(`Trainer: ${key} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  };
  integer('batchSize', 1); integer('seed', 0); integer('warmupSteps', 0); integer('decaySteps', 0); integer('gradientShards', 1);
  if (!LOSS_TYPES.includes(o.loss)) throw new Error(`Trainer: loss must be ${LOSS_TYPES.map((l) => `'${l}'`).join(' or ')}, got ${String(o.loss)}`);
  if (!TIMESTEP_SAMPLINGS.includes(o.timestepSampling)) {
    throw new Error(`Trainer: timestepSampling must be ${TIMESTEP_SAMPLINGS.map((l) => `'${l}'`).join(' or ')}, got ${String(o.timestepSampling)}`);
  }
  for (const key of ['snrGamma', 'noiseOffset'] as const) {
    if (typeof o[key] !== 'number' || !(o[key] >= 0) || !Number.isFinite(o[key])) throw new Error(`Trainer: ${key} must be a finite number >= 0 (0 turns it off), got ${o[key]}`);
  }
  if (typeof o.vlbWeight !== 'number' || !(o.vlbWeight > 0) || !Number.isFinite(o.vlbWeight)) throw new Error(`Trainer: vlbWeight must be a positive number, got ${o.vlbWeight}`);
  inRange('learningRate', 0, 1, false); inRange('emaDecay', 0, 1); inRange('condDropProb', 0, 1);
  inRange('weightDecay', 0, 1, false); inRange('adamBeta1', 0, 1); inRange('adamBeta2', 0, 1);
  if (!(o.learningRate > 0)) throw new Error(`Trainer: learningRate must be positive, got ${o.learningRate}`);
  if (!(o.gradClipNorm >= 0) || !Number.isFinite(o.gradClipNorm)) throw new Error(`Trainer: gradClipNorm must be >= 0 (0 turns clipping off), got ${o.gradClipNorm}`);
  if (!(o.adamEpsilon > 0)) throw new Error(`Trainer: adamEpsilon must be positive, got ${o.adamEpsilon}`);
  return o;
}

/** The loss options against the model and the schedule. */
function checkLoss(o: TrainingHyperparameters, model: Denoiser, scheduler: NoiseScheduler<SchedulerOptions>): void {
  const varianceType = (scheduler.config as { varianceType?: string }).varianceType;
  const learned = predictsVariance(model);
  if (o.loss === 'hybrid' && (!learned || !isLearnedVariance(varianceType))) {
    throw new Error("Trainer: loss 'hybrid' trains the variance: the model must predict it (outChannels twice its inChannels) and the " +
      `scheduler's varianceType be 'learned_range' or 'learned' (got a model with output [${(model.outputShape ?? model.sampleShape).join(', ')}] and varianceType ${String(varianceType)})`);
  }
  if (learned && o.loss !== 'hybrid') {
    throw new Error(`Trainer: the model predicts its variance (output [${model.outputShape!.join(', ')}]): train it with loss 'hybrid', which trains the variance`);
  }
  const { predictionType, rescaleBetasZeroSnr } = scheduler.config as { predictionType: string; rescaleBetasZeroSnr?: boolean };
  if (rescaleBetasZeroSnr && predictionType === 'epsilon' && (o.snrGamma > 0 || o.loss === 'hybrid')) {
    throw new Error(`Trainer: ${o.snrGamma > 0 ? `snrGamma ${o.snrGamma}` : "loss 'hybrid'"} with predictionType 'epsilon' and rescaleBetasZeroSnr: ` +
      "at the last timestep the SNR is 0, where eps gives no x0 (and min(snr, gamma) / snr is 0/0); predict 'v_prediction'");
  }
}

function checkCompatible(model: Denoiser, dataset: Dataset): void {
  const a = model.sampleShape.join(', '), b = dataset.sampleShape.join(', ');
  if (a !== b) throw new Error(`Trainer: the model takes samples of shape [${a}], the dataset '${dataset.name}' has [${b}]`);
  const k = model.conditionChannels ?? 0, condition = dataset.condition;
  if (k > 0 && !condition) throw new Error(`Trainer: the model is conditioned on an image of ${k} channels, the dataset '${dataset.name}' has no conditioning images`);
  if (condition && k === 0) throw new Error(`Trainer: the dataset '${dataset.name}' pairs each sample with a conditioning image (${condition.task}), but the model takes none (conditionChannels 0)`);
  if (condition && (condition.shape[0] !== k || condition.shape.slice(1).join() !== model.sampleShape.slice(1).join())) {
    throw new Error(`Trainer: the dataset's conditioning images are [${condition.shape.join(', ')}], the model takes [${k}, ${model.sampleShape.slice(1).join(', ')}]`);
  }
  if (model.numClasses > 0 && model.numClasses !== dataset.numClasses) {
    throw new Error(`Trainer: the model has ${model.numClasses} classes (numClassEmbeds), the dataset '${dataset.name}' has ${dataset.numClasses}`);
  }
}
