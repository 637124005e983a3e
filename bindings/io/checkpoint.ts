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
import type { NoiseAwareClassifier } from '../models/classifier.ts';
import type { Denoiser } from '../models/denoiser.ts';
import { createModel, MODEL_KINDS, type ModelKind } from '../models/registry.ts';
import type { SchedulerOptions } from '../schedulers/index.ts';
import type { Trainer, TrainingHyperparameters } from '../train/trainer.ts';
import type { Tensor } from '../tensor.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';

export const FORMAT_VERSION = 1;

/** What a model file says about itself. */
export interface ModelMetadata {
  version: number;
  kind: ModelKind;
  config: object;
  scheduler: SchedulerOptions;
  data: { name: string; sampleShape: number[]; classNames: string[] };
  training: { steps: number; options?: Partial<TrainingHyperparameters> };
}

type AnyModel = Denoiser | NoiseAwareClassifier;

/** The bytes of a model file: `weights` (default: the model's own values) and the metadata. */
export function encodeModel(model: AnyModel, meta: Omit<ModelMetadata, 'version' | 'kind' | 'config'>, weights?: Tensor): Uint8Array {
  const metadata: ModelMetadata = { version: FORMAT_VERSION, kind: model.kind as ModelMetadata['kind'], config: model.config, ...meta };
  return encodeSafetensors(model.params.toNamedTensors(weights), { format: 'pt', ddpm_wasm: JSON.stringify(metadata) });
}

/** Reads a model file: rebuilds the model from its config and loads its weights. */
export function decodeModel(bytes: Uint8Array, source = 'the model file'): { model: AnyModel; metadata: ModelMetadata } {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const meta = readMetadata(metadata, source);
  const model = buildModel(meta, source);
  model.params.load(tensors, source);
  return { model, metadata: meta };
}

export function readMetadata(metadata: Record<string, string>, source: string): ModelMetadata {
  if (!metadata.ddpm_wasm) throw new Error(`${source} is a safetensors file but not a ddpm-wasm model: its metadata has no 'ddpm_wasm' entry`);
  let meta: ModelMetadata;
  try {
    meta = JSON.parse(metadata.ddpm_wasm);
  } catch {
    throw new Error(`${source}: the 'ddpm_wasm' metadata is not valid JSON`);
  }
  if (meta.version !== FORMAT_VERSION) throw new Error(`${source} has format version ${meta.version}; this library reads version ${FORMAT_VERSION}`);
  if (!MODEL_KINDS.includes(meta.kind)) throw new Error(`${source} holds an unknown model kind '${meta.kind}'`);
  return meta;
}

function buildModel(meta: ModelMetadata, source: string): AnyModel {
  try {
    return createModel(meta.kind, meta.config);
  } catch (error) {
    throw new Error(`${source}: its model config is invalid: ${(error as Error).message}`);
  }
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

/** Restores a trainer built with the same model config and options from a training state. */
export function restoreTrainingState(trainer: Trainer, bytes: Uint8Array, source = 'the training state'): void {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const meta = readMetadata(metadata, source);
  if (JSON.stringify(meta.config) !== JSON.stringify(trainer.model.config)) {
    throw new Error(`${source} was written for another model config: ${JSON.stringify(meta.config)}, not ${JSON.stringify(trainer.model.config)}`);
  }
  for (const [key, value] of Object.entries(meta.training.options ?? {})) {
    const mine = (trainer.options as Record<string, unknown>)[key];
    if (mine !== value) throw new Error(`${source} was trained with ${key} = ${value}; resuming with ${key} = ${mine} would not continue the same run`);
  }
  const size = trainer.model.params.size;
  const take = (name: string, target: Tensor) => {
    const t = tensors.get(name);
    if (!t || t.data.length !== size) throw new Error(`${source}: '${name}' is missing or has the wrong size (the model has ${size} parameters)`);
    target.view().set(t.data);
  };
  take('params', trainer.model.params.values);
  take('ema', trainer.ema);
  take('adam.m', trainer.adamM);
  take('adam.v', trainer.adamV);
  trainer.step = meta.training.steps;
}

