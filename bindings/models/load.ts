/**
 * Loading a diffusion model file for sampling: the one call an embedder needs between `init()` and a pipeline.
 * It reads a model file's bytes (a shipped model such as ddpm-wasm/models/mnist.safetensors, or one written by
 * `ddpm train`), rebuilds the denoiser with its weights, and returns it typed for the pipelines, with what the
 * file says about itself (the scheduler config it was trained with, the data's shape and class names).
 *
 *   const { model, metadata } = loadModel(bytes);
 *   const pipe = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
 */
import type { Denoiser } from './denoiser.ts';
import { buildFromFile, checkModelFile } from './model-loading.ts';
import type { ModelMetadata } from './model-metadata.ts';
import { createDenoiser } from './denoisers.ts';

/** A denoiser read from a model file, and the file's metadata. */
export interface LoadedModel {
  model: Denoiser;
  metadata: ModelMetadata;
}

/**
 * Reads a diffusion model file (safetensors with ddpm-wasm's metadata) into a denoiser the pipelines accept.
 * `source` names the file in error messages (default 'the model file'). Throws when the bytes are not a model
 * file, or hold a noise-aware classifier (load those with `decodeModel`), before building anything.
 */
export function loadModel(bytes: Uint8Array | ArrayBuffer, source = 'the model file'): LoadedModel {
  if (!(bytes instanceof Uint8Array) && !(bytes instanceof ArrayBuffer)) {
    throw new Error(`loadModel: bytes must be a Uint8Array or an ArrayBuffer (the file's contents), got ${describe(bytes)}`);
  }
  const file = checkModelFile(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes, source);
  if (file.metadata.kind === 'classifier') {
    throw new Error(`loadModel: ${source} holds a noise-aware classifier, not a diffusion model (load it with decodeModel and pass it to a pipeline's classifier option)`);
  }
  return buildFromFile(file, createDenoiser);
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : String(value);
  const name: string = Object.getPrototypeOf(value)?.constructor?.name ?? 'null-prototype';
  return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name} object`;
}
