/**
 * `ddpm train`: trains a diffusion model (DDPM's Algorithm 1, bindings/train/trainer.ts) on 2-D toy data, the
 * digits or a folder of images, writing into --out as it goes (see run-folder.ts): checkpoints every
 * --save-every steps and every --save-seconds, a preview of samples every --sample-every steps, and a last
 * checkpoint at the end or on Ctrl-C (exit code 130). --resume continues from the training state bit for bit.
 */
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import {
  DDPMScheduler, TRAINER_DEFAULTS, Trainer, TrainingDivergedError, PREDICTION_TYPES, tidy,
  describeData, encodeModel, encodeTrainingState, restoreTrainingState,
  type Dataset, type Denoiser, type ModelMetadata, type SchedulerOptions, type StepReport,
} from '../bindings/index.ts';
import { readSafetensorsHeader } from '../bindings/io/safetensors.ts';
import { readMetadata } from '../bindings/models/model-file.ts';
import { readFileBytes } from '../bindings/io/files.ts';
import { createModel } from '../bindings/models/registry.ts';
import { BUILTIN_DATA, loadData } from './data.ts';
import { fail } from './errors.ts';
import { signalExitCode, watchInterrupts, type Interrupts, type StopSignal } from './interrupts.ts';
import { generateSamples, pictures, samplesPicture, type SampleRequest } from './generate.ts';
import { addCommonOptions, integerAtLeast, integerList, numberIn, shown } from './options.ts';
import { TrainingProgress, formatDuration } from './progress.ts';
import { RUN_FILES, RunFolder } from './run-folder.ts';
import {
  IMAGE_DEFAULTS, LOSS_CHOICES, LR_DECAY_CHOICES, MODEL_CHOICES, POINT_DEFAULTS, SCHEDULE_CHOICES, TASK_CHOICES, TIMESTEP_SAMPLING_CHOICES,
  VARIANCE_CHOICES, checkSameData, dataRequestOf, defaultSteps, mergeResumed, modelConfigOf, resolveSettings, schedulerOptionsOf, storedSettings,
  trainerOptionsOf, type RunSettings, type SettingFlags,
} from './train-settings.ts';
import { TimeEstimate, timedSteps } from './train-estimate.ts';

/** The flags of `ddpm train`, as commander parses them. */
export interface TrainFlags extends SettingFlags {
  out: string;
  steps?: number;
  resume?: boolean;
  sampleEvery: number;
  saveEvery: number;
  saveSeconds: number;
  workers: number;
  verbose?: boolean;
}

/** What a caller other than the command line (the demo) can add. */
export interface TrainExtras {
  /** Stop (with a checkpoint, exit code 0) once this many seconds of training have passed. */
  maxSeconds?: number;
  /** Print nothing but errors. */
  quiet?: boolean;
}

/** One worker per core, up to the number of gradient shards (more would idle). */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), TRAINER_DEFAULTS.gradientShards));
}

/** Steps of DDIM in the previews (samples.png). */
const PREVIEW_STEPS = 25;
/** The previews' fixed seed, so that successive previews show the same noise becoming better samples. */
const PREVIEW_SEED = 1234;

