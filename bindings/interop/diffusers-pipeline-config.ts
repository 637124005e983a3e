/**
 * The rest of a diffusers pipeline folder's configuration: scheduler/scheduler_config.json (DDPMScheduler and
 * DDIMScheduler, diffusers v0.27.2's keys) and model_index.json (DDPMPipeline, DDIMPipeline), both ways, and the
 * translation of scheduler configs to and from this library's scheduler options (the same names in camelCase).
 * Formatting gives the bytes diffusers' save_pretrained writes. Pure: no Node modules.
 */
import type { DDIMSchedulerOptions } from '../schedulers/ddim.ts';
import type { DDPMSchedulerOptions } from '../schedulers/ddpm.ts';
import { SCHEDULER_DEFAULTS, type PredictionType } from '../schedulers/base.ts';
import { THRESHOLDING_DEFAULTS } from '../schedulers/options.ts';
import type { TimestepSpacing } from '../schedulers/timesteps.ts';
import { DIFFUSERS_VERSION, parseJson, show } from './diffusers-config.ts';
import { formatPythonJson, PythonFloat, type PythonJson } from '../io/python-json.ts';

export const SCHEDULER_CLASSES = ['DDPMScheduler', 'DDIMScheduler'] as const;
export const PIPELINE_CLASSES = ['DDPMPipeline', 'DDIMPipeline'] as const;
export type SchedulerClass = (typeof SCHEDULER_CLASSES)[number];
export type PipelineClass = (typeof PIPELINE_CLASSES)[number];

/** diffusers' DDPMScheduler / DDIMScheduler options in camelCase (v0.27.2). */
export interface DiffusersSchedulerOptions {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2' | 'sigmoid';
  trainedBetas: number[] | null;
  clipSample: boolean;
  predictionType: PredictionType;
  thresholding: boolean;
  dynamicThresholdingRatio: number;
  clipSampleRange: number;
  sampleMaxValue: number;
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  rescaleBetasZeroSnr: boolean;
  /** DDPMScheduler only. */
  varianceType?: 'fixed_small' | 'fixed_small_log' | 'fixed_large' | 'fixed_large_log' | 'learned' | 'learned_range';
  /** DDIMScheduler only. */
  setAlphaToOne?: boolean;
}

export interface DiffusersScheduler {
  className: SchedulerClass;
  options: DiffusersSchedulerOptions;
}

/** This library's scheduler, as its class name and constructor options. */
export type LibraryScheduler =
  | { className: 'DDPMScheduler'; options: DDPMSchedulerOptions }
  | { className: 'DDIMScheduler'; options: DDIMSchedulerOptions };

/** What model_index.json says: the pipeline class and its scheduler class (the model is a UNet2DModel). */
export interface PipelineIndex {
  pipeline: PipelineClass;
  scheduler: SchedulerClass;
}

type Check = (value: unknown) => string | null;
interface Key { name: keyof DiffusersSchedulerOptions; json: string; value: unknown; check: Check; float?: boolean }

const positive: Check = (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? null : 'a positive number');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'true or false');
const oneOf = (...allowed: unknown[]): Check => (v) => (allowed.includes(v) ? null : `one of ${allowed.map(show).join(', ')}`);
const int = (min: number): Check => (v) => (Number.isSafeInteger(v) && (v as number) >= min ? null : `an integer >= ${min}`);
const betas: Check = (v) => (v === null || (Array.isArray(v) && v.length > 0 && v.every((b) => typeof b === 'number' && Number.isFinite(b))) ? null : 'a list of numbers or null');

const COMMON: Key[] = [
  { name: 'numTrainTimesteps', json: 'num_train_timesteps', value: 1000, check: int(1) },
  { name: 'betaStart', json: 'beta_start', value: 0.0001, check: positive, float: true },
  { name: 'betaEnd', json: 'beta_end', value: 0.02, check: positive, float: true },
  { name: 'betaSchedule', json: 'beta_schedule', value: 'linear', check: oneOf('linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid') },
  { name: 'trainedBetas', json: 'trained_betas', value: null, check: betas, float: true },
  { name: 'clipSample', json: 'clip_sample', value: true, check: bool },
  { name: 'predictionType', json: 'prediction_type', value: 'epsilon', check: oneOf('epsilon', 'sample', 'v_prediction') },
  { name: 'thresholding', json: 'thresholding', value: false, check: bool },
  { name: 'dynamicThresholdingRatio', json: 'dynamic_thresholding_ratio', value: 0.995, check: positive, float: true },
  { name: 'clipSampleRange', json: 'clip_sample_range', value: 1.0, check: positive, float: true },
  { name: 'sampleMaxValue', json: 'sample_max_value', value: 1.0, check: positive, float: true },
  { name: 'timestepSpacing', json: 'timestep_spacing', value: 'leading', check: oneOf('leading', 'trailing', 'linspace') },
  { name: 'stepsOffset', json: 'steps_offset', value: 0, check: int(0) },
  { name: 'rescaleBetasZeroSnr', json: 'rescale_betas_zero_snr', value: false, check: bool },
];
const KEYS: Record<SchedulerClass, Key[]> = {
  DDPMScheduler: [...COMMON, {
    name: 'varianceType', json: 'variance_type', value: 'fixed_small',
    check: oneOf('fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log', 'learned', 'learned_range'),
  }],
  DDIMScheduler: [...COMMON, { name: 'setAlphaToOne', json: 'set_alpha_to_one', value: true, check: bool }],
};

