/**
 * Scheduler options, after diffusers' scheduler configs in camelCase: the types every scheduler shares, the
 * checks of each option, the table of every option any scheduler of the library knows (`KNOWN_OPTIONS`), and
 * `configFrom`, the heart of `fromConfig` (diffusers' `from_config`): a stored config may hold keys of another
 * scheduler (a model file's config, say, written for DDIM), which are ignored, while a key no scheduler knows is
 * an error that names the nearest known one.
 */
import { closestName } from '../core/names.ts';
import { BETA_SCHEDULES, type BetaSchedule } from './betas.ts';
import { TIMESTEP_SPACINGS, type TimestepSpacing } from './timesteps.ts';

/**
 * What the model predicts: `'epsilon'` the noise eps (Ho et al. 2020), `'sample'` the clean sample x0,
 * `'v_prediction'` the velocity v = sqrt(ab_t)·eps - sqrt(1 - ab_t)·x0 (Salimans & Ho 2022).
 */
export type PredictionType = 'epsilon' | 'sample' | 'v_prediction';

export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'sample', 'v_prediction'];

/** The options every scheduler takes (diffusers' common config keys, in camelCase). */
export interface BaseSchedulerOptions {
  /** T, the number of diffusion steps the model is trained with: an integer in [1, 131072]. Default 1000. */
  numTrainTimesteps?: number;
  /** The beta schedule (see `BetaSchedule`). Default `'linear'`. */
  betaSchedule?: BetaSchedule;
  /** The first beta, for the linear, scaled_linear and sigmoid schedules: in (0, betaEnd). Default 0.0001 (Heun: 0.00085). */
  betaStart?: number;
  /** The last beta, for the linear, scaled_linear and sigmoid schedules: in (betaStart, 1). Default 0.02 (Heun: 0.012). */
  betaEnd?: number;
  /** Explicit betas (numTrainTimesteps values in (0, 1)), used instead of betaSchedule when given. Default null. */
  trainedBetas?: ArrayLike<number> | null;
  /** What the model predicts (see `PredictionType`). Default `'epsilon'`. */
  predictionType?: PredictionType;
  /**
   * How `setTimesteps` spreads the inference timesteps (see `TimestepSpacing`). Default `'leading'` for DDPM and
   * DDIM, `'linspace'` for the others (diffusers' defaults).
   */
  timestepSpacing?: TimestepSpacing;
  /** Added to every 'leading' inference timestep (Stable Diffusion uses 1): an integer >= 0. Default 0. */
  stepsOffset?: number;
  /**
   * Seed of the noise `step` draws when it is not given one (see `SAMPLER_NOISE_STRIDE`): a non-negative safe
   * integer. A step's `{ seed }` option overrides it. Default 0.
   */
  seed?: number;
}

/** The options DDPMScheduler and DDIMScheduler share: the common ones and clipping of the predicted x0. */
export interface SchedulerOptions extends BaseSchedulerOptions {
  /** Clamp the predicted x0 to [-clipSampleRange, clipSampleRange] in `step`. Default true (Heun: false). */
  clipSample?: boolean;
  /** The clamp bound of clipSample: a positive number. Default 1.0. */
  clipSampleRange?: number;
}

/**
 * Dynamic thresholding of the predicted x0 (Saharia et al. 2022, Imagen): per sample, s = the
 * dynamicThresholdingRatio quantile of |x0|, clamped to [1, sampleMaxValue]; x0 -> clamp(x0, -s, s) / s. It
 * replaces clipSample where both are on (as in diffusers). With sampleMaxValue 1 it is clipping to [-1, 1].
 */
export interface ThresholdingOptions {
  /** Turns dynamic thresholding on. Default false. */
  thresholding?: boolean;
  /** The quantile of |x0| that sets s: a number in [0, 1]. Default 0.995. */
  dynamicThresholdingRatio?: number;
  /** The largest s: a positive number. Default 1.0. */
  sampleMaxValue?: number;
}

/** Zero terminal SNR (Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed", Algorithm 1). */
export interface ZeroSnrOptions {
  /**
   * Rescale the betas so that the last timestep is pure noise (alphasCumprod[T-1] = 0; the sigma-based schedulers
   * then set it to 2^-24, as diffusers does, to keep their sigmas finite). Pair it with 'v_prediction' and
   * 'trailing' spacing: an epsilon model cannot recover x0 from pure noise. Default false.
   */
  rescaleBetasZeroSnr?: boolean;
}