export function trainCommand(): Command {
  const command = new Command('train')
    .description('train a diffusion model on 2-D toy data, MNIST digits or a folder of images')
    .requiredOption('--out <folder>', 'the run folder (created if missing, with its parents)')
    .option('--data <name|folder>', `${BUILTIN_DATA.join(', ')}, or a folder of images (one sub-folder per class)`)
    .addOption(new Option('--model <kind>', 'the denoiser (default: mlp for 2-D data, unet for images)').choices(MODEL_CHOICES))
    .addOption(new Option('--steps <n>', `train until this step (default: ${POINT_DEFAULTS.steps} for 2-D data, by the data for images)`).argParser(integerAtLeast(1)))
    .addOption(new Option('--batch <b>', `samples per step (default: ${POINT_DEFAULTS.batch} for 2-D data, by the data for images)`).argParser(integerAtLeast(1)))
    .addOption(new Option('--lr <x>', `peak learning rate of AdamW (default: ${POINT_DEFAULTS.lr} for 2-D data, by the data for images)`).argParser(numberIn({ positive: true, max: 1 })))
    .addOption(new Option('--warmup <n>', `steps of learning-rate warm-up (default: ${POINT_DEFAULTS.warmup} for 2-D data, by the data for images)`).argParser(integerAtLeast(0)))
    .addOption(new Option('--lr-decay <kind>', `after warm-up, decay the learning rate to 0 at --steps (cosine) or keep it (default: ${POINT_DEFAULTS.lrDecay} for 2-D data, ${IMAGE_DEFAULTS.lrDecay} for images)`).choices(LR_DECAY_CHOICES))
    .addOption(new Option('--ema-decay <d>', `decay of the EMA of the weights, 0 = off (default: ${POINT_DEFAULTS.emaDecay} for 2-D data, by the data for images)`).argParser(numberIn({ min: 0, max: 0.999999 })))
    .addOption(new Option('--schedule <kind>', 'the beta schedule (default: linear)').choices(SCHEDULE_CHOICES))
    .addOption(new Option('--timesteps <t>', `diffusion steps T (default: ${POINT_DEFAULTS.timesteps} for 2-D data, ${IMAGE_DEFAULTS.timesteps} for images)`).argParser(integerAtLeast(2)))
    .addOption(new Option('--prediction <type>', `what the model predicts (default: ${POINT_DEFAULTS.prediction} for 2-D data, ${IMAGE_DEFAULTS.prediction} for images)`).choices(PREDICTION_TYPES))
    .option('--class-cond', 'condition on the class labels (classifier-free guidance at sampling; colored-mnist-attributes: digit and color apart)')
    .addOption(new Option('--cond-drop <p>', `probability of dropping a label for classifier-free guidance (per attribute for colored-mnist-attributes; default: ${TRAINER_DEFAULTS.condDropProb})`).argParser(numberIn({ min: 0, max: 0.999 })))
    .addOption(new Option('--beta-start <b>', 'the linear schedule\'s first beta (default: 1e-4); below the 8-bit bin width (2/255)² it sharpens the likelihood bound\'s decoder').argParser(numberIn({ positive: true, max: 0.0199 })))
    .addOption(new Option('--task <task>', 'condition on an image: colorize (grey digits of colored-mnist) or superres (2x, from 14x14)').choices(TASK_CHOICES))
    .addOption(new Option('--variance <type>', "the reverse process's variance; learned-range and learned: the model predicts it (default: fixed-small for images, fixed-large for 2-D points)").choices(VARIANCE_CHOICES))
    .addOption(new Option('--loss <loss>', 'simple (MSE) or hybrid (MSE + 0.001 x the bound, which trains a learned variance; default with one)').choices(LOSS_CHOICES))
    .addOption(new Option('--timestep-sampling <how>', 'uniform, or importance (by the loss history, after a warm-up; default: uniform)').choices(TIMESTEP_SAMPLING_CHOICES))
    .addOption(new Option('--snr-gamma <g>', 'Min-SNR-gamma loss weighting (Hang et al. 2023; 5 is usual); 0 = off (default)').argParser(numberIn({ min: 0, max: 1e6 })))
    .addOption(new Option('--noise-offset <x>', 'offset noise (e.g. 0.1); 0 = off (default)').argParser(numberIn({ min: 0, max: 10 })))
    .option('--zero-snr', 'rescale the betas to zero terminal SNR, and sample with trailing timesteps (Lin et al. 2024)')
    .addOption(new Option('--image-size <s>', 'side of the images (default: 28 for digits, 32 for a folder)').argParser(integerAtLeast(4)))
    .addOption(new Option('--channels <list>', 'U-Net channels per level, e.g. 16,32 (default: by the data)').argParser(integerList))
    .option('--grayscale', "read a folder's images as grey (default: RGB)")
    .addOption(new Option('--seed <s>', 'seed of the weights and of every random draw (default: 0)').argParser(integerAtLeast(0)))
    .option('--resume', 'continue the run in --out from its training state (flags left out keep the run\'s values)')
    .addOption(new Option('--sample-every <n>', 'write samples.png every n steps, 0 = only at the end').argParser(integerAtLeast(0)).default(500))
    .addOption(new Option('--save-every <n>', 'write a checkpoint every n steps, 0 = off').argParser(integerAtLeast(0)).default(1000))
    .addOption(new Option('--save-seconds <s>', 'also write one whenever s seconds passed since the last, 0 = off').argParser(numberIn({ min: 0 })).default(30))
    .addOption(new Option('--workers <n>', 'threads computing each step (the result is the same with any number)').argParser(integerAtLeast(1, TRAINER_DEFAULTS.gradientShards)).default(defaultWorkers(), 'the number of cores, at most 4'))
    .addHelpText('after', `
Defaults for images, from the image size S and the number of images N (cli/train-defaults.ts):
  --channels   16,32,64,64,128 cut to the levels S allows (halved while above 8 and even: 32 -> 16 -> 8);
               twice as wide from 20,000 images on
  --lr         0.001 (0.0005 for the wider model)
  --batch      the largest power of two <= N/8, from 16 to 64
  --steps      2,700 * sqrt(N) images seen, over the batch (300 images: 1500; the 9,000 digits: 4000)
  --ema-decay  0.999 and --warmup 200, as for every length: the EMA's warm-up, (1 + step)/(10 + step),
               already averages a run of s steps over about its last s/9
A few hundred 32x32 pictures: about 20 CPU-minutes (10 minutes on 2 idle cores); the digits: the shipped models' recipe.
After its first few steps, a run prints how long it will take, measured on those steps.

Writes into --out: ${Object.values(RUN_FILES).join(', ')}; holds --out/train.lock while it runs (one run per folder).
Ctrl-C, SIGTERM and SIGHUP stop after the current step, write a checkpoint and exit with code 130, 143 or 129.

Examples:
  ddpm train --data gaussian8 --out runs/ring
  ddpm train --data mnist --class-cond --out runs/digits
  ddpm train --data mnist --class-cond --variance learned-range --loss hybrid --timestep-sampling importance --out runs/hybrid
  ddpm train --data colored-mnist --task colorize --out runs/colorize
  ddpm train --data colored-mnist-attributes --class-cond --out runs/attributes
  ddpm train --data ./photos --image-size 32 --out runs/photos
  ddpm train --out runs/digits --resume --steps 8000`);
  return addCommonOptions(command).action(async (flags: TrainFlags) => {
    process.exitCode = await train(flags);
  });
}

