/**
 * diffusers pipeline folders, read and written in memory as a map of relative path -> bytes, so that browsers
 * (a directory picker, a zip, fetched files) and Node use the same code. A folder as `DDPMPipeline.save_pretrained`
 * writes it:
 *
 *   model_index.json                                   the pipeline class and its components
 *   unet/config.json                                   UNet2DModel's options (diffusers-config.ts)
 *   unet/diffusion_pytorch_model[.<variant>].safetensors   the weights under diffusers' state-dict names
 *   scheduler/scheduler_config.json                    the scheduler (diffusers-pipeline-config.ts)
 *
 * A bare model folder (config.json and the weights at its top, as `unet.save_pretrained` writes it) reads too,
 * without a scheduler. Weights are read from float32, float16 or bfloat16 files (values become float32) and
 * written in any of the three (float16 and bfloat16 rounded to nearest even, as torch's .half()). Written files
 * are what diffusers v0.27.2 writes byte for byte (JSON layout, tensors sorted by name, `format: pt` metadata), so
 * exporting twice gives identical files. Pure: no Node modules (diffusers-folder-files.ts reads and writes disks).
 */
import { UNet2DModel } from '../models/unet2d.ts';
import type { Tensor } from '../tensor.ts';
import { formatDiffusersUNetConfig, parseDiffusersUNetConfig, type DiffusersUNet2DOptions } from './diffusers-config.ts';
import { fromDiffusersStateDict, toDiffusersStateDict, unetConfigFromDiffusers, unetConfigToDiffusers } from './diffusers-unet.ts';
import {
  formatDiffusersSchedulerConfig, formatModelIndex, parseDiffusersSchedulerConfig, parseModelIndex, schedulerFromDiffusers,
  schedulerToDiffusers, type DiffusersScheduler, type LibraryScheduler, type PipelineClass, type PipelineIndex,
} from './diffusers-pipeline-config.ts';
import { decodeSafetensors, encodeSafetensors, STORED_DTYPE, WEIGHT_DTYPE, WEIGHT_DTYPES, type NamedTensor, type WeightDtype } from '../io/safetensors.ts';

export { WEIGHT_DTYPES, type WeightDtype } from '../io/safetensors.ts';

/** A folder's files: relative paths ('unet/config.json'; './' and '\' are accepted) -> bytes. */
export type FolderFiles = ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;

/** A diffusers folder, parsed. */
export interface DiffusersFolder {
  /** model_index.json, or null for a bare model folder. */
  index: PipelineIndex | null;
  unet: DiffusersUNet2DOptions;
  /** null for a bare model folder. */
  scheduler: DiffusersScheduler | null;
  /** Every tensor of the weights file, as float32, under its name in the file. */
  weights: Map<string, NamedTensor>;
  /** How the weights were stored ('mixed' when tensors differ). */
  dtype: WeightDtype | 'mixed';
  /** The weights file read, relative to the folder. */
  weightsPath: string;
  /** The weights file's safetensors metadata (diffusers writes { format: 'pt' }). */
  metadata: Record<string, string>;
}

export interface ReadFolderOptions {
  /** Read diffusion_pytorch_model.<variant>.safetensors (diffusers' `variant`, e.g. 'fp16'). Default: none. */
  variant?: string;
  /** Names the folder in error messages. Default 'the folder'. */
  source?: string;
}

export interface WriteFolderOptions {
  /** Storage type of the weights. Default 'float32'. */
  dtype?: WeightDtype;
  /** Write the weights as diffusion_pytorch_model.<variant>.safetensors. Default: none. */
  variant?: string;
}

/** What a pipeline folder holds, to be written. */
export interface FolderContents {
  /** Default: a DDPMPipeline of the scheduler's class. */
  pipeline?: PipelineClass;
  unet: DiffusersUNet2DOptions;
  scheduler: DiffusersScheduler;
  weights: readonly NamedTensor[];
  /** Extra entries of the weights file's metadata, after { format: 'pt' }. */
  metadata?: Record<string, string>;
}

/** The weights file name diffusers uses for a variant. */
export function weightsFileName(variant?: string): string {
  if (variant !== undefined && !/^[A-Za-z0-9_-]+$/.test(variant)) {
    throw new Error(`diffusers folder: variant must be letters, digits, '_' or '-' (like 'fp16'), got '${variant}'`);
  }
  return variant === undefined ? 'diffusion_pytorch_model.safetensors' : `diffusion_pytorch_model.${variant}.safetensors`;
}

