/**
 * The settings of a training run, from the flags of `ddpm train`: defaults by data (for images, derived from the
 * image size and the number of images: train-defaults.ts), checks of the combinations, and, when resuming, the run's
 * own settings read back from its training state: a flag left out takes the run's value, a flag given with
 * another value is refused (it would not continue the same run).
 */
import {
  LOSS_OPTION_DEFAULTS, TRAINER_DEFAULTS, describeData,
  type ConditionTask, type Dataset, type LossType, type ModelMetadata, type PredictionType, type SchedulerOptions, type TimestepSampling,
  type TrainingHyperparameters,
} from '../bindings/index.ts';
import { fail } from './errors.ts';
import { AttributeDataset } from '../bindings/data/attributes.ts';
import { BUILTIN_DATA, isDigits, isToy } from './data.ts';
import { mlpPreset, unetPreset } from './models.ts';
import { imageDefaults } from './train-defaults.ts';
import type { DataRequest } from './data.ts';

export type ModelChoice = 'mlp' | 'unet';
export type ScheduleChoice = 'linear' | 'cosine';
export type LrDecayChoice = 'cosine' | 'constant';
/** --variance: the reverse process's variance ('learned-range', 'learned': the model predicts it). */
export type VarianceChoice = 'fixed-small' | 'fixed-large' | 'learned-range' | 'learned';
export const MODEL_CHOICES: readonly ModelChoice[] = ['mlp', 'unet'];
export const SCHEDULE_CHOICES: readonly ScheduleChoice[] = ['linear', 'cosine'];
export const LR_DECAY_CHOICES: readonly LrDecayChoice[] = ['cosine', 'constant'];
export const VARIANCE_CHOICES: readonly VarianceChoice[] = ['fixed-small', 'fixed-large', 'learned-range', 'learned'];
export const LOSS_CHOICES: readonly LossType[] = ['simple', 'hybrid'];
export const TIMESTEP_SAMPLING_CHOICES: readonly TimestepSampling[] = ['uniform', 'importance'];
export const TASK_CHOICES: readonly ConditionTask[] = ['colorize', 'superres'];

const isLearned = (variance: VarianceChoice) => variance === 'learned-range' || variance === 'learned';

/** What defines a run (and must stay the same when it is resumed). */
export interface RunSettings {
  data: string;
  model: ModelChoice;
  batch: number;
  lr: number;
  warmup: number;
  /** 'cosine': the learning rate decays to 0 at the last step (--steps); 'constant': it stays (runs can be extended). */
  lrDecay: LrDecayChoice;
  emaDecay: number;
  schedule: ScheduleChoice;
  timesteps: number;
  prediction: PredictionType;
  classCond: boolean;
  /** Images only. */
  imageSize: number | null;
  /** U-Net channels per level (images); null for 2-D points. */
  channels: number[] | null;
  /** A folder's images read as grey. */
  grayscale: boolean;
  seed: number;
  /** The reverse process's variance; a learned one doubles the U-Net's output channels. */
  variance: VarianceChoice;
  loss: LossType;
  timestepSampling: TimestepSampling;
  /** Min-SNR-gamma (0: off). */
  snrGamma: number;
  /** Offset noise (0: off). */
  noiseOffset: number;
  /** Zero terminal SNR (Lin et al. 2024): rescaled betas, and trailing timesteps when sampling. */
  zeroSnr: boolean;
  /** A conditioning task (data/conditioned.ts), or null. */
  task: ConditionTask | null;
  /** Classifier-free label dropout (per attribute for labels per attribute). */
  condDrop: number;
  /** beta_0 of the linear schedule (diffusers' beta_start); null: the default (1e-4). */
  betaStart: number | null;
}

/** The flags of `ddpm train` that make up RunSettings (undefined when not given). */
export type SettingFlags = { [K in keyof RunSettings]?: RunSettings[K] | undefined };

/** Each setting's flag, for messages. */
export const FLAG_OF: Readonly<Record<keyof RunSettings, string>> = {
  data: '--data', model: '--model', batch: '--batch', lr: '--lr', warmup: '--warmup', lrDecay: '--lr-decay', emaDecay: '--ema-decay',
  schedule: '--schedule', timesteps: '--timesteps', prediction: '--prediction', classCond: '--class-cond',
  imageSize: '--image-size', channels: '--channels', grayscale: '--grayscale', seed: '--seed',
  variance: '--variance', loss: '--loss', timestepSampling: '--timestep-sampling', snrGamma: '--snr-gamma', noiseOffset: '--noise-offset',
  zeroSnr: '--zero-snr', task: '--task', condDrop: '--cond-drop', betaStart: '--beta-start',
};