/** The defaults of BaseSchedulerOptions shared by every scheduler. */
export const BASE_DEFAULTS: Readonly<Required<BaseSchedulerOptions>> = {
  numTrainTimesteps: 1000, betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02, trainedBetas: null,
  predictionType: 'epsilon', timestepSpacing: 'leading', stepsOffset: 0, seed: 0,
};

/** The defaults of the options DDPMScheduler and DDIMScheduler share (diffusers' DDPMScheduler defaults). */
export const SCHEDULER_DEFAULTS: Readonly<Required<SchedulerOptions>> = {
  numTrainTimesteps: 1000, betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02, trainedBetas: null,
  predictionType: 'epsilon', clipSample: true, clipSampleRange: 1.0, timestepSpacing: 'leading', stepsOffset: 0, seed: 0,
};

export const THRESHOLDING_DEFAULTS: Readonly<Required<ThresholdingOptions>> = {
  thresholding: false, dynamicThresholdingRatio: 0.995, sampleMaxValue: 1.0,
};

/**
 * Every option any scheduler of the library takes (test/schedulers/config.test.ts checks that this is exactly the
 * union of the schedulers' options). `fromConfig` ignores the ones a scheduler does not take.
 */
export const KNOWN_OPTIONS: readonly string[] = [
  ...Object.keys(SCHEDULER_DEFAULTS), ...Object.keys(THRESHOLDING_DEFAULTS), 'rescaleBetasZeroSnr', 'varianceType',
  'setAlphaToOne', 'solverOrder', 'algorithmType', 'solverType', 'lowerOrderFinal', 'eulerAtFinal', 'useKarrasSigmas',
  'finalSigmasType', 'predictX0', 'disableCorrector', 'corrector', 'snr', 'correctorSteps', 'eta',
];

/** The largest numTrainTimesteps: every timestep's noise block must start below 2^53 (see SAMPLER_NOISE_STRIDE). */
const MAX_TRAIN_TIMESTEPS = 2 ** 17;

/**
 * Merges options over a scheduler's defaults, rejecting keys it does not take and invalid values of the options
 * every scheduler shares (each scheduler checks its own extras), with messages that name them.
 */
export function resolveOptions<O extends BaseSchedulerOptions>(name: string, options: O, defaults: Required<O>): Required<O> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${name}: options must be an object, got ${show(options)}`);
  }
  const known = Object.keys(defaults);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new Error(`${name}: unknown option '${key}' (known options: ${known.join(', ')})`);
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const config = { ...defaults, ...defined } as Required<O>;
  checkCommon(name, config);
  return config;
}

/**
 * The options of a scheduler out of a stored config (diffusers' from_config): keys this scheduler takes are kept,
 * keys of other schedulers of the library dropped, and an unknown key is an error naming the nearest known one.
 * `overrides` (diffusers' keyword arguments) win over the stored values and must be options of this scheduler.
 */
export function configFrom(name: string, stored: object, defaults: object, overrides: object = {}): Record<string, unknown> {
  const op = `${name}.fromConfig`;
  for (const [what, value] of [['config', stored], ['overrides', overrides]] as const) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${op}: ${what} must be an object, got ${show(value)}`);
  }
  const own = Object.keys(defaults);
  for (const key of Object.keys(stored)) {
    if (!KNOWN_OPTIONS.includes(key)) throw new Error(`${op}: unknown scheduler option '${key}'; did you mean '${closestName(key, KNOWN_OPTIONS)}'?`);
  }
  for (const key of Object.keys(overrides)) {
    if (!own.includes(key)) {
      const hint = KNOWN_OPTIONS.includes(key) ? `it is not an option of ${name}` : `did you mean '${closestName(key, own)}'?`;
      throw new Error(`${op}: unknown option '${key}' in overrides; ${hint}`);
    }
  }
  const kept = Object.entries(stored).filter(([key]) => own.includes(key));
  return { ...Object.fromEntries(kept), ...overrides };
}


