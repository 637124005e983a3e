/**
 * Builds a model of any kind from its kind and config, as stored in model files and sent to training workers.
 * Denoisers alone are built by models/denoisers.ts, which code that only samples imports instead.
 */
import { NoiseAwareClassifier, type ClassifierConfig } from './classifier.ts';
import { createDenoiser } from './denoisers.ts';
import type { Model, ModelKind } from './model.ts';

export { MODEL_KINDS } from './denoisers.ts';

export function createModel(kind: ModelKind, config: object, seed = 0): Model {
  if (kind === 'classifier') return new NoiseAwareClassifier(config as ClassifierConfig, seed);
  return createDenoiser(kind, config, seed);
}
