/**
 * Model files: .safetensors files holding a model's weights under their diffusers names (the EMA weights after
 * training) and, in the header's `__metadata__`, `ddpm_wasm`: a JSON object with the model kind and config, the
 * scheduler config, what data it was trained on and for how many steps (never wall-clock times: the file is a
 * function of the run settings alone, so the same command reproduces it bit for bit). `decodeModel` rebuilds the
 * model from the file alone, strictly, checking the file completely first (model-metadata.ts, model-loading.ts).
 */
import type { Dataset } from '../data/dataset.ts';
import { encodeSafetensors, readSafetensorsHeader, type EncodeOptions } from '../io/safetensors.ts';
import type { Tensor } from '../tensor.ts';
import type { Denoiser } from './denoiser.ts';
import type { Model, ModelKind } from './model.ts';
import { FORMAT_VERSION, type ModelMetadata } from './model-metadata.ts';
import { buildFromFile, checkModelFile, disposeModel, type DecodeModelOptions } from './model-loading.ts';
import { createModel, MODEL_KINDS } from './registry.ts';

export { FORMAT_VERSION, readMetadata, type ModelMetadata, type SamplingRecord } from './model-metadata.ts';
export { DEFAULT_MAX_PARAMETERS, disposeModel, type DecodeModelOptions } from './model-loading.ts';

/**
 * The bytes of a model file: `weights` (default: the model's own values) and the metadata. `options.dtype`
 * stores the weights as 'F32' (default), or 'F16' / 'BF16' at half the size (rounded to nearest even).
 */
export function encodeModel(model: Model | Denoiser, meta: Omit<ModelMetadata, 'version' | 'kind' | 'config'>, weights?: Tensor, options: EncodeOptions = {}): Uint8Array {
  if (!MODEL_KINDS.includes(model.kind as ModelKind)) throw new Error(`encodeModel: unknown model kind '${model.kind}'; kinds are ${MODEL_KINDS.join(', ')}`);
  const metadata: ModelMetadata = { version: FORMAT_VERSION, kind: model.kind as ModelKind, config: model.config, ...meta };
  return encodeSafetensors(model.params.toNamedTensors(weights), { format: 'pt', ddpm_wasm: JSON.stringify(metadata) }, options);
}

/**
 * Reads a model file: checks it completely, rebuilds the model from its config and loads its weights, strictly
 * (options: `maxParameters`, default 2^28, and `strict`, default true; see model-loading.ts).
 */
export function decodeModel(bytes: Uint8Array, source = 'the model file', options: DecodeModelOptions = {}): { model: Model; metadata: ModelMetadata } {
  return buildFromFile(checkModelFile(bytes, source, options), createModel);
}

/**
 * The same model file with its weights stored as `options.dtype` ('F32', 'F16' or 'BF16', rounded to nearest even;
 * see `encodeModel`): the model and its metadata unchanged (the metadata's very text), the file checked completely first. Converting a file to
 * its own dtype gives its bytes back. The shipped digit models are float16 copies of the float32 files training
 * writes (README, "The shipped models").
 */
export function convertModelFile(bytes: Uint8Array, options: EncodeOptions, source = 'the model file'): Uint8Array {
  const { model } = decodeModel(bytes, source);
  try {
    return encodeSafetensors(model.params.toNamedTensors(), readSafetensorsHeader(bytes, source).metadata, options);
  } finally {
    disposeModel(model);
  }
}

/** A description of a dataset for model metadata. */
export function describeData(dataset: Dataset): ModelMetadata['data'] {
  const data: ModelMetadata['data'] = { name: dataset.name, sampleShape: [...dataset.sampleShape], classNames: [...dataset.classNames] };
  const condition = dataset.condition;
  if (condition) data.condition = { task: condition.task, shape: [...condition.shape], inputShape: [...condition.inputShape] };
  return data;
}
