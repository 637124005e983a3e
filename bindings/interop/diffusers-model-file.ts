/**
 * This library's model files and diffusers pipeline folders, both ways, as bytes (browsers and Node alike):
 * - `modelFileToDiffusersFolder`: a model file (.safetensors with its `ddpm_wasm` metadata) becomes the folder
 *   `DDPMPipeline.from_pretrained` (or DDIMPipeline) loads: the U-Net's config and weights under diffusers' names,
 *   the scheduler the model was trained with, and the model file's metadata kept in the weights file (so the data
 *   it was trained on and its class names come back with it).
 * - `diffusersModelMetadata`: what a model imported from a folder says about itself, as a model file's metadata:
 *   its own `ddpm_wasm` entry if the folder came from here, else what the folder implies (the scheduler, the
 *   sample shape, label numbers as class names).
 */
import { decodeModel, FORMAT_VERSION, type ModelMetadata } from '../models/model-file.ts';
import type { UNet2DModel } from '../models/unet2d.ts';
import type { SchedulerOptions } from '../schedulers/index.ts';
import { modelToDiffusersFolder, type ImportedModel, type WeightDtype } from './diffusers-folder.ts';

/** The scheduler a folder is written with (and the pipeline class that goes with it). */
export type ExportScheduler = 'ddpm' | 'ddim';

export interface ModelFileExportOptions {
  /** DDPMScheduler in a DDPMPipeline, or DDIMScheduler in a DDIMPipeline; both with the model's own schedule. Default 'ddpm'. */
  scheduler?: ExportScheduler;
  /** Storage type of the weights. Default 'float32'. */
  dtype?: WeightDtype;
  /** Names the model file in error messages. Default 'the model file'. */
  source?: string;
}

/** The files (path -> bytes) of the diffusers folder of a model file; only U-Nets have a diffusers equivalent. */
export function modelFileToDiffusersFolder(bytes: Uint8Array, options: ModelFileExportOptions = {}): Map<string, Uint8Array> {
  const { scheduler = 'ddpm', dtype = 'float32', source = 'the model file' } = options;
  if (scheduler !== 'ddpm' && scheduler !== 'ddim') throw new Error(`diffusers export: scheduler must be 'ddpm' or 'ddim', got '${String(scheduler)}'`);
  const { model, metadata } = decodeModel(bytes, source);
  try {
    if (model.kind !== 'unet2d') {
      throw new Error(`${source} holds a${model.kind === 'mlp' ? 'n' : ''} ${model.kind} model; only U-Nets (UNet2DModel) have a diffusers equivalent`);
    }
    const unet = model as UNet2DModel;
    const options = metadata.scheduler;
    return modelToDiffusersFolder(unet, {
      dtype,
      pipeline: scheduler === 'ddpm' ? 'DDPMPipeline' : 'DDIMPipeline',
      scheduler: scheduler === 'ddpm' ? { className: 'DDPMScheduler', options } : { className: 'DDIMScheduler', options },
      metadata: { ddpm_wasm: JSON.stringify({ ...metadata, config: unet.config }) },
    });
  } finally {
    model.params.values.dispose();
    model.params.grads.dispose();
  }
}

/** The model-file metadata of a model imported from a diffusers folder (see the file comment). */
export function diffusersModelMetadata(imported: ImportedModel): ModelMetadata {
  const { model, scheduler, folder } = imported;
  const schedulerOptions: SchedulerOptions = scheduler?.options ?? {};
  const own = folder.metadata.ddpm_wasm;
  if (own !== undefined) {
    try {
      const meta = JSON.parse(own) as ModelMetadata;
      if (meta.version === FORMAT_VERSION && meta.data && meta.training) return { ...meta, kind: 'unet2d', config: model.config, scheduler: schedulerOptions };
    } catch {
      // Not this library's metadata after all: describe the folder as any other.
    }
  }
  return {
    version: FORMAT_VERSION, kind: 'unet2d', config: model.config, scheduler: schedulerOptions,
    data: { name: 'diffusers', sampleShape: [...model.sampleShape], classNames: Array.from({ length: model.numClasses }, (_, i) => String(i)) },
    training: { steps: 0 },
  };
}