/** Checks the options that several schedulers share, for those this scheduler has. */
function checkCommon(name: string, config: Record<string, unknown>): void {
  const T = config.numTrainTimesteps as number;
  if (!Number.isInteger(T) || T < 1 || T > MAX_TRAIN_TIMESTEPS) {
    throw new Error(`${name}: numTrainTimesteps must be an integer in [1, ${MAX_TRAIN_TIMESTEPS}], got ${show(T)}`);
  }
  choice(name, 'betaSchedule', config.betaSchedule, BETA_SCHEDULES);
  choice(name, 'predictionType', config.predictionType, PREDICTION_TYPES);
  choice(name, 'timestepSpacing', config.timestepSpacing, TIMESTEP_SPACINGS);
  const has = (key: string) => key in config;
  if (has('clipSample')) flag(name, 'clipSample', config.clipSample);
  if (has('clipSampleRange')) positive(name, 'clipSampleRange', config.clipSampleRange);
  const stepsOffset = config.stepsOffset as number;
  if (!Number.isInteger(stepsOffset) || stepsOffset < 0 || stepsOffset >= T) {
    throw new Error(`${name}: stepsOffset must be an integer in [0, ${T - 1}] (numTrainTimesteps ${T}), got ${show(stepsOffset)}`);
  }
  checkSeed(name, 'seed', config.seed);
  if (config.trainedBetas !== null) config.trainedBetas = checkTrainedBetas(name, config.trainedBetas as ArrayLike<number>, T);
  else if (config.betaSchedule !== 'cosine' && config.betaSchedule !== 'squaredcos_cap_v2') checkBetaRange(name, config);
  for (const key of ['thresholding', 'rescaleBetasZeroSnr', 'useKarrasSigmas', 'lowerOrderFinal', 'eulerAtFinal', 'predictX0']) {
    if (has(key)) flag(name, key, config[key]);
  }
  if (has('dynamicThresholdingRatio')) {
    const ratio = config.dynamicThresholdingRatio;
    if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) throw new Error(`${name}: dynamicThresholdingRatio must be a number in [0, 1], got ${show(ratio)}`);
  }
  if (has('sampleMaxValue')) positive(name, 'sampleMaxValue', config.sampleMaxValue);
  if (has('solverOrder') && ![1, 2, 3].includes(config.solverOrder as number)) {
    throw new Error(`${name}: solverOrder must be 1, 2 or 3, got ${show(config.solverOrder)}`);
  }
}

function positive(name: string, key: string, value: unknown): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new Error(`${name}: ${key} must be a finite positive number, got ${show(value)}`);
  }
}

function checkBetaRange(name: string, { betaStart, betaEnd, betaSchedule }: Record<string, unknown>): void {
  for (const [key, value] of [['betaStart', betaStart], ['betaEnd', betaEnd]] as const) {
    if (typeof value !== 'number' || !(value > 0 && value < 1)) {
      throw new Error(`${name}: ${key} must be a number in (0, 1), got ${show(value)}`);
    }
  }
  if ((betaStart as number) >= (betaEnd as number)) {
    throw new Error(`${name}: betaStart (${betaStart}) must be less than betaEnd (${betaEnd}) for betaSchedule '${betaSchedule}'`);
  }
}

function checkTrainedBetas(name: string, betas: ArrayLike<number>, T: number): Float64Array {
  if (typeof betas !== 'object' || typeof betas.length !== 'number') {
    throw new Error(`${name}: trainedBetas must be an array of numbers or null, got ${show(betas)}`);
  }
  if (betas.length !== T) {
    throw new Error(`${name}: trainedBetas has ${betas.length} values but numTrainTimesteps is ${T}`);
  }
  const copy = Float64Array.from(betas);
  copy.forEach((beta, t) => {
    if (!(beta > 0 && beta < 1)) throw new Error(`${name}: trainedBetas[${t}] must be in (0, 1), got ${show(betas[t])}`);
  });
  return copy;
}

/** Checks that `value` is one of `allowed`. */
export function choice<T extends string>(name: string, key: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new Error(`${name}: ${key} must be one of ${allowed.map((v) => `'${v}'`).join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** Checks that `value` is a boolean. */
export function flag(name: string, key: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name}: ${key} must be true or false, got ${show(value)}`);
  return value;
}

export function checkSeed(name: string, key: string, seed: unknown): void {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`${name}: ${key} must be a non-negative safe integer, got ${show(seed)}`);
  }
}

export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