/**
 * Runs `ddpm train`; returns the exit code (0, or 128 + the signal's number when stopped by SIGINT, SIGTERM or
 * SIGHUP). The run folder is locked from before anything is read until the run ends.
 */
export async function train(flags: TrainFlags, extras: TrainExtras = {}): Promise<number> {
  const say = extras.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const stop = watchInterrupts(say);
  let run: RunFolder | null = null;
  try {
    // A new run checks its flags and loads its data before it takes the folder: a mistake never touches --out.
    const fresh = flags.resume ? null : await settingsAndData(flags);
    run = await RunFolder.open(flags.out, flags.resume ?? false, say);
    const session = await prepare(run, flags, extras, fresh);
    if (session === null) return 0;
    if (stop.requested) {
      process.stderr.write('interrupted before training started: nothing was written\n');
      return signalExitCode(stop.signal!);
    }
    return await session.train(stop);
  } finally {
    run?.close();
    stop.dispose();
  }
}

/** The data of a run and its settings, from its flags and the data's size. */
async function settingsAndData(flags: SettingFlags): Promise<{ settings: RunSettings; dataset: Dataset }> {
  const dataset = await loadData(dataRequestOf(flags));
  return { settings: resolveSettings(flags, dataset.size), dataset };
}

/**
 * Reads the settings (from `fresh` for a new run; merged with the training state's when resuming), loads the
 * data and builds the trainer. Null: nothing to do.
 */
async function prepare(run: RunFolder, flags: TrainFlags, extras: TrainExtras, fresh: { settings: RunSettings; dataset: Dataset } | null): Promise<TrainingSession | null> {
  const where = shown(run.path);
  let settingFlags: SettingFlags = flags;
  let resumed: { bytes: Uint8Array; meta: ModelMetadata } | null = null;
  if (flags.resume) {
    const bytes = await readFileBytes(run.file('state'));
    const meta = readMetadata(readSafetensorsHeader(bytes, shown(run.file('state'))).metadata, shown(run.file('state')));
    resumed = { bytes, meta };
    settingFlags = mergeResumed(flags, storedSettings(meta), where);
  }
  const { settings, dataset } = fresh ?? await settingsAndData(settingFlags);
  const steps = flags.steps ?? defaultSteps(settings, dataset.size);
  if (resumed) checkSameData(dataset, resumed.meta, where);
  const { kind, config } = modelConfigOf(settings, dataset);
  const model = createModel(kind, config, settings.seed);
  const schedulerOptions = schedulerOptionsOf(settings);
  const decaySteps = resumed?.meta.training.options?.decaySteps;
  if (resumed && settings.lrDecay === 'cosine' && decaySteps !== steps) {
    fail(`--resume: ${where} decays its learning rate to 0 at step ${decaySteps} (--lr-decay cosine), so --steps must stay ${decaySteps}`);
  }
  const trainer = new Trainer({
    model, dataset, scheduler: new DDPMScheduler(schedulerOptions), ...trainerOptionsOf(settings, steps), workers: flags.workers,
  });
  if (resumed) {
    restoreTrainingState(trainer, resumed.bytes, shown(run.file('state')));
    run.readLosses(trainer.step);
  }
  const session = new TrainingSession(run, settings, dataset, trainer, schedulerOptions, steps, flags, extras);
  if (trainer.step >= steps) {
    session.say(`${where} already has ${trainer.step} steps (--steps ${steps}): nothing to train; pass a larger --steps to continue`);
    await trainer.dispose();
    return null;
  }
  return session;
}

