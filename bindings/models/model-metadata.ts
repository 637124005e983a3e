/**
 * The `ddpm_wasm` metadata of a model file or training state, checked completely before any model is built:
 * every entry present and of the right type, no unknown keys (an error names the key and the nearest known
 * one), numbers bounded, the scheduler config valid. Each error is one line naming the file and what is wrong.
 *
 *   { version: 1, kind: 'mlp' | 'unet2d' | 'classifier', config: {...}, scheduler: {...},
 *     data: { name, sampleShape, classNames, condition? }, training: { steps, options?, seconds? }, sampling? }
 *
 * `data.condition` ({ task, shape, inputShape }) describes the conditioning images of a model conditioned by
 * concatenation (data/conditioned.ts).
 *
 * The model config's own keys and values are checked by the model's constructor (with the same nearest-name
 * hints); here its values only have to be plain JSON of bounded size.
 */
import { nearestName, unknownKeyMessage } from '../core/names.ts';
import { checkDDPMConfig } from '../schedulers/ddpm.ts';
import { KNOWN_OPTIONS, type SchedulerOptions } from '../schedulers/options.ts';
import type { ModelKind } from './model.ts';
import { MODEL_KINDS } from './denoisers.ts';

export const FORMAT_VERSION = 1;

/** What a model file says about itself. */
export interface ModelMetadata {
  version: number;
  kind: ModelKind;
  config: object;
  scheduler: SchedulerOptions;
  data: { name: string; sampleShape: number[]; classNames: string[]; condition?: { task: string; shape: number[]; inputShape: number[] } };
  /** How it was trained: the steps, and the trainer's options (see TrainerOptions). */
  training: { steps: number; options?: Readonly<Record<string, unknown>> };
  /** How it samples, when only one way is right (a distilled model): absent for models sampled any way. */
  sampling?: SamplingRecord;
}

/**
 * The one way a distilled model samples: DDIM with `steps` steps on the `timestepSpacing` grid and classifier-free
 * guidance `guidanceScale` (1: the guidance is in the weights), and what it was distilled from.
 */
export interface SamplingRecord {
  sampler: 'ddim';
  steps: number;
  timestepSpacing: 'trailing';
  guidanceScale: number;
  distilledFrom: { steps: number; guidanceScale: number };
}

const TOP_KEYS = ['version', 'kind', 'config', 'scheduler', 'data', 'training', 'sampling'];
const SAMPLING_KEYS = ['sampler', 'steps', 'timestepSpacing', 'guidanceScale', 'distilledFrom'];
const DATA_KEYS = ['name', 'sampleShape', 'classNames'];
const CONDITION_KEYS = ['task', 'shape', 'inputShape'];
/** `seconds`: how long a classifier trained (written by the evaluation's classifier cache). */
const TRAINING_KEYS = ['steps', 'options', 'seconds'];
/** Bounds on config values: no model this library can hold comes near them, and a corrupted value is caught early. */
const MAX_CONFIG_NUMBER = 2 ** 24;
const MAX_ARRAY = 64;
const MAX_SAMPLE_DIMS = 4;
const MAX_SAMPLE_SIDE = 2 ** 16;
const MAX_CLASSES = 2 ** 20;