/** Parses a pipeline folder (or a bare model folder); every problem is a one-line error naming the file. */
export function readDiffusersFolder(files: FolderFiles, options: ReadFolderOptions = {}): DiffusersFolder {
  const source = options.source ?? 'the folder';
  const map = normalise(files);
  const isPipeline = map.has('model_index.json');
  if (!isPipeline && (map.has('unet/config.json') || map.has('scheduler/scheduler_config.json'))) {
    throw new Error(`${source}: model_index.json is missing (the pipeline index, next to unet/ and scheduler/)`);
  }
  if (!isPipeline && !map.has('config.json')) {
    throw new Error(`${source} is not a diffusers folder: it has neither model_index.json (a pipeline) nor config.json (a model)`);
  }
  const unetDir = isPipeline ? 'unet/' : '';
  const text = (path: string, what: string): string => {
    const bytes = map.get(path);
    if (!bytes) throw new Error(`${source}: ${path} is missing (${what})`);
    return new TextDecoder().decode(bytes);
  };
  const index = isPipeline ? parseModelIndex(text('model_index.json', 'the pipeline index'), `${source}/model_index.json`) : null;
  const unet = parseDiffusersUNetConfig(text(`${unetDir}config.json`, "the UNet's config"), `${source}/${unetDir}config.json`);
  const scheduler = index === null ? null : parseDiffusersSchedulerConfig(
    text('scheduler/scheduler_config.json', "the scheduler's config"), `${source}/scheduler/scheduler_config.json`, index.scheduler);
  const weightsPath = unetDir + weightsFileName(options.variant);
  const bytes = map.get(weightsPath) ?? missingWeights(map, unetDir, weightsPath, source);
  const { tensors, metadata } = decodeSafetensors(bytes, `${source}/${weightsPath}`);
  const stored = storedDtypes(bytes, `${source}/${weightsPath}`);
  return { index, unet, scheduler, weights: tensors, dtype: stored.length === 1 ? stored[0] : 'mixed', weightsPath, metadata };
}

/** The files of a pipeline folder (path -> bytes), deterministic: the same contents give the same bytes. */
export function writeDiffusersFolder(contents: FolderContents, options: WriteFolderOptions = {}): Map<string, Uint8Array> {
  const dtype = options.dtype ?? 'float32';
  const encode = (text: string) => new TextEncoder().encode(text);
  const index: PipelineIndex = { pipeline: contents.pipeline ?? 'DDPMPipeline', scheduler: contents.scheduler.className };
  const files = new Map<string, Uint8Array>();
  files.set('model_index.json', encode(formatModelIndex(index)));
  files.set('scheduler/scheduler_config.json', encode(formatDiffusersSchedulerConfig(contents.scheduler)));
  files.set('unet/config.json', encode(formatDiffusersUNetConfig(contents.unet)));
  files.set(`unet/${weightsFileName(options.variant)}`, encodeWeights(contents.weights, dtype, contents.metadata ?? {}));
  return files;
}

/** A model imported from a diffusers folder, with its scheduler (null for a bare model folder). */
export interface ImportedModel {
  model: UNet2DModel;
  scheduler: LibraryScheduler | null;
  folder: DiffusersFolder;
}

/**
 * Builds this library's UNet2DModel from a diffusers folder: its config translated (options this library cannot
 * build yet are named in the error), its weights checked against the config (missing, unexpected and misshapen
 * tensors named) and loaded.
 */
export function diffusersFolderToModel(files: FolderFiles, options: ReadFolderOptions = {}): ImportedModel {
  const source = options.source ?? 'the folder';
  const folder = readDiffusersFolder(files, options);
  const unetDir = folder.index === null ? '' : 'unet/';
  const config = unetConfigFromDiffusers(folder.unet, `${source}/${unetDir}config.json`);
  const scheduler = folder.scheduler && schedulerFromDiffusers(folder.scheduler, `${source}/scheduler/scheduler_config.json`);
  const model = new UNet2DModel(config);
  try {
    const weights = fromDiffusersStateDict(model.config, folder.weights, `${source}/${folder.weightsPath}`);
    checkWeights(model, weights, `${source}/${folder.weightsPath}`);
    model.params.load(weights, `${source}/${folder.weightsPath}`);
  } catch (error) {
    model.params.values.dispose();
    model.params.grads.dispose();
    throw error;
  }
  return { model, scheduler, folder };
}

/** Options of `modelToDiffusersFolder`. */
export interface ExportOptions extends WriteFolderOptions {
  /** The scheduler to write. Default: this library's default DDPMScheduler. */
  scheduler?: LibraryScheduler;
  /** Default 'DDPMPipeline'. */
  pipeline?: PipelineClass;
  /** Weights to write instead of the model's own values (e.g. the EMA), laid out like `model.params.values`. */
  weights?: Tensor;
  /** Extra metadata entries of the weights file (this library's model file keeps its ModelMetadata there). */
  metadata?: Record<string, string>;
}

/** The diffusers folder of a model: `DDPMPipeline.from_pretrained` loads it unchanged. */
export function modelToDiffusersFolder(model: UNet2DModel, options: ExportOptions = {}): Map<string, Uint8Array> {
  return writeDiffusersFolder({
    pipeline: options.pipeline, unet: unetConfigToDiffusers(model.config),
    scheduler: schedulerToDiffusers(options.scheduler ?? { className: 'DDPMScheduler', options: {} }),
    weights: toDiffusersStateDict(model.config, model.params.toNamedTensors(options.weights)), metadata: options.metadata,
  }, options);
}

