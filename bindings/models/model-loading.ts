/**
 * Rebuilding a model from a model file, strictly (as PyTorch's `load_state_dict(strict=True)`), in an order
 * that never lets a bad file cost much:
 *
 * 1. the safetensors header and the ddpm_wasm metadata are checked (nothing allocated);
 * 2. the file's parameter count is held against a limit (default 2^28 parameters, 1 GiB of float32);
 * 3. the model is built under a bound set by the file's own parameter count: a config that asks for far more
 *    (a corrupted `numBlocks: 1000000`) fails at its first declaration past it, before any allocation;
 * 4. tensor names, shapes, the data's sampleShape and the class names are compared with the model, so missing
 *    and unexpected tensors are errors naming the first few;
 * 5. the weights are read one tensor at a time, then checked to be finite (in WebAssembly, all at once; the
 *    first bad tensor and element are named).
 *
 * Steps 1 and 2 (`checkModelFile`) tell what the file holds before anything is built, so a caller can refuse a
 * kind it does not take (loadModel, a classifier) at no cost; `buildFromFile` does the rest with the model
 * factory it is given, so a sampler that builds only denoisers does not carry the classifier's code.
 * A model built for a file that turns out to be bad is freed before the error is thrown.
 */
import { readSafetensorsHeader, readTensorData, type HeaderEntry } from '../io/safetensors.ts';
import { withParameterLimit } from '../nn/parameter-limit.ts';
import { withoutInitialisation } from '../nn/parameters.ts';
import { countNonFinite } from '../ops/elementwise.ts';
import type { Model, ModelKind } from './model.ts';
import { readMetadata, type ModelMetadata } from './model-metadata.ts';

/** The default of `maxParameters`: 2^28 parameters, 1 GiB of float32 (with gradients, half of wasm32's 4 GiB). */
export const DEFAULT_MAX_PARAMETERS = 2 ** 28;

export interface DecodeModelOptions {
  /**
   * Refuse a file holding more parameters than this, before building anything. A model of 2^28 parameters
   * takes 2 GiB with its gradients, half of what WebAssembly can address. Default 2^28 (268,435,456).
   */
  maxParameters?: number;
  /** Refuse tensors the model does not have (missing ones are always refused). Default true. */
  strict?: boolean;
}

/** A model file whose header and metadata are checked (steps 1 and 2): nothing is allocated yet. */
export interface CheckedModelFile {
  readonly metadata: ModelMetadata;
  readonly bytes: Uint8Array;
  readonly source: string;
  readonly entries: HeaderEntry[];
  readonly dataStart: number;
  /** The parameters the file holds (the sum of its tensors' sizes). */
  readonly fileParameters: number;
  readonly strict: boolean;
}

/** Builds the model of a kind with its config (models/registry.ts: createModel, or createDenoiser). */
export type ModelFactory<M extends Model> = (kind: ModelKind, config: object) => M;

/** Steps 1 and 2: the safetensors header, the metadata and the parameter count, checked. */
export function checkModelFile(bytes: Uint8Array, source: string, options: DecodeModelOptions = {}): CheckedModelFile {
  const { maxParameters, strict } = checkOptions(options);
  const { entries, metadata: raw, dataStart } = readSafetensorsHeader(bytes, source);
  const metadata = readMetadata(raw, source);
  const fileParameters = entries.reduce((n, entry) => n + entry.count, 0);
  if (fileParameters > maxParameters) {
    throw new Error(`${source} holds ${fileParameters.toLocaleString('en-US')} parameters (${mib(fileParameters)}), more than the limit of ` +
      `${maxParameters.toLocaleString('en-US')}; pass a larger maxParameters (ddpm sample --max-params) to load it`);
  }
  return { metadata, bytes, source, entries, dataStart, fileParameters, strict };
}

/** Steps 3 to 5: builds the file's model with `create` and loads its weights. */
export function buildFromFile<M extends Model>(file: CheckedModelFile, create: ModelFactory<M>): { model: M; metadata: ModelMetadata } {
  const { metadata, bytes, source, entries, dataStart } = file;
  const model = buildModel(file, create);
  try {
    checkAgainstModel(model, entries, metadata, source, file.strict);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    for (const p of model.params.parameters) {
      const data = readTensorData(bytes, dataStart, byName.get(p.name)!);
      model.params.values.view().set(data, p.offset); // view() after the read: converting may have grown the memory
    }
    if (countNonFinite(model.params.values) > 0) throw new Error(nonFiniteMessage(model, source));
  } catch (error) {
    disposeModel(model);
    throw error;
  }
  return { model, metadata };
}