/** Reads scheduler_config.json (text or object); `expected` is the class model_index.json names, when known. */
export function parseDiffusersSchedulerConfig(config: string | object, source = 'scheduler/scheduler_config.json', expected?: SchedulerClass): DiffusersScheduler {
  const raw = typeof config === 'string' ? parseJson(config, source) : config;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: the config must be a JSON object`);
  const record = raw as Record<string, unknown>;
  const className = expected ?? record._class_name;
  if (!SCHEDULER_CLASSES.includes(className as SchedulerClass)) {
    throw new Error(`${source}: scheduler class ${show(className)} is not supported (this library has ${SCHEDULER_CLASSES.join(', ')})`);
  }
  const keys = KEYS[className as SchedulerClass];
  for (const key of Object.keys(record)) {
    if (!key.startsWith('_') && !keys.some((k) => k.json === key)) {
      throw new Error(`${source}: unknown ${className as string} option '${key}' (options: ${keys.map((k) => k.json).join(', ')})`);
    }
  }
  const options: Record<string, unknown> = {};
  for (const k of keys) {
    const value = k.json in record ? record[k.json] : k.value;
    const problem = k.check(value);
    if (problem !== null) throw new Error(`${source}: ${k.json} must be ${problem}, got ${show(value)}`);
    options[k.name] = structuredClone(value);
  }
  if (className === 'DDIMScheduler' && options.betaSchedule === 'sigmoid') {
    throw new Error(`${source}: beta_schedule 'sigmoid' is not implemented by diffusers' DDIMScheduler`);
  }
  return { className: className as SchedulerClass, options: options as unknown as DiffusersSchedulerOptions };
}

/** The scheduler_config.json text diffusers writes. */
export function formatDiffusersSchedulerConfig(scheduler: DiffusersScheduler): string {
  const out: Record<string, PythonJson> = { _class_name: scheduler.className, _diffusers_version: DIFFUSERS_VERSION };
  for (const k of KEYS[scheduler.className]) {
    const value = (scheduler.options as unknown as Record<string, unknown>)[k.name] ?? k.value;
    const problem = k.check(value);
    if (problem !== null) throw new Error(`scheduler/scheduler_config.json: ${k.json} must be ${problem}, got ${show(value)}`);
    const float = (x: number) => new PythonFloat(x);
    out[k.json] = Array.isArray(value) ? value.map(float) : k.float && value !== null ? float(value as number) : (value as PythonJson);
  }
  return formatPythonJson(out);
}

/** This library's scheduler for a diffusers one; one line names every option this library cannot follow. */
export function schedulerFromDiffusers(scheduler: DiffusersScheduler, source = 'scheduler/scheduler_config.json'): LibraryScheduler {
  const o = scheduler.options;
  const problems: string[] = [];
  // 'learned' differs: diffusers reads that output as the variance, this library (as improved-diffusion) as its log.
  if (o.varianceType !== undefined && !['fixed_small', 'fixed_large', 'learned_range'].includes(o.varianceType)) {
    problems.push(`variance_type ${show(o.varianceType)} (this library follows 'fixed_small', 'fixed_large' and 'learned_range')`);
  }
  if (problems.length > 0) throw new Error(`${source}: this library cannot follow this ${scheduler.className} yet: ${problems.join('; ')}`);
  const common = {
    numTrainTimesteps: o.numTrainTimesteps, betaStart: o.betaStart, betaEnd: o.betaEnd, betaSchedule: o.betaSchedule,
    trainedBetas: o.trainedBetas === null ? null : [...o.trainedBetas], predictionType: o.predictionType,
    clipSample: o.clipSample, clipSampleRange: o.clipSampleRange, timestepSpacing: o.timestepSpacing, stepsOffset: o.stepsOffset,
    thresholding: o.thresholding, dynamicThresholdingRatio: o.dynamicThresholdingRatio, sampleMaxValue: o.sampleMaxValue,
    rescaleBetasZeroSnr: o.rescaleBetasZeroSnr,
  };
  return scheduler.className === 'DDPMScheduler'
    ? { className: 'DDPMScheduler', options: { ...common, varianceType: o.varianceType as 'fixed_small' | 'fixed_large' | 'learned_range' } }
    : { className: 'DDIMScheduler', options: { ...common, setAlphaToOne: o.setAlphaToOne } };
}