/** Reads and checks the `ddpm_wasm` entry of a safetensors file's metadata; `source` names the file in errors. */
export function readMetadata(metadata: Record<string, string>, source: string): ModelMetadata {
  const text = metadata.ddpm_wasm;
  if (typeof text !== 'string') throw new Error(`${source} is a safetensors file but not a ddpm-wasm model: its metadata has no 'ddpm_wasm' entry`);
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch {
    throw new Error(`${source}: the 'ddpm_wasm' metadata is not valid JSON`);
  }
  const fail = (what: string): never => { throw new Error(`${source}: ${what}`); };
  const top = object(meta, 'the ddpm_wasm metadata', TOP_KEYS, fail);
  for (const key of TOP_KEYS) if (key !== 'sampling' && !(key in top)) fail(`the ddpm_wasm metadata has no '${key}' entry`);
  if (top.version !== FORMAT_VERSION) {
    fail(`its format version is ${describe(top.version)}; this library reads version ${FORMAT_VERSION}` +
      (typeof top.version === 'number' && top.version > FORMAT_VERSION ? ' (a newer ddpm-wasm wrote it)' : ''));
  }
  if (typeof top.kind !== 'string' || !MODEL_KINDS.includes(top.kind as ModelKind)) {
    const near = typeof top.kind === 'string' ? nearestName(top.kind, MODEL_KINDS) : null;
    fail(`it holds an unknown model kind ${describe(top.kind)}${near ? ` (did you mean '${near}'?)` : ''}; kinds are ${MODEL_KINDS.join(', ')}`);
  }
  const config = object(top.config, 'the model config', null, fail);
  for (const [key, value] of Object.entries(config)) checkConfigValue(`config '${key}'`, value, fail);
  return {
    version: FORMAT_VERSION, kind: top.kind as ModelKind, config,
    scheduler: checkScheduler(top.scheduler, fail), data: checkData(top.data, fail), training: checkTraining(top.training, fail),
    ...(top.sampling !== undefined && { sampling: checkSampling(top.sampling, fail) }),
  };
}

function checkSampling(value: unknown, fail: (what: string) => never): SamplingRecord {
  const sampling = object(value, 'the sampling record', SAMPLING_KEYS, fail);
  const { sampler, steps, timestepSpacing, guidanceScale, distilledFrom } = sampling;
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_CONFIG_NUMBER;
  const scale = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 1000;
  if (sampler !== 'ddim') fail(`the sampling record's sampler is ${describe(sampler)}; the one this library records is "ddim"`);
  if (!count(steps)) fail(`the sampling record's steps is ${describe(steps)}, not a number of steps >= 1`);
  if (timestepSpacing !== 'trailing') fail(`the sampling record's timestepSpacing is ${describe(timestepSpacing)}, not "trailing"`);
  if (!scale(guidanceScale)) fail(`the sampling record's guidanceScale is ${describe(guidanceScale)}, not a guidance scale`);
  const from = object(distilledFrom, 'the sampling record\'s distilledFrom', ['steps', 'guidanceScale'], fail);
  if (!count(from.steps) || !scale(from.guidanceScale)) fail(`the sampling record's distilledFrom is ${describe(distilledFrom)}, not { steps, guidanceScale }`);
  return { sampler, steps: steps as number, timestepSpacing, guidanceScale: guidanceScale as number, distilledFrom: { steps: from.steps as number, guidanceScale: from.guidanceScale as number } };
}

/** `value` as a plain object whose keys are among `known` (null: any key). */
function object(value: unknown, what: string, known: readonly string[] | null, fail: (what: string) => never): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`${what} is ${describe(value)}, not an object`);
  for (const key of Object.keys(value as object)) {
    if (known && !known.includes(key)) fail(unknownKeyMessage(what, 'key', key, known));
  }
  return value as Record<string, unknown>;
}

/** A config value: a bounded number, a boolean, a short string, null, or a short array of those. */
function checkConfigValue(what: string, value: unknown, fail: (what: string) => never, nested = false): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Math.abs(value) > MAX_CONFIG_NUMBER) fail(`${what} is ${value}, out of range (at most ${MAX_CONFIG_NUMBER} in size)`);
    return;
  }
  if (typeof value === 'string') {
    if (value.length > 100) fail(`${what} is a string of ${value.length} characters, longer than any option`);
    return;
  }
  if (Array.isArray(value) && !nested) {
    if (value.length > MAX_ARRAY) fail(`${what} has ${value.length} entries, more than ${MAX_ARRAY}`);
    for (const item of value) checkConfigValue(what, item, fail, true);
    return;
  }
  fail(`${what} is ${describe(value)}, not a number, boolean, string or list`);
}

/**
 * The scheduler config: keys that some scheduler of the library knows, and values of the schedule every
 * sampler shares that a scheduler accepts (checked as DDPMScheduler.fromConfig checks it).
 */