/** Frees a model's parameters and gradients (the model is unusable afterwards). */
export function disposeModel(model: Model): void {
  model.params.values?.dispose();
  model.params.grads?.dispose();
}

/**
 * The model of a file's metadata, built no larger than twice the file's parameter count plus 2^20: room enough
 * to name the tensors a slightly different config misses, never the cost of a config gone wild.
 */
function buildModel<M extends Model>({ metadata, source, fileParameters }: CheckedModelFile, create: ModelFactory<M>): M {
  const limit = 2 * fileParameters + 2 ** 20;
  const tooLarge = (declared: number, name: string) => `it describes a model far larger than the file: more than ` +
    `${limit.toLocaleString('en-US')} parameters ('${name}' takes it to ${declared.toLocaleString('en-US')}), where the file holds ${fileParameters.toLocaleString('en-US')}`;
  try {
    // Not initialised: checkAgainstModel requires the file to hold every parameter, and each is read from it.
    return withParameterLimit(limit, tooLarge, () => withoutInitialisation(() => create(metadata.kind, metadata.config)));
  } catch (error) {
    throw new Error(`${source}: its model config is invalid: ${(error as Error).message}`);
  }
}

/** The error for weights that are not all finite: the first tensor (in the model's order) and element that is not. */
function nonFiniteMessage(model: Model, source: string): string {
  const p = model.params.parameters.find((q) => countNonFinite(q.value) > 0)!;
  const data = p.value.toFloat32Array();
  const bad = data.findIndex((v) => !Number.isFinite(v));
  return `${source}: tensor '${p.name}' holds ${data[bad]} at element ${bad}; a model's weights must be finite numbers`;
}

/** Names, shapes, sample shape and classes of the file against the model built from its config. */
function checkAgainstModel(model: Model, entries: HeaderEntry[], meta: ModelMetadata, source: string, strict: boolean): void {
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const names = new Set(model.params.parameters.map((p) => p.name));
  const missing = model.params.parameters.filter((p) => !byName.has(p.name)).map((p) => p.name);
  if (missing.length > 0) throw new Error(`${source} does not match its config: ${count(missing.length, 'tensor')} missing (${firstFew(missing)})`);
  const unexpected = entries.filter((entry) => !names.has(entry.name)).map((entry) => entry.name);
  if (strict && unexpected.length > 0) {
    throw new Error(`${source} does not match its config: it holds ${count(unexpected.length, 'tensor')} the model does not have (${firstFew(unexpected)})`);
  }
  for (const p of model.params.parameters) {
    const shape = byName.get(p.name)!.shape;
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`${source} does not match its config: '${p.name}' is [${shape.join(', ')}] in the file, [${p.shape.join(', ')}] in the model`);
    }
  }
  if (model.sampleShape.join(',') !== meta.data.sampleShape.join(',')) {
    throw new Error(`${source}: its data has samples [${meta.data.sampleShape.join(', ')}], but its model takes [${model.sampleShape.join(', ')}]`);
  }
  const classes = model.numClasses, named = meta.data.classNames.length;
  if (classes > 0 && classes !== named) {
    throw new Error(`${source}: its model has ${count(classes, 'class', 'classes')} but its data names ${named}`);
  }
}

function checkOptions(options: DecodeModelOptions): Required<DecodeModelOptions> {
  if (options === null || typeof options !== 'object') throw new Error(`decodeModel: options must be an object, got ${String(options)}`);
  for (const key of Object.keys(options)) {
    if (key !== 'maxParameters' && key !== 'strict') throw new Error(`decodeModel: unknown option '${key}'; options are maxParameters, strict`);
  }
  const { maxParameters = DEFAULT_MAX_PARAMETERS, strict = true } = options;
  if (!Number.isSafeInteger(maxParameters) || maxParameters < 1) throw new Error(`decodeModel: maxParameters must be a positive integer, got ${String(maxParameters)}`);
  if (typeof strict !== 'boolean') throw new Error(`decodeModel: strict must be true or false, got ${String(strict)}`);
  return { maxParameters, strict };
}

const mib = (parameters: number) => `${((parameters * 4) / 2 ** 20).toFixed(1)} MiB as float32`;
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const firstFew = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''}`;
