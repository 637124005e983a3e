/**
 * Checkpoints as .safetensors files.
 *
 * - A model file holds the weights under their diffusers names (the EMA weights after training) and, in the
 *   header's `__metadata__`, `ddpm_wasm`: a JSON object with the model kind and config, the scheduler config,
 *   what data it was trained on and for how many steps (never wall-clock times: the file is a function of the run
 *   settings alone, so the same command reproduces it bit for bit). `decodeModel` rebuilds the model from the file alone.
 * - A training state holds everything a resumed run needs to continue bit for bit: the parameters, the EMA,
 *   AdamW's moments (flat, laid out like the parameters) and the step; the data order and every random draw are
 *   functions of (seed, step), so nothing else is needed.
 */
import type { Dataset } from '../data/dataset.ts';
import type { Trainer } from '../train/trainer.ts';
import type { Tensor } from '../tensor.ts';
import { FORMAT_VERSION, type ModelMetadata } from './metadata.ts';
import { loadModelFile, type AnyModel, type DecodeModelOptions } from './model-loading.ts';
import { encodeSafetensors, type EncodeOptions } from './safetensors.ts';
import { restoreTrainer } from './state-loading.ts';

export { FORMAT_VERSION, readMetadata, type ModelMetadata } from './metadata.ts';
export { DEFAULT_MAX_PARAMETERS, disposeModel, type DecodeModelOptions } from './model-loading.ts';

/**
 * The bytes of a model file: `weights` (default: the model's own values) and the metadata. `options.dtype`
 * stores the weights as 'F32' (default), or 'F16' / 'BF16' at half the size (rounded to nearest even).
 */
export function encodeModel(model: AnyModel, meta: Omit<ModelMetadata, 'version' | 'kind' | 'config'>, weights?: Tensor, options: EncodeOptions = {}): Uint8Array {
  const metadata: ModelMetadata = { version: FORMAT_VERSION, kind: model.kind as ModelMetadata['kind'], config: model.config, ...meta };
  return encodeSafetensors(model.params.toNamedTensors(weights), { format: 'pt', ddpm_wasm: JSON.stringify(metadata) }, options);
}

/**
 * Reads a model file: checks it completely, rebuilds the model from its config and loads its weights, strictly
 * (see io/model-loading.ts; options: `maxParameters`, default 2^28, and `strict`, default true).
 */
export function decodeModel(bytes: Uint8Array, source = 'the model file', options: DecodeModelOptions = {}): { model: AnyModel; metadata: ModelMetadata } {
  return loadModelFile(bytes, source, options);
}

/** A description of a dataset for model metadata. */
export function describeData(dataset: Dataset): ModelMetadata['data'] {
  return { name: dataset.name, sampleShape: [...dataset.sampleShape], classNames: [...dataset.classNames] };
}

/** The bytes of a training state: parameters, EMA, AdamW moments and the step, plus the model file's metadata. */
export function encodeTrainingState(trainer: Trainer, meta: Omit<ModelMetadata, 'version' | 'kind' | 'config' | 'training'>): Uint8Array {
  const flat = (name: string, t: Tensor) => ({ name, shape: [t.size], data: t.toFloat32Array() });
  const metadata: ModelMetadata = {
    version: FORMAT_VERSION, kind: trainer.model.kind as ModelMetadata['kind'], config: trainer.model.config, ...meta,
    training: { steps: trainer.step, options: trainer.options },
  };
  return encodeSafetensors([
    flat('params', trainer.model.params.values), flat('ema', trainer.ema), flat('adam.m', trainer.adamM), flat('adam.v', trainer.adamV),
  ], { ddpm_wasm: JSON.stringify(metadata) });
}

/**
 * Restores a trainer built with the same model config and options from a training state. Every check (step,
 * shapes, finite values, config and options) passes before anything is copied (see io/state-loading.ts).
 */
export function restoreTrainingState(trainer: Trainer, bytes: Uint8Array, source = 'the training state'): void {
  restoreTrainer(trainer, bytes, source);
}