/**
 * Defaults by kind of data. The 2-D recipe is the one the gaussian8 quality test checks (test/quality): 1000
 * diffusion steps with the fixed-large variance, a short warm-up, a cosine decay to the last step and a fast EMA,
 * about 45 s on one core. T = 1000 and beta_t as the reverse variance make its likelihood bound tight (the README's
 * Likelihood: 0.03 nats/dim above the ring's entropy): with T = 100 the linear schedule ends at alpha-bar 0.37, far
 * from pure noise, and the prior term alone costs 0.22; for smooth data the true reverse step's variance is close
 * to beta_t, not to the posterior's beta~_t (fixed-small: 0.57 nats/dim more).
 * For images, the model's width and depth, the batch, the steps, the learning rate, the EMA and the warm-up
 * follow from the image size and the number of images (train-defaults.ts); the rest is IMAGE_DEFAULTS.
 *
 * Images predict v (Salimans & Ho 2022), not eps: with T = 1000 and the linear schedule, sqrt(ab_t) is below
 * 0.008 at the top timesteps, so the clean image estimated from a predicted eps multiplies the model's error by
 * 130 or more there. A briefly trained small U-Net predicting eps can leave the data in the first sampling
 * steps and never come back (most samples of the first colored-digit model, 4,000 steps, stayed noise); one
 * predicting v estimates x0 with no such amplification (the same run predicting v drew colored digits by step
 * 500). See the README's Results.
 */
export const POINT_DEFAULTS = {
  model: 'mlp', batch: 256, lr: 2e-3, steps: 5000, timesteps: 1000, variance: 'fixed-large', warmup: 100, lrDecay: 'cosine', emaDecay: 0.995,
  prediction: 'epsilon', channels: null,
} as const;
export const IMAGE_DEFAULTS = {
  model: 'unet', timesteps: 1000, variance: 'fixed-small', lrDecay: 'constant', prediction: 'v_prediction',
} as const;

/** The default number of steps of a run with these settings on `numSamples` samples. */
export function defaultSteps(s: RunSettings, numSamples: number): number {
  return isToy(s.data) ? POINT_DEFAULTS.steps : imageDefaults(s.imageSize!, numSamples, s.batch).steps;
}

/** The data the flags ask for (checked before it is loaded). */
export function dataRequestOf(flags: SettingFlags): DataRequest {
  const s = resolveSettings(flags, 0);
  return { data: s.data, imageSize: s.imageSize ?? 0, channels: s.grayscale ? 1 : 3, task: s.task };
}

/** Fills in the defaults by data (`numSamples`: the data set's size) and checks the combinations. */
export function resolveSettings(flags: SettingFlags, numSamples: number): RunSettings {
  if (flags.data === undefined) fail(`--data is required: one of ${BUILTIN_DATA.join(', ')}, or a folder of images`);
  const data = flags.data;
  const points = isToy(data);
  const imageSize = flags.imageSize ?? (isDigits(data) ? 28 : 32);
  const defaults = points ? POINT_DEFAULTS : { ...IMAGE_DEFAULTS, ...imageDefaults(imageSize, numSamples, flags.batch) };
  const s: RunSettings = {
    data,
    model: flags.model ?? defaults.model,
    batch: flags.batch ?? defaults.batch,
    lr: flags.lr ?? defaults.lr,
    warmup: flags.warmup ?? defaults.warmup,
    lrDecay: flags.lrDecay ?? defaults.lrDecay,
    emaDecay: flags.emaDecay ?? defaults.emaDecay,
    schedule: flags.schedule ?? 'linear',
    timesteps: flags.timesteps ?? defaults.timesteps,
    prediction: flags.prediction ?? defaults.prediction,
    classCond: flags.classCond ?? false,
    imageSize: points ? null : imageSize,
    channels: flags.channels ?? defaults.channels,
    grayscale: flags.grayscale ?? false,
    seed: flags.seed ?? 0,
    variance: flags.variance ?? defaults.variance,
    loss: flags.loss ?? (isLearned(flags.variance ?? defaults.variance) ? 'hybrid' : 'simple'),
    timestepSampling: flags.timestepSampling ?? 'uniform',
    snrGamma: flags.snrGamma ?? 0,
    noiseOffset: flags.noiseOffset ?? 0,
    zeroSnr: flags.zeroSnr ?? false,
    task: flags.task ?? null,
    condDrop: flags.condDrop ?? TRAINER_DEFAULTS.condDropProb,
    betaStart: flags.betaStart ?? null,
  };
  if (points) checkPointSettings(s, flags);
  else checkImageSettings(s);
  checkLossSettings(s);
  return s;
}

