/**
 * Training states: everything a resumed run needs to continue bit for bit, as a .safetensors file: the
 * parameters, the EMA, AdamW's moments (flat, laid out like the parameters), the step, and the model file's
 * metadata with the trainer's options. The data order and every random draw are functions of (seed, step), so
 * nothing else is needed.
 */
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.ts';
import { FORMAT_VERSION, readMetadata, type ModelMetadata } from '../models/model-file.ts';
import type { Tensor } from '../tensor.ts';
import type { Trainer } from './trainer.ts';

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
