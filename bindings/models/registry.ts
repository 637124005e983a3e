/**
 * Builds a model of any kind from its kind and config, as stored in model files and sent to workers (training,
 * sampling, the likelihood bound). Denoisers alone are built by models/denoisers.ts, which code that only samples
 * imports instead.
 */
import { NoiseAwareClassifier, type ClassifierConfig } from './classifier.ts';
import { createDenoiser } from './denoisers.ts';
import type { ParameterSet } from '../nn/parameters.ts';
import type { Model, ModelKind } from './model.ts';

export { MODEL_KINDS } from './denoisers.ts';

export function createModel(kind: ModelKind, config: object, seed = 0): Model {
  if (kind === 'classifier') return new NoiseAwareClassifier(config as ClassifierConfig, seed);
  return createDenoiser(kind, config, seed);
}

/** A model as plain data, to cross into a worker: its kind, its config and a copy of its weights. */
export interface ModelMessage {
  kind: ModelKind;
  config: object;
  weights: Float32Array;
}

/** Any model's message (a denoiser's kind is a plain string; createModel checks it on the other side). */
export function modelMessage(model: { readonly kind: string; readonly config: object; readonly params: ParameterSet }): ModelMessage {
  return { kind: model.kind as ModelKind, config: model.config, weights: model.params.values.toFloat32Array() };
}

/** The model a `ModelMessage` describes, with its weights. */
export function modelFromMessage(message: ModelMessage): Model {
  const model = createModel(message.kind, message.config);
  model.params.values.view().set(message.weights);
  return model;
}
