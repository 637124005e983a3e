/**
 * The evaluation classifier, trained once and kept: `loadOrTrainDigitClassifier(folder)` reads the classifier
 * trained with the given options from `folder` when it is there, and otherwise trains it and writes it there
 * (atomically), so repeated evaluations judge with the same weights and do not retrain. The file name carries
 * a hash of the architecture and the options; the file's metadata carries them in full and is checked on load.
 * Node, Deno and Bun only (it reads and writes files).
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, encodeModel, NoiseAwareClassifier, resolveUNetConfig, type ClassifierConfig, type ModelMetadata } from '../bindings/index.ts';
import { mnistDataset, readFileBytes, writeFileAtomic } from '../bindings/node.ts';
import {
  DIGIT_CLASSIFIER_CONFIG, resolveClassifierOptions, trainDigitClassifier,
  type ClassifierTrainingStep, type DigitClassifierOptions,
} from './digit-classifier.ts';

export interface CachedClassifier {
  classifier: NoiseAwareClassifier;
  /** The file it was read from or written to. */
  path: string;
  /** Whether it was trained by this call (false: read from the folder). */
  trainedNow: boolean;
  /** Seconds its training took (when it was trained, now or before). */
  trainingSeconds: number;
}

export interface LoadOrTrainOptions extends DigitClassifierOptions {
  /** The classifier's architecture. Default DIGIT_CLASSIFIER_CONFIG. */
  config?: ClassifierConfig;
  /** Called after every training step (only when it trains). */
  onStep?: (report: ClassifierTrainingStep) => void;
}

/** What identifies a trained classifier: its architecture and its training options (all defaults filled in). */
function identity(config: ClassifierConfig, options: Required<DigitClassifierOptions>): string {
  return JSON.stringify({ config, options, data: 'mnist train split' });
}

/** The file of a classifier in `folder`: digit-classifier-<8 hex digits of the identity's FNV-1a hash>.safetensors. */
export function classifierFile(folder: string, config: ClassifierConfig, options: Required<DigitClassifierOptions>): string {
  let hash = 0x811c9dc5;
  for (const ch of identity(config, options)) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return join(folder, `digit-classifier-${hash.toString(16).padStart(8, '0')}.safetensors`);
}

/** Reads the classifier trained with these options from `folder`, or trains and writes it (creating the folder). */
export async function loadOrTrainDigitClassifier(folder: string, request: LoadOrTrainOptions = {}): Promise<CachedClassifier> {
  const { config = DIGIT_CLASSIFIER_CONFIG, onStep, ...rest } = request;
  const options = resolveClassifierOptions(rest);
  const path = classifierFile(folder, config, options);
  if (existsSync(path)) return { ...(await readClassifier(path, config, options)), path, trainedNow: false };
  const started = performance.now();
  const dataset = mnistDataset({ split: 'train' });
  const { classifier } = await trainDigitClassifier({ ...options, dataset, config, onStep });
  const trainingSeconds = (performance.now() - started) / 1000;
  const training = { steps: options.steps, options, seconds: trainingSeconds } as unknown as ModelMetadata['training'];
  const meta = { scheduler: {}, data: { name: dataset.name, sampleShape: [...dataset.sampleShape], classNames: [...dataset.classNames] }, training };
  await mkdir(folder, { recursive: true });
  await writeFileAtomic(path, encodeModel(classifier, meta));
  return { classifier, path, trainedNow: true, trainingSeconds };
}

async function readClassifier(path: string, config: ClassifierConfig, options: Required<DigitClassifierOptions>): Promise<{ classifier: NoiseAwareClassifier; trainingSeconds: number }> {
  const { model, metadata } = decodeModel(await readFileBytes(path), path);
  if (!(model instanceof NoiseAwareClassifier)) throw new Error(`${path} holds a '${model.kind}' model, not the evaluation's digit classifier; delete it to retrain`);
  const stored = metadata.training as unknown as { options?: unknown; seconds?: number };
  const { numClasses, ...unet } = config;
  const expected = { ...resolveUNetConfig(unet), numClasses };
  if (JSON.stringify(model.config) !== JSON.stringify(expected) || JSON.stringify(stored.options) !== JSON.stringify(options)) {
    throw new Error(`${path} was trained with other settings than asked for (${JSON.stringify(stored.options)}); delete it to retrain`);
  }
  return { classifier: model, trainingSeconds: stored.seconds ?? Number.NaN };
}
