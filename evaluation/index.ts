/**
 * The quality evaluation of the digit models (the project's issue): a class-conditional model trained on the
 * CPU makes digits that a classifier trained only on real digits labels as the class asked for; the report puts
 * that accuracy next to the classifier's accuracy on real held-out digits, with the training time. For colored
 * digits, the stroke's color must also be the one asked for ('a red 7 is a red 7').
 *
 *   const { markdown } = await evaluateModelFile('models/mnist.safetensors', { perClass: 50, classifierFolder: 'runs/eval-classifier' });
 *
 * Node, Deno and Bun only (files, and the mnist package's digits).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeModel, decodeSafetensors, NoiseAwareClassifier, tidy, type Denoiser, type ModelMetadata } from '../bindings/index.ts';
import { coloredMnistDataset, mnistDataset, readFileBytes } from '../bindings/node.ts';
import { loadOrTrainDigitClassifier, type LoadOrTrainOptions } from './classifier-cache.ts';
import {
  checkDigitModel, evaluateModel, judgeColoredDigits, resolveSampling, type DigitData, type Evaluation, type SamplingOptions,
} from './conditional.ts';
import { datasetAccuracy } from './digit-classifier.ts';
import { formatReport, type JudgeSummary, type ModelSummary } from './report.ts';

export * from './classifier-cache.ts';
export * from './colors.ts';
export * from './conditional.ts';
export * from './digit-classifier.ts';
export * from './report.ts';

export interface EvaluateFileOptions extends SamplingOptions {
  /** Where the judge's weights are kept between runs. Default 'runs/eval-classifier'. */
  classifierFolder?: string;
  /** How the judge is trained when it is not in the folder yet (architecture and options; defaults otherwise). */
  classifier?: LoadOrTrainOptions;
  /**
   * The loss log of the model's training (`ddpm train` writes loss.csv next to model.safetensors): its last row
   * gives the training time. Default: the loss.csv beside the model file, when there is one.
   */
  trainingLog?: string;
  /** Called with a line of progress now and then (judge training, sampling). */
  onMessage?: (line: string) => void;
}

export interface FileEvaluation {
  evaluation: Evaluation;
  judge: JudgeSummary;
  model: ModelSummary;
  /** The report as Markdown tables. */
  markdown: string;
}

/** Reads a digit model file, gets the judge (cached or trained), samples every class and reports. */
export async function evaluateModelFile(path: string, options: EvaluateFileOptions = {}): Promise<FileEvaluation> {
  const { classifierFolder = 'runs/eval-classifier', classifier: judgeOptions = {}, trainingLog, onMessage, ...sampling } = options;
  const { model, metadata } = await readDigitModel(path);
  resolveSampling(sampling, metadata.data.name as DigitData); // bad options fail now, not after training the judge
  const say = onMessage ?? (() => {});
  const cached = await loadOrTrainDigitClassifier(classifierFolder, {
    ...judgeOptions,
    onStep: (r) => { if (r.step === 1 || r.step % 50 === 0 || r.step === r.steps) say(`training the judge: step ${r.step}/${r.steps}, loss ${r.loss.toFixed(3)}`); },
  });
  say(`judge: ${cached.path} (${cached.trainedNow ? 'trained now' : 'read from the cache'})`);
  const judge = judgeSummary(cached.classifier, metadata.data.name, cached.trainingSeconds, !cached.trainedNow);
  const evaluation = await evaluateModel(model, metadata, cached.classifier, {
    ...sampling, onProgress: (done, total) => say(`sampling: ${done}/${total}`),
  });
  const summary: ModelSummary = {
    name: path, trainingSteps: metadata.training.steps, parameters: model.params.size,
    trainingSeconds: trainingSeconds(metadata, trainingLog ?? join(dirname(path), 'loss.csv')),
  };
  return { evaluation, judge, model: summary, markdown: formatReport(evaluation, judge, summary) };
}

/** Reads and checks a model file: a class-conditional diffusion model of mnist or colored-mnist digits. */
export async function readDigitModel(path: string): Promise<{ model: Denoiser; metadata: ModelMetadata }> {
  const bytes = await readFileBytes(path);
  const { tensors } = decodeSafetensors(bytes, path);
  if (tensors.has('params') && tensors.has('ema')) {
    throw new Error(`${path} is a training state, not a model file: pass the model.safetensors beside it`);
  }
  const { model, metadata } = decodeModel(bytes, path);
  if (model instanceof NoiseAwareClassifier) {
    throw new Error(`${path} holds a noise-aware classifier, not a diffusion model: the evaluation samples a diffusion model`);
  }
  checkDigitModel(model, metadata, path);
  return { model, metadata };
}

/** The judge's accuracy on the real held-out digits (tinted too, for colored models). */
function judgeSummary(classifier: NoiseAwareClassifier, data: string, trainingSeconds: number, cached: boolean): JudgeSummary {
  const summary: JudgeSummary = { heldOut: datasetAccuracy(classifier, mnistDataset({ split: 'test' })), trainingSeconds, cached };
  if (data === 'colored-mnist') {
    const test = coloredMnistDataset({ split: 'test' });
    const { images, labels } = tidy(() => {
      const batch = test.batch(Int32Array.from({ length: test.size }, (_, i) => i));
      return { images: batch.x.toFloat32Array(), labels: batch.labels! };
    });
    summary.heldOutColored = judgeColoredDigits(classifier, images, labels);
  }
  return summary;
}

/**
 * Seconds of the model's training: from its metadata when it records them, else the row of the loss log
 * (columns step,loss,learning_rate,grad_norm,seconds; one row per step) at the model's step, else null.
 */
export function trainingSeconds(metadata: ModelMetadata, lossLog: string): number | null {
  const recorded = (metadata.training as { seconds?: unknown }).seconds;
  if (typeof recorded === 'number' && Number.isFinite(recorded)) return recorded;
  if (!existsSync(lossLog)) return null;
  const [header, ...rows] = readFileSync(lossLog, 'utf8').trim().split('\n').map((line) => line.split(','));
  const column = header.indexOf('seconds');
  // The model's own step: a log of a run that went on (or of another run) still gives the time it took to get there.
  const row = rows.find((cells) => Number(cells[0]) === metadata.training.steps);
  const seconds = Number(row?.[column]);
  return column >= 0 && row && Number.isFinite(seconds) ? seconds : null;
}
