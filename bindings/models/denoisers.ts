/**
 * The model kinds a file may hold, and the factory of the denoisers among them ('mlp', 'unet2d': what the
 * pipelines sample with). Apart from models/registry.ts (every kind, the classifier too) so that code which only
 * samples (loadModel, the 'ddpm-wasm/sampler' entry) neither bundles nor loads the noise-aware classifier.
 */
import { MLPDenoiser, type MLPDenoiserConfig } from './mlp.ts';
import type { ModelKind } from './model.ts';
import { UNet2DModel } from './unet2d.ts';
import type { UNet2DConfig } from './unet2d-config.ts';

export const MODEL_KINDS: readonly ModelKind[] = ['mlp', 'unet2d', 'classifier'];

/** A denoiser ('mlp' or 'unet2d'); callers refuse 'classifier' first (an unknown kind is an error naming the kinds). */
export function createDenoiser(kind: ModelKind, config: object, seed = 0): MLPDenoiser | UNet2DModel {
  switch (kind) {
    case 'mlp': return new MLPDenoiser(config as MLPDenoiserConfig, seed);
    case 'unet2d': return new UNet2DModel(config as UNet2DConfig, seed);
    default: throw new Error(`unknown model kind '${String(kind)}'; kinds are ${MODEL_KINDS.join(', ')}`);
  }
}
