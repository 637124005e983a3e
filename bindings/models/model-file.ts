/**
 * Model files: .safetensors files holding a model's weights under their diffusers names (the EMA weights after
 * training) and, in the header's `__metadata__`, `ddpm_wasm`: a JSON object with the model kind and config, the
 * scheduler config, what data it was trained on and for how many steps (never wall-clock times: the file is a
 * function of the run settings alone, so the same command reproduces it bit for bit). `decodeModel` rebuilds the
 * model from the file alone.
 */
import type { Dataset } from '../data/dataset.ts';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.ts';
import type { SchedulerOptions } from '../schedulers/index.ts';
import type { Tensor } from '../tensor.ts';
import type { Denoiser } from './denoiser.ts';
import type { Model, ModelKind } from './model.ts';
import { createModel, MODEL_KINDS } from './registry.ts';

export const FORMAT_VERSION = 1;

/** What a model file says about itself. */
export interface ModelMetadata {
  version: number;
  kind: ModelKind;
  config: object;
  scheduler: SchedulerOptions;
  data: { name: string; sampleShape: number[]; classNames: string[] };
  /** How it was trained: the steps, and the trainer's options (see TrainerOptions). */
  training: { steps: number; options?: Readonly<Record<string, unknown>> };
}

/** The bytes of a model file: `weights` (default: the model's own values) and the metadata. */
export function encodeModel(model: Model | Denoiser, meta: Omit<ModelMetadata, 'version' | 'kind' | 'config'>, weights?: Tensor): Uint8Array {
  if (!MODEL_KINDS.includes(model.kind as ModelKind)) throw new Error(`encodeModel: unknown model kind '${model.kind}'; kinds are ${MODEL_KINDS.join(', ')}`);
  const metadata: ModelMetadata = { version: FORMAT_VERSION, kind: model.kind as ModelKind, config: model.config, ...meta };
  return encodeSafetensors(model.params.toNamedTensors(weights), { format: 'pt', ddpm_wasm: JSON.stringify(metadata) });
}

/** Reads a model file: rebuilds the model from its config and loads its weights. */
export function decodeModel(bytes: Uint8Array, source = 'the model file'): { model: Model; metadata: ModelMetadata } {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const meta = readMetadata(metadata, source);
  const model = buildModel(meta, source);
  model.params.load(tensors, source);
  return { model, metadata: meta };
}

/** The `ddpm_wasm` metadata of a model file or training state, checked. */
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

function buildModel(meta: ModelMetadata, source: string): Model {
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