/** The loss and schedule options against each other (the Trainer checks them again, in its own words). */
function checkLossSettings(s: RunSettings): void {
  if (isLearned(s.variance) && s.loss !== 'hybrid') fail(`--loss ${s.loss}: --variance ${s.variance} is learned by the hybrid loss (--loss hybrid)`);
  if (!isLearned(s.variance) && s.loss === 'hybrid') fail('--loss hybrid trains the variance: add --variance learned-range (or learned)');
  if (isLearned(s.variance) && s.model !== 'unet') fail(`--variance ${s.variance} needs a U-Net (images): the MLP predicts no variance`);
  if (s.betaStart !== null && s.schedule !== 'linear') fail(`--beta-start applies to --schedule linear, not ${s.schedule}`);
  if (s.betaStart !== null && !(s.betaStart < 0.02)) fail(`--beta-start ${s.betaStart} must be below the last beta, 0.02`);
  if (s.zeroSnr && s.prediction === 'epsilon') {
    fail("--zero-snr with --prediction epsilon: at the last timestep the noise is all there is, so eps gives no image; use --prediction v_prediction");
  }
}

function checkPointSettings(s: RunSettings, flags: SettingFlags): void {
  const what = `${s.data} is 2-D points`;
  if (s.model !== 'mlp') fail(`--model ${s.model} needs images; ${what} (use --model mlp)`);
  if (s.classCond) fail(`--class-cond: ${s.data} has no classes`);
  // A resumed run's stored flags say 'none' as false (grayscale) or null (task).
  for (const key of ['imageSize', 'channels', 'grayscale', 'task'] as const) {
    if (flags[key] !== undefined && flags[key] !== false && flags[key] !== null) fail(`${FLAG_OF[key]} applies to images; ${what}`);
  }
}

function checkImageSettings(s: RunSettings): void {
  if (s.model !== 'unet') fail(`--model ${s.model} is for 2-D points; ${s.data} holds images (use --model unet)`);
  if (isDigits(s.data) && s.imageSize! < 28) fail(`--image-size ${s.imageSize}: ${s.data} digits are 28x28, so the size must be at least 28`);
  if (s.imageSize! < 4) fail(`--image-size ${s.imageSize}: images must be at least 4 pixels wide`);
  if (s.grayscale && isDigits(s.data)) fail(`--grayscale applies to a folder of images, not to ${s.data}`);
  if (s.task === 'colorize' && s.data !== 'colored-mnist') fail(`--task colorize colours grey digits: it trains on --data colored-mnist, not ${s.data}`);
  if (s.task !== null && s.data === 'colored-mnist-attributes') fail(`--task ${s.task}: use --data colored-mnist or mnist (the attributes are labels, not a task)`);
  if (s.task !== null && s.classCond) fail(`--task ${s.task} conditions on an image: leave out --class-cond`);
}

/** The model's kind and config for the settings and the loaded data. */
export function modelConfigOf(s: RunSettings, dataset: Dataset): { kind: 'mlp' | 'unet2d'; config: object } {
  const classes = s.classCond ? dataset.numClasses : 0;
  if (s.classCond && classes === 0) fail(`--class-cond: ${s.data} has no classes (a folder needs one sub-folder of images per class)`);
  if (s.model === 'mlp') return { kind: 'mlp', config: mlpPreset() };
  const [channels] = dataset.sampleShape;
  const attributes = s.classCond && dataset instanceof AttributeDataset ? dataset.sizes : undefined;
  return {
    kind: 'unet2d',
    config: unetPreset(s.imageSize!, channels, attributes ? 0 : classes, s.channels ?? undefined, {
      outChannels: isLearned(s.variance) ? 2 * channels : undefined,
      conditionChannels: dataset.condition?.shape[0],
      classAttributes: attributes ? [...attributes] : undefined,
    }),
  };
}

/** The scheduler config of a run: 2-D points are not clipped to [-1, 1] (they spread over about [-4, 4]). */
export function schedulerOptionsOf(s: RunSettings): SchedulerOptions {
  const options: SchedulerOptions & { varianceType?: string; rescaleBetasZeroSnr?: boolean } = {
    numTrainTimesteps: s.timesteps, betaSchedule: s.schedule, predictionType: s.prediction, clipSample: !isToy(s.data),
  };
  // Options at their defaults are left out, so the configs of runs without them stay as they were.
  if (s.variance !== 'fixed-small') options.varianceType = s.variance.replace('-', '_');
  if (s.betaStart !== null) options.betaStart = s.betaStart;
  if (s.zeroSnr) Object.assign(options, { rescaleBetasZeroSnr: true, timestepSpacing: 'trailing' });
  return options as SchedulerOptions;
}

