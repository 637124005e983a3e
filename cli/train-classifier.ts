/**
 * `ddpm train-classifier`: trains a noise-aware classifier p(y | x_t, t) on labelled images
 * (bindings/train/classifier-trainer.ts) for classifier guidance: `ddpm sample --classifier FILE`. Its
 * --timesteps and --schedule must be those of the diffusion model it will guide.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DDPMScheduler, NoiseAwareClassifier, describeData, encodeModel, type SchedulerOptions } from '../bindings/index.ts';
import { writeFileAtomic } from '../bindings/io/files.ts';
import { CLASSIFIER_TRAINER_DEFAULTS, ClassifierTrainer } from '../bindings/train/classifier-trainer.ts';
import { BUILTIN_DATA, isDigits, isToy, loadData } from './data.ts';
import { fail } from './errors.ts';
import { signalExitCode, watchInterrupts } from './interrupts.ts';
import { classifierPreset } from './models.ts';
import { addCommonOptions, checkOutputFile, integerAtLeast, integerList, makeFolder, numberIn, shown } from './options.ts';
import { TrainingProgress, formatDuration } from './progress.ts';
import { SCHEDULE_CHOICES, type ScheduleChoice } from './train-settings.ts';

export interface ClassifierFlags {
  data: string;
  out: string;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  timesteps: number;
  schedule: ScheduleChoice;
  imageSize?: number;
  channels?: number[];
  grayscale?: boolean;
  verbose?: boolean;
}

export function trainClassifierCommand(): Command {
  const command = new Command('train-classifier')
    .description('train a noise-aware classifier for classifier guidance (ddpm sample --classifier)')
    .requiredOption('--data <name|folder>', `labelled images: mnist, colored-mnist, or a folder with one sub-folder per class`)
    .requiredOption('--out <file>', 'the classifier file to write (.safetensors)')
    .addOption(new Option('--steps <n>', 'training steps').argParser(integerAtLeast(1)).default(2000))
    .addOption(new Option('--batch <b>', 'samples per step').argParser(integerAtLeast(1)).default(CLASSIFIER_TRAINER_DEFAULTS.batchSize))
    .addOption(new Option('--lr <x>', 'peak learning rate of AdamW').argParser(numberIn({ positive: true, max: 1 })).default(CLASSIFIER_TRAINER_DEFAULTS.learningRate))
    .addOption(new Option('--timesteps <t>', "diffusion steps T: the diffusion model's").argParser(integerAtLeast(2)).default(1000))
    .addOption(new Option('--schedule <kind>', "the beta schedule: the diffusion model's").choices(SCHEDULE_CHOICES).default('linear'))
    .addOption(new Option('--image-size <s>', 'side of the images (default: 28 for digits, 32 for a folder)').argParser(integerAtLeast(4)))
    .addOption(new Option('--channels <list>', 'channels per level, e.g. 16,32 (default: the preset for the image size)').argParser(integerList))
    .option('--grayscale', "read a folder's images as grey (default: RGB)")
    .addOption(new Option('--seed <s>', 'seed of the weights, the data order and the noise').argParser(integerAtLeast(0)).default(0))
    .addHelpText('after', `
Examples:
  ddpm train-classifier --data mnist --out runs/mnist-classifier.safetensors
  ddpm sample --model runs/digits/model.safetensors --classifier runs/mnist-classifier.safetensors --class 3 --out threes.png`);
  return addCommonOptions(command).action(async (flags: ClassifierFlags) => {
    process.exitCode = await trainClassifier(flags);
  });
}

/** Runs `ddpm train-classifier`; returns the exit code (130 when interrupted, after saving). */
export async function trainClassifier(flags: ClassifierFlags): Promise<number> {
  checkOutputFile('--out', flags.out, ['.safetensors']);
  if (existsSync(flags.out)) fail(`--out ${flags.out} already exists; choose another name (or delete it first)`);
  if (isToy(flags.data)) fail(`--data ${flags.data}: 2-D points have no classes; a classifier needs labelled images (${BUILTIN_DATA.filter(isDigits).join(', ')} or a folder)`);
  const imageSize = flags.imageSize ?? (isDigits(flags.data) ? 28 : 32);
  if (isDigits(flags.data) && imageSize < 28) fail(`--image-size ${imageSize}: ${flags.data} digits are 28x28, so the size must be at least 28`);
  const stop = watchInterrupts((line) => process.stderr.write(`${line}\n`));
  try {
    const dataset = await loadData({ data: flags.data, imageSize, channels: flags.grayscale ? 1 : 3 });
    if (dataset.numClasses < 2) fail(`--data ${flags.data}: a classifier needs at least 2 classes (a folder needs one sub-folder per class); this data has ${dataset.numClasses}`);
    const classifier = new NoiseAwareClassifier(classifierPreset(imageSize, dataset.sampleShape[0], dataset.numClasses, flags.channels), flags.seed);
    const schedulerOptions: SchedulerOptions = { numTrainTimesteps: flags.timesteps, betaSchedule: flags.schedule };
    const trainer = new ClassifierTrainer({
      classifier, dataset, scheduler: new DDPMScheduler(schedulerOptions), batchSize: flags.batch, learningRate: flags.lr, seed: flags.seed,
    });
    makeFolder('--out', flags.out, dirname(resolve(flags.out)));
    process.stdout.write(`training a classifier (${classifier.params.size.toLocaleString('en-US')} parameters) on ${flags.data} ` +
      `(${dataset.size} samples, ${dataset.numClasses} classes) for ${flags.steps} steps -> ${shown(flags.out)}\n`);
    const started = performance.now();
    const progress = new TrainingProgress(flags.steps, 0);
    let accuracy = 0;
    try {
      for await (const report of trainer.run({ steps: flags.steps })) {
        progress.update(report);
        accuracy = 0.98 * accuracy + 0.02 * report.accuracy;
        if (stop.requested) break;
      }
    } finally {
      progress.stop();
    }
    const meta = { scheduler: schedulerOptions, data: describeData(dataset), training: { steps: trainer.step, options: trainer.options } };
    await writeFileAtomic(flags.out, encodeModel(classifier, meta));
    const smoothed = accuracy / (1 - 0.98 ** trainer.step);
    process.stdout.write(`${stop.requested ? `interrupted at step ${trainer.step}: ` : ''}wrote ${shown(flags.out)} after ${trainer.step} steps ` +
      `in ${formatDuration((performance.now() - started) / 1000)} (recent training accuracy on noisy samples ${(100 * smoothed).toFixed(1)}%)\n`);
    await trainer.dispose();
    return stop.signal ? signalExitCode(stop.signal) : 0;
  } finally {
    stop.dispose();
  }
}