/**
 * The diffusers scheduler of this library's options, defaults filled in ('cosine' is written as diffusers'
 * 'squaredcos_cap_v2'). The `seed` option has no diffusers equivalent and is left out.
 */
export function schedulerToDiffusers(scheduler: LibraryScheduler): DiffusersScheduler {
  const o = { ...SCHEDULER_DEFAULTS, ...THRESHOLDING_DEFAULTS, rescaleBetasZeroSnr: false, ...definedOnly(scheduler.options) };
  if (!SCHEDULER_CLASSES.includes(scheduler.className)) throw new Error(`scheduler class ${show(scheduler.className)} has no diffusers export (${SCHEDULER_CLASSES.join(', ')})`);
  const betaSchedule = o.betaSchedule === 'cosine' ? 'squaredcos_cap_v2' : o.betaSchedule;
  const options: DiffusersSchedulerOptions = {
    numTrainTimesteps: o.numTrainTimesteps, betaStart: o.betaStart, betaEnd: o.betaEnd, betaSchedule,
    trainedBetas: o.trainedBetas === null ? null : Array.from(o.trainedBetas), clipSample: o.clipSample,
    predictionType: o.predictionType, thresholding: o.thresholding, dynamicThresholdingRatio: o.dynamicThresholdingRatio,
    clipSampleRange: o.clipSampleRange, sampleMaxValue: o.sampleMaxValue, timestepSpacing: o.timestepSpacing, stepsOffset: o.stepsOffset,
    rescaleBetasZeroSnr: o.rescaleBetasZeroSnr,
  };
  if (scheduler.className === 'DDPMScheduler') {
    options.varianceType = scheduler.options.varianceType ?? 'fixed_small';
    if (options.varianceType === 'learned') {
      throw new Error("DDPMScheduler: varianceType 'learned' has no diffusers equivalent (diffusers reads that output as the variance, " +
        "this library as its log, as improved-diffusion does); 'learned_range' exports as it is");
    }
  } else {
    if (betaSchedule === 'sigmoid') throw new Error("DDIMScheduler: beta_schedule 'sigmoid' has no diffusers DDIMScheduler equivalent; export the scheduler as a DDPMScheduler");
    options.setAlphaToOne = scheduler.options.setAlphaToOne ?? true;
  }
  return { className: scheduler.className, options };
}

/** Reads model_index.json: a DDPMPipeline or DDIMPipeline of a UNet2DModel and a supported scheduler. */
export function parseModelIndex(config: string | object, source = 'model_index.json'): PipelineIndex {
  const raw = typeof config === 'string' ? parseJson(config, source) : config;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${source}: the config must be a JSON object`);
  const record = raw as Record<string, unknown>;
  const pipeline = record._class_name;
  if (!PIPELINE_CLASSES.includes(pipeline as PipelineClass)) {
    throw new Error(`${source}: pipeline ${show(pipeline)} is not supported (this library reads ${PIPELINE_CLASSES.join(', ')})`);
  }
  for (const key of Object.keys(record)) {
    if (!key.startsWith('_') && key !== 'unet' && key !== 'scheduler') {
      throw new Error(`${source}: component '${key}' is not part of a ${pipeline as string} (unet and scheduler)`);
    }
  }
  const component = (key: string): unknown => {
    const entry = record[key];
    if (!Array.isArray(entry) || entry.length !== 2 || entry[0] !== 'diffusers') {
      throw new Error(`${source}: '${key}' must be ["diffusers", <class>], got ${show(entry)}`);
    }
    return entry[1];
  };
  if (component('unet') !== 'UNet2DModel') throw new Error(`${source}: the unet is a ${show(component('unet'))}; this library reads UNet2DModel`);
  const scheduler = component('scheduler');
  if (!SCHEDULER_CLASSES.includes(scheduler as SchedulerClass)) {
    throw new Error(`${source}: scheduler class ${show(scheduler)} is not supported (this library has ${SCHEDULER_CLASSES.join(', ')})`);
  }
  return { pipeline: pipeline as PipelineClass, scheduler: scheduler as SchedulerClass };
}

/** The model_index.json text diffusers writes. */
export function formatModelIndex(index: PipelineIndex): string {
  return formatPythonJson({
    _class_name: index.pipeline, _diffusers_version: DIFFUSERS_VERSION,
    scheduler: ['diffusers', index.scheduler], unet: ['diffusers', 'UNet2DModel'],
  });
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