/** The Trainer's hyperparameters for the settings, training to step `steps`. */
export function trainerOptionsOf(s: RunSettings, steps: number): Partial<TrainingHyperparameters> {
  const decaySteps = s.lrDecay === 'cosine' ? steps : 0;
  return {
    batchSize: s.batch, learningRate: s.lr, warmupSteps: s.warmup, decaySteps, emaDecay: s.emaDecay, seed: s.seed, condDropProb: s.condDrop,
    loss: s.loss, timestepSampling: s.timestepSampling, snrGamma: s.snrGamma, noiseOffset: s.noiseOffset,
  };
}

/** A run's settings as its training state records them (data only when it is built in; a folder must be named again). */
export function storedSettings(meta: ModelMetadata): SettingFlags {
  const config = meta.config as Record<string, unknown>;
  const options = (meta.training.options ?? {}) as Partial<TrainingHyperparameters>;
  const scheduler = meta.scheduler as SchedulerOptions & { varianceType?: string; rescaleBetasZeroSnr?: boolean };
  const loss = { ...LOSS_OPTION_DEFAULTS, ...options };
  const stored: SettingFlags = {
    variance: (scheduler.varianceType ?? 'fixed_small').replace('_', '-') as VarianceChoice,
    loss: loss.loss, timestepSampling: loss.timestepSampling, snrGamma: loss.snrGamma, noiseOffset: loss.noiseOffset,
    zeroSnr: scheduler.rescaleBetasZeroSnr ?? false, task: (meta.data.condition?.task as ConditionTask | undefined) ?? null,
    condDrop: options.condDropProb, betaStart: scheduler.betaStart ?? null,
    data: BUILTIN_DATA.includes(meta.data.name) ? meta.data.name : undefined,
    model: meta.kind === 'mlp' ? 'mlp' : 'unet',
    batch: options.batchSize, lr: options.learningRate, warmup: options.warmupSteps, emaDecay: options.emaDecay, seed: options.seed,
    lrDecay: (options.decaySteps ?? 0) > 0 ? 'cosine' : 'constant',
    schedule: meta.scheduler.betaSchedule as ScheduleChoice, timesteps: meta.scheduler.numTrainTimesteps, prediction: meta.scheduler.predictionType,
    classCond: Number(config.numClassEmbeds ?? 0) > 0,
  };
  if (meta.kind === 'unet2d') {
    stored.imageSize = config.sampleSize as number;
    stored.channels = config.blockOutChannels as number[];
    if (!BUILTIN_DATA.includes(meta.data.name)) stored.grayscale = config.inChannels === 1;
  }
  return stored;
}

/**
 * The flags of a resumed run: the given ones, which must agree with the run's, and the run's for the rest.
 * `where` names the run folder in messages.
 */
export function mergeResumed(flags: SettingFlags, stored: SettingFlags, where: string): SettingFlags {
  const merged: SettingFlags = { ...flags };
  for (const key of Object.keys(FLAG_OF) as (keyof RunSettings)[]) {
    const mine = flags[key], theirs = stored[key];
    if (theirs === undefined) continue;
    if (mine !== undefined && !sameValue(mine, theirs)) {
      fail(`--resume: ${where} was trained with ${describe(key, theirs)}; resuming with ${describe(key, mine)} would not continue ` +
        `the same run (leave ${FLAG_OF[key]} out to keep the run's value)`);
    }
    (merged as Record<string, unknown>)[key] = theirs;
  }
  if (merged.data === undefined) fail(`--resume: ${where} was trained on a folder of images; give it again with --data PATH`);
  return merged;
}

/** Checks that the data loaded for a resumed run is the data it was trained on. */
export function checkSameData(dataset: Dataset, meta: ModelMetadata, where: string): void {
  const now = describeData(dataset);
  if (JSON.stringify(now) !== JSON.stringify(meta.data)) {
    fail(`--resume: ${where} was trained on '${meta.data.name}' (samples [${meta.data.sampleShape.join(', ')}], ${meta.data.classNames.length} classes); ` +
      `--data ${dataset.name} gives '${now.name}' (samples [${now.sampleShape.join(', ')}], ${now.classNames.length} classes)`);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describe(key: keyof RunSettings, value: unknown): string {
  if (typeof value === 'boolean') return value ? FLAG_OF[key] : `no ${FLAG_OF[key]}`;
  return `${FLAG_OF[key]} ${Array.isArray(value) ? value.join(',') : String(value)}`;
}