class TrainingSession {
  private readonly preview: Denoiser;
  private readonly meta: Omit<ModelMetadata, 'version' | 'kind' | 'config' | 'training'>;
  /** Seconds of training before this session (a resumed run's past, from loss.csv). */
  private readonly pastSeconds: number;
  private lastSave = performance.now();
  /** The time estimate printed before the progress bar, in seconds (null: the run was too short to measure). */
  private estimatedSeconds: number | null = null;
  /** The step of the last checkpoint written (the resumed step before the first). */
  private savedStep: number;
  private readonly started = performance.now();

  constructor(
    private readonly folder: RunFolder, private readonly settings: RunSettings, private readonly dataset: Dataset,
    private readonly trainer: Trainer, schedulerOptions: SchedulerOptions, private readonly steps: number,
    private readonly flags: TrainFlags, private readonly extras: TrainExtras,
  ) {
    this.meta = { scheduler: schedulerOptions, data: describeData(dataset) };
    this.preview = createModel(trainer.model.kind as 'mlp' | 'unet2d', trainer.model.config);
    this.pastSeconds = folder.pastSeconds;
    this.savedStep = trainer.step;
  }

  say(line: string): void {
    if (!this.extras.quiet) process.stdout.write(`${line}\n`);
  }

  /** The training loop; returns the exit code. */
  async train(stop: Interrupts): Promise<number> {
    const { trainer, steps, flags } = this;
    const first = trainer.step;
    const estimate = new TimeEstimate({ first, steps, sampleEvery: flags.sampleEvery, started: this.started });
    this.say(`${this.summary()}${estimate.possible ? '\nmeasuring the speed on the first steps...' : ''}`);
    // The progress bar starts once the estimate is printed (or at once, for a run too short to measure).
    let progress = estimate.possible ? null : new TrainingProgress(steps, first, { quiet: this.extras.quiet });
    let reason: 'done' | 'interrupted' | 'time' = 'done';
    try {
      for await (const { report, ms } of timedSteps(trainer.run({ steps: steps - first }))) {
        this.record(report);
        if (progress) {
          progress.update(report);
        } else if (estimate.add(report, ms)) {
          const previewSeconds = await this.timePreview();
          this.estimatedSeconds = estimate.totalSeconds(previewSeconds);
          this.say(estimate.describe(previewSeconds));
          progress = new TrainingProgress(steps, report.step, { quiet: this.extras.quiet });
        }
        if (stop.requested) { reason = 'interrupted'; break; }
        if (this.extras.maxSeconds !== undefined && this.seconds() >= this.extras.maxSeconds) { reason = 'time'; break; }
        if (this.saveDue(report.step)) await this.checkpoint();
        if (flags.sampleEvery > 0 && report.step % flags.sampleEvery === 0 && report.step < steps) await this.writePreview();
      }
      progress?.stop();
      await this.checkpoint();
      // After Ctrl-C, stop promptly: the last preview is not worth waiting for.
      if (reason !== 'interrupted') await this.writePreview();
    } catch (error) {
      progress?.stop();
      if (!(error instanceof TrainingDivergedError)) throw error;
      const last = this.savedStep > 0 ? `the last checkpoint (step ${this.savedStep}) in ${shown(this.folder.path)} is intact` : 'nothing was saved';
      fail(`${error.message}; ${last}`);
    } finally {
      await trainer.dispose();
    }
    return this.finish(reason, first, stop.signal);
  }

  private record(report: StepReport): void {
    this.folder.losses.push({ ...report, seconds: this.pastSeconds + this.seconds() });
  }

  /** Seconds of training in this session. */
  private seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  private saveDue(step: number): boolean {
    const { saveEvery, saveSeconds } = this.flags;
    return (saveEvery > 0 && step % saveEvery === 0) || (saveSeconds > 0 && performance.now() - this.lastSave >= saveSeconds * 1000);
  }