function checkScheduler(value: unknown, fail: (what: string) => never): SchedulerOptions {
  const scheduler = object(value, 'the scheduler config', KNOWN_OPTIONS, fail) as SchedulerOptions;
  try {
    checkDDPMConfig(scheduler);
  } catch (error) {
    fail(`its scheduler config is invalid: ${(error as Error).message}`);
  }
  return scheduler;
}

function checkData(value: unknown, fail: (what: string) => never): ModelMetadata['data'] {
  const data = object(value, 'the data description', [...DATA_KEYS, 'condition'], fail);
  for (const key of DATA_KEYS) if (!(key in data)) fail(`the data description has no '${key}' entry`);
  const { name, sampleShape, classNames } = data;
  const condition = data.condition === undefined ? undefined : checkCondition(data.condition, fail);
  if (typeof name !== 'string' || name.length === 0 || name.length > 1000) fail(`the data's name is ${describe(name)}, not a name`);
  const shapeOk = Array.isArray(sampleShape) && sampleShape.length >= 1 && sampleShape.length <= MAX_SAMPLE_DIMS &&
    sampleShape.every((d) => Number.isSafeInteger(d) && d >= 1 && d <= MAX_SAMPLE_SIDE);
  if (!shapeOk) fail(`the data's sampleShape is ${describe(sampleShape)}; it is 1 to ${MAX_SAMPLE_DIMS} sizes from 1 to ${MAX_SAMPLE_SIDE}`);
  if (!Array.isArray(classNames) || classNames.length > MAX_CLASSES || !classNames.every((c) => typeof c === 'string')) {
    fail(`the data's classNames is ${describe(classNames)}; it is a list of names (strings)`);
  }
  return { name: name as string, sampleShape: [...sampleShape as number[]], classNames: [...classNames as string[]], ...(condition && { condition }) };
}

/** A conditioning task's description: its name and two image shapes [k, H, W]. */
function checkCondition(value: unknown, fail: (what: string) => never): NonNullable<ModelMetadata['data']['condition']> {
  const condition = object(value, "the data's condition", CONDITION_KEYS, fail);
  for (const key of CONDITION_KEYS) if (!(key in condition)) fail(`the data's condition has no '${key}' entry`);
  const { task, shape, inputShape } = condition;
  if (typeof task !== 'string' || task.length === 0 || task.length > 100) fail(`the condition's task is ${describe(task)}, not a name`);
  const image = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((d) => Number.isSafeInteger(d) && d >= 1 && d <= MAX_SAMPLE_SIDE);
  if (!image(shape) || !image(inputShape)) fail(`the condition's shapes are ${describe(shape)} and ${describe(inputShape)}; each is [channels, height, width]`);
  return { task: task as string, shape: [...shape as number[]], inputShape: [...inputShape as number[]] };
}

function checkTraining(value: unknown, fail: (what: string) => never): ModelMetadata['training'] {
  const training = object(value, 'the training record', TRAINING_KEYS, fail);
  const { steps, options, seconds } = training;
  if (!Number.isSafeInteger(steps) || (steps as number) < 0) fail(`the training record's steps is ${describe(steps)}, not a whole number of steps >= 0`);
  if (seconds !== undefined && !(typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0)) fail(`the training record's seconds is ${describe(seconds)}, not a duration`);
  if (options === undefined) return { ...training, steps: steps as number };
  // The trainer's options, as a record (their names are the trainer's business: train/training-state.ts
  // checks them against the trainer that resumes); here only their values must be plain.
  const checked = object(options, 'the training options', null, fail);
  for (const [key, option] of Object.entries(checked)) {
    const plain = (typeof option === 'number' && Number.isFinite(option)) || typeof option === 'boolean' || typeof option === 'string';
    if (!plain) fail(`the training option '${key}' is ${describe(option)}, not a plain value`);
  }
  return { ...training, steps: steps as number, options: checked };
}

/** A value as a message shows it: short JSON, or its type. */
function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const json = JSON.stringify(value);
  if (json === undefined) return typeof value;
  return json.length > 40 ? `${Array.isArray(value) ? 'a list' : typeof value} ${json.slice(0, 37)}...` : json;
}
