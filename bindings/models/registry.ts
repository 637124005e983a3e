/** Builds a model from its kind and config, as stored in model files and sent to training workers. */
import { NoiseAwareClassifier, type ClassifierConfig } from './classifier.ts';
import { MLPDenoiser, type MLPDenoiserConfig } from './mlp.ts';
import type { Model, ModelKind } from './model.ts';
import { UNet2DModel } from './unet2d.ts';
import type { UNet2DConfig } from './unet2d-config.ts';

export const MODEL_KINDS: readonly ModelKind[] = ['mlp', 'unet2d', 'classifier'];

export function createModel(kind: ModelKind, config: object, seed = 0): Model {
  switch (kind) {
    case 'mlp': return new MLPDenoiser(config as MLPDenoiserConfig, seed);
    case 'unet2d': return new UNet2DModel(config as UNet2DConfig, seed);
    case 'classifier': return new NoiseAwareClassifier(config as ClassifierConfig, seed);
    default: throw new Error(`unknown model kind '${String(kind)}'; kinds are ${MODEL_KINDS.join(', ')}`);
  }
}