/** Checks a storage type before anything is computed or written; one line naming the allowed ones otherwise. */
export function checkWeightDtype(dtype: unknown): WeightDtype {
  if (!WEIGHT_DTYPES.includes(dtype as WeightDtype)) throw new Error(`diffusers folder: dtype must be one of ${WEIGHT_DTYPES.join(', ')}, got '${String(dtype)}'`);
  return dtype as WeightDtype;
}

/**
 * safetensors bytes of the weights in `dtype` (float16 and bfloat16 rounded to nearest even; a weight beyond
 * float16's range is refused, naming it), sorted by name as diffusers' writer sorts them.
 */
function encodeWeights(weights: readonly NamedTensor[], dtype: WeightDtype, metadata: Record<string, string>): Uint8Array {
  checkWeightDtype(dtype);
  const sorted = [...weights].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return encodeSafetensors(sorted, { format: 'pt', ...metadata }, { dtype: STORED_DTYPE[dtype] });
}

/** Names what is wrong when the weights file is absent: another variant, a PyTorch pickle, shards, nothing. */
function missingWeights(map: Map<string, Uint8Array>, unetDir: string, wanted: string, source: string): never {
  const names = [...map.keys()].filter((p) => p.startsWith(unetDir) && !p.slice(unetDir.length).includes('/')).map((p) => p.slice(unetDir.length));
  const variants = names.map((n) => /^diffusion_pytorch_model\.([^.]+)\.safetensors$/.exec(n)?.[1]).filter((v) => v !== undefined);
  const hint = names.some((n) => n.endsWith('.safetensors.index.json'))
    ? 'the weights are sharded (an .index.json), which this library does not read'
    : names.some((n) => n.endsWith('.bin'))
      ? 'the folder has PyTorch pickle weights (.bin), which this library does not read: re-save them with diffusers as safetensors (save_pretrained(dir, safe_serialization=True))'
      : variants.length > 0
        ? `the folder has the variant${variants.length > 1 ? 's' : ''} ${variants.join(', ')}: choose one`
        : 'the weights are missing';
  throw new Error(`${source}: ${wanted} is missing (${hint})`);
}

/** The storage types of a safetensors file's tensors (already validated by decodeSafetensors). */
function storedDtypes(bytes: Uint8Array, source: string): WeightDtype[] {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, { dtype: string }>;
  const found = new Set<WeightDtype>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = WEIGHT_DTYPE[entry.dtype];
    if (!dtype) throw new Error(`${source}: tensor '${name}' is stored as ${entry.dtype}; weights must be float32, float16 or bfloat16 (F32, F16, BF16)`);
    found.add(dtype);
  }
  return [...found].sort();
}

/** Checks the file's tensors against the model's parameters, naming the first few missing, extra or misshapen. */
function checkWeights(model: UNet2DModel, weights: Map<string, NamedTensor>, source: string): void {
  const params = model.params.parameters;
  const expected = new Set(params.map((p) => p.name));
  const few = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? `, ... (${names.length})` : ''}`;
  const missing = params.filter((p) => !weights.has(p.name)).map((p) => p.name);
  const extra = [...weights.keys()].filter((name) => !expected.has(name));
  const misshapen = params.filter((p) => weights.has(p.name) && weights.get(p.name)!.shape.join() !== p.shape.join())
    .map((p) => `${p.name} is [${weights.get(p.name)!.shape.join(', ')}], the config needs [${p.shape.join(', ')}]`);
  const problems = [
    missing.length > 0 ? `missing ${few(missing)}` : '', extra.length > 0 ? `unexpected ${few(extra)}` : '',
    misshapen.length > 0 ? few(misshapen) : '',
  ].filter((p) => p !== '');
  if (problems.length > 0) throw new Error(`${source} does not match its config: ${problems.join('; ')}`);
}

/** Paths with '/' separators, no './', relative to the folder (the shallowest model_index.json or config.json). */
function normalise(files: FolderFiles): Map<string, Uint8Array> {
  const entries = files instanceof Map ? [...files.entries()] : Object.entries(files);
  const clean = entries.map(([path, bytes]) => [path.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, ''), bytes] as const);
  for (const [path, bytes] of clean) {
    if (!(bytes instanceof Uint8Array)) throw new Error(`diffusers folder: the contents of '${path}' must be a Uint8Array`);
  }
  const depth = (p: string) => p.split('/').length;
  const anchor = (name: string) => clean.map(([p]) => p).filter((p) => p === name || p.endsWith(`/${name}`)).sort((a, b) => depth(a) - depth(b))[0];
  // A pipeline's unet/config.json is not the top of a bare model folder.
  const inPipeline = clean.some(([p]) => /(^|\/)(unet\/config|scheduler\/scheduler_config)\.json$/.test(p));
  const top = anchor('model_index.json') ?? (inPipeline ? undefined : anchor('config.json'));
  const root = top === undefined ? '' : top.slice(0, top.lastIndexOf('/') + 1);
  return new Map(clean.filter(([p]) => p.startsWith(root)).map(([p, bytes]) => [p.slice(root.length), bytes]));
}