  /** Writes the training state, the model (EMA weights), loss.csv and loss.png. */
  private async checkpoint(): Promise<void> {
    const { trainer } = this;
    const state = encodeTrainingState(trainer, this.meta);
    const model = encodeModel(trainer.model, { ...this.meta, training: { steps: trainer.step, options: trainer.storedOptions } }, trainer.ema);
    await this.folder.writeCheckpoint(state, model);
    this.lastSave = performance.now();
    this.savedStep = trainer.step;
  }

  /** What a preview samples: DDIM, a fixed seed, 1,000 points or 16 images (two of each of up to 8 classes). */
  private previewRequest(): SampleRequest {
    const { preview, dataset } = this;
    const points = dataset.sampleShape.length === 1;
    const classes = preview.numClasses;
    const num = points ? 1000 : classes > 0 ? 2 * Math.min(classes, 8) : 16;
    const labels = classes > 0 ? Int32Array.from({ length: num }, (_, i) => i % Math.min(classes, 8)) : null;
    // A conditioned model previews on the conditions of the first training samples.
    const condition = dataset.condition ? tidy(() => dataset.batch(Int32Array.from({ length: num }, (_, i) => i)).condition!.toFloat32Array()) : undefined;
    return {
      model: preview, scheduler: this.meta.scheduler, sampler: 'ddim', num, seed: PREVIEW_SEED, labels, condition,
      steps: Math.min(PREVIEW_STEPS, this.settings.timesteps),
    };
  }

  /** The seconds a preview takes, from one of its sampling steps (the picture's few milliseconds left out). */
  private async timePreview(): Promise<number> {
    const request = this.previewRequest();
    const started = performance.now();
    await generateSamples({ ...request, steps: 1 });
    return ((performance.now() - started) / 1000) * request.steps!;
  }

  /** samples.png from the current EMA weights: a grid of images or a scatter of points. */
  private async writePreview(): Promise<void> {
    const { trainer, preview, dataset } = this;
    preview.params.values.view().set(trainer.ema.view());
    const request = this.previewRequest();
    const { labels } = request;
    const samples = await generateSamples(request);
    const classes = preview.numClasses;
    const captions = labels ? Array.from(labels, (label) => dataset.classNames[label]) : undefined;
    const picture = await samplesPicture(samples, this.meta.data, { captions, columns: labels ? Math.min(classes, 8) : undefined, title: `step ${trainer.step}` });
    await (await pictures()).savePicture(this.folder.file('samples'), picture);
  }

  private summary(): string {
    const { settings, trainer, dataset, steps } = this;
    const channels = settings.channels ? `, channels ${settings.channels.join(',')}` : '';
    const what = `${trainer.model.kind} (${trainer.model.params.size.toLocaleString('en-US')} parameters${channels})`;
    const data = `${settings.data} (${dataset.size} samples${trainer.model.numClasses > 0 ? `, ${trainer.model.numClasses} classes` : ''})`;
    const from = trainer.step > 0 ? `from step ${trainer.step} ` : '';
    return `training ${what} on ${data} ${from}to step ${steps}, batch ${settings.batch}, lr ${settings.lr}, EMA ${settings.emaDecay} -> ${shown(this.folder.path)}`;
  }

  private finish(reason: 'done' | 'interrupted' | 'time', first: number, signal: StopSignal | null): number {
    const { trainer, folder: run } = this;
    const took = formatDuration(this.seconds());
    const files = `${shown(run.file('model'))} (and ${RUN_FILES.state}, ${RUN_FILES.lossCsv}, ${RUN_FILES.lossPng}, ${RUN_FILES.samples})`;
    if (reason === 'interrupted') {
      this.say(`interrupted at step ${trainer.step} of ${this.steps}: checkpoint written to ${files}`);
      this.say(`continue with: ddpm train --out ${shown(run.path)} --resume${this.flags.steps !== undefined ? ` --steps ${this.steps}` : ''}`);
      return signalExitCode(signal ?? 'SIGINT');
    }
    const estimated = this.estimatedSeconds !== null && reason === 'done' ? ` (estimated ${formatDuration(this.estimatedSeconds)})` : '';
    const note = reason === 'time' ? ` (stopped at the ${this.extras.maxSeconds} s time limit)` : estimated;
    this.say(`trained ${trainer.step - first} steps in ${took}${note}; wrote ${files}`);
    return 0;
  }
}
