/**
 * `ddpm distill`: progressive distillation of a trained model to a few-step sampler (Salimans & Ho 2022;
 * bindings/train/progressive-distillation.ts): round after round a student learns to take one DDIM step for two of
 * its teacher's, from --from-steps down to --to-steps, with the teacher's classifier-free guidance (--guidance)
 * distilled into the first student. Written into --out as `ddpm train` writes (run-folder.ts): model.safetensors
 * (the current student's EMA weights, recording the sampler and step count it is for, so `ddpm sample` needs no
 * other flag), training-state.safetensors (--resume continues bit for bit, with any --workers), round-<N>step
 * .safetensors for every finished round, loss.csv, loss.png and samples.png.
 */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import {
  DDPMScheduler, ProgressiveDistillation, TRAINER_DEFAULTS, TrainingDivergedError, decodeModel, describeData, encodeModel,
  type Denoiser, type ModelMetadata, type SamplingRecord,
} from '../bindings/index.ts';
import { readFileBytes, writeFileAtomic } from '../bindings/io/files.ts';
import { BUILTIN_DATA, loadData } from './data.ts';
import { fail } from './errors.ts';
import { generateSamples, pictures, samplesPicture } from './generate.ts';
import { signalExitCode, watchInterrupts } from './interrupts.ts';
import { SHIPPED_MODELS, resolveModelFile } from './models.ts';
import { addCommonOptions, integerAtLeast, numberIn, shown } from './options.ts';
import { TrainingProgress, formatDuration } from './progress.ts';
import { RunFolder } from './run-folder.ts';
import { defaultWorkers } from './train.ts';

export interface DistillFlags {
  model: string;
  data?: string;
  out: string;
  toSteps: number;
  fromSteps: number;
  stepsPerRound: number;
  guidance?: number;
  batch: number;
  lr: number;
  warmup: number;
  emaDecay: number;
  seed: number;
  resume?: boolean;
  saveEvery: number;
  saveSeconds: number;
  workers: number;
}

export const DISTILL_DEFAULTS = { fromSteps: 32, stepsPerRound: 800, guidance: 3, batch: 64, lr: 2e-4, warmup: 50, emaDecay: 0.999 } as const;

/** The preview's fixed seed and digits, so successive previews show the same noise. */
const PREVIEW_SEED = 1234;

export function distillCommand(): Command {
  const d = DISTILL_DEFAULTS;
  const command = new Command('distill')
    .description('distil a trained model into a few-step sampler (progressive distillation)')
    .requiredOption('--model <file|name>', `the trained model: a file or a shipped model (${Object.keys(SHIPPED_MODELS).join(', ')})`)
    .requiredOption('--out <folder>', 'the run folder (created if missing; its parent must exist)')
    .option('--data <name|folder>', 'the data the students learn from (default: the data the model was trained on, when built in)')
    .addOption(new Option('--to-steps <n>', 'the final student\'s sampling steps').argParser(integerAtLeast(1)).makeOptionMandatory())
    .addOption(new Option('--from-steps <n>', 'the first teacher\'s DDIM steps: --to-steps times a power of 2').argParser(integerAtLeast(2)).default(d.fromSteps))
    .addOption(new Option('--steps-per-round <n>', 'training steps of each round').argParser(integerAtLeast(1)).default(d.stepsPerRound))
    .addOption(new Option('--guidance <w>', `the first teacher's classifier-free guidance, distilled into the students (default: ${d.guidance} for class-conditional models, else 1)`).argParser(numberIn({ min: 0, max: 100 })))
    .addOption(new Option('--batch <b>', 'samples per step').argParser(integerAtLeast(1)).default(d.batch))
    .addOption(new Option('--lr <x>', 'peak learning rate of AdamW (half-cosine decay to 0 within each round)').argParser(numberIn({ positive: true, max: 1 })).default(d.lr))
    .addOption(new Option('--warmup <n>', 'steps of learning-rate warm-up in each round').argParser(integerAtLeast(0)).default(d.warmup))
    .addOption(new Option('--ema-decay <d>', 'decay of the EMA of the student\'s weights (the next teacher)').argParser(numberIn({ min: 0, max: 0.999999 })).default(d.emaDecay))
    .addOption(new Option('--seed <s>', 'seed of every random draw (round r uses seed + r)').argParser(integerAtLeast(0)).default(0))
    .option('--resume', 'continue the run in --out from its training state')
    .addOption(new Option('--save-every <n>', 'write a checkpoint every n steps, 0 = off').argParser(integerAtLeast(0)).default(200))
    .addOption(new Option('--save-seconds <s>', 'also write one whenever s seconds passed since the last, 0 = off').argParser(numberIn({ min: 0 })).default(30))
    .addOption(new Option('--workers <n>', 'threads computing each step (the result is the same with any number)').argParser(integerAtLeast(1, TRAINER_DEFAULTS.gradientShards)).default(defaultWorkers(), 'the number of cores, at most 4'))
    .addHelpText('after', `
The student of each round samples in half its teacher's steps, on DDIM's 'trailing' timesteps; the guidance is
distilled in the first round, so the final model samples with guidance 1 in --to-steps steps, which its file
records: 'ddpm sample --model OUT/model.safetensors' needs no other flag.

Example:
  ddpm distill --model mnist --to-steps 4 --out runs/mnist-4step`);
  return addCommonOptions(command).action(async (flags: DistillFlags) => {
    process.exitCode = await distill(flags);
  });
}

/** Runs `ddpm distill`; returns the exit code (0, or 128 + the signal's number when stopped by a signal). */
export async function distill(flags: DistillFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const stop = watchInterrupts(say);
  const rounds = Math.log2(flags.fromSteps / flags.toSteps);
  if (!Number.isInteger(rounds) || rounds < 1) fail(`--from-steps ${flags.fromSteps}: must be --to-steps (${flags.toSteps}) times a power of 2 (2, 4, 8, ...)`);
  const path = resolveModelFile(flags.model, '--model');
  const { model, metadata } = decodeModel(await readFileBytes(path), shown(path));
  if (model.kind === 'classifier') fail(`--model ${flags.model}: ${shown(path)} is a classifier, not a diffusion model`);
  if (metadata.sampling) fail(`--model ${flags.model}: ${shown(path)} is already distilled (to ${metadata.sampling.steps} steps); distil the model it came from`);
  const teacher = model as Denoiser;
  const guidance = flags.guidance ?? (teacher.numClasses > 0 ? DISTILL_DEFAULTS.guidance : 1);
  if (guidance !== 1 && teacher.numClasses === 0) fail(`--guidance ${guidance}: ${shown(path)} is unconditional; guidance needs a class-conditional model (use --guidance 1)`);
  const scheduler = DDPMScheduler.fromConfig(metadata.scheduler);
  if (2 * flags.fromSteps > scheduler.config.numTrainTimesteps) {
    fail(`--from-steps ${flags.fromSteps}: at most half the model's ${scheduler.config.numTrainTimesteps} training timesteps (${scheduler.config.numTrainTimesteps / 2})`);
  }
  const data = flags.data ?? metadata.data.name;
  if (flags.data === undefined && !BUILTIN_DATA.includes(data)) fail(`--model ${flags.model}: it was trained on the folder '${data}': pass it again with --data`);
  const dataset = await loadData({ data, imageSize: metadata.data.sampleShape[1] ?? 0, channels: metadata.data.sampleShape[0] });
  if (dataset.sampleShape.join() !== teacher.sampleShape.join()) fail(`--data ${data}: its samples are [${dataset.sampleShape.join(', ')}], the model takes [${teacher.sampleShape.join(', ')}]`);
  let run: RunFolder | null = null;
  let distillation: ProgressiveDistillation | null = null;
  try {
    run = await RunFolder.open(flags.out, flags.resume ?? false, say);
    distillation = new ProgressiveDistillation(teacher, scheduler, dataset, {
      fromSteps: flags.fromSteps, toSteps: flags.toSteps, stepsPerRound: flags.stepsPerRound, guidanceScale: guidance,
      batchSize: flags.batch, learningRate: flags.lr, warmupSteps: flags.warmup, emaDecay: flags.emaDecay, seed: flags.seed, workers: flags.workers,
    });
    if (flags.resume) {
      await distillation.restoreState(await readFileBytes(run.file('state')), shown(run.file('state')));
      run.readLosses(distillation.totalStep);
    }
    const session = new DistillSession(run, distillation, { scheduler: metadata.scheduler, data: describeData(dataset) }, flags, say);
    return await session.distill(stop);
  } catch (error) {
    if (error instanceof TrainingDivergedError) fail(`${error.message}; the last checkpoint in ${shown(flags.out)} is intact`);
    throw error;
  } finally {
    await distillation?.dispose();
    run?.close();
    stop.dispose();
  }
}

class DistillSession {
  private lastSave = performance.now();
  private readonly started = performance.now();
  private readonly pastSeconds: number;

  constructor(
    private readonly folder: RunFolder, private readonly run: ProgressiveDistillation,
    private readonly meta: Pick<ModelMetadata, 'scheduler' | 'data'>, private readonly flags: DistillFlags,
    private readonly say: (line: string) => void,
  ) {
    this.pastSeconds = folder.pastSeconds;
  }

  async distill(stop: ReturnType<typeof watchInterrupts>): Promise<number> {
    const { run, flags } = this;
    const total = run.rounds * run.options.stepsPerRound;
    if (run.done) {
      this.say(`${shown(this.folder.path)} has finished all ${run.rounds} rounds: nothing to do`);
      return 0;
    }
    process.stdout.write(`distilling ${run.model.kind} (${run.model.params.size.toLocaleString('en-US')} parameters) from ${run.options.fromSteps} ` +
      `to ${run.options.toSteps} steps in ${run.rounds} rounds of ${run.options.stepsPerRound} steps, guidance ${run.options.guidanceScale}, ` +
      `batch ${flags.batch}${run.totalStep > 0 ? `, from step ${run.totalStep}` : ''} -> ${shown(this.folder.path)}\n`);
    const progress = new TrainingProgress(total, run.totalStep);
    let round = run.round;
    try {
      for await (const report of run.run()) {
        if (report.round !== round) {
          await this.finishRound(round);
          round = report.round;
        }
        this.folder.losses.push({ ...report, step: report.totalStep, seconds: this.pastSeconds + (performance.now() - this.started) / 1000 });
        progress.update({ step: report.totalStep, loss: report.loss });
        if (stop.requested) break;
        if (this.saveDue(report.totalStep)) await this.checkpoint();
      }
    } finally {
      progress.stop();
    }
    await this.checkpoint();
    if (stop.requested) {
      this.say(`stopped at step ${run.totalStep} of ${total}: checkpoint written; continue with: ddpm distill --model ${flags.model} --to-steps ${flags.toSteps} --out ${shown(this.folder.path)} --resume`);
      return signalExitCode(stop.signal ?? 'SIGINT');
    }
    await this.finishRound(round);
    this.say(`distilled in ${formatDuration((performance.now() - this.started) / 1000)}: ${shown(this.folder.file('model'))} samples in ${run.studentSteps()} steps ` +
      `(ddpm sample --model ${shown(this.folder.file('model'))})`);
    return 0;
  }

  /** The student of a finished round as its own model file, and a preview of its samples. */
  private async finishRound(round: number): Promise<void> {
    const steps = this.run.studentSteps(round);
    const bytes = this.modelFile(steps);
    await writeFileAtomic(join(this.folder.path, `round-${steps}step.safetensors`), bytes);
    await this.preview(bytes);
  }

  /** The current student (EMA weights) as a model file recording how it samples. */
  private modelFile(steps: number): Uint8Array {
    const { run } = this;
    const sampling: SamplingRecord = {
      sampler: 'ddim', steps, timestepSpacing: 'trailing', guidanceScale: 1,
      distilledFrom: { steps: run.options.fromSteps, guidanceScale: run.options.guidanceScale },
    };
    return encodeModel(run.trainer.model, { ...this.meta, sampling, training: { steps: run.totalStep, options: run.recordedOptions } }, run.studentWeights);
  }

  private saveDue(step: number): boolean {
    const { saveEvery, saveSeconds } = this.flags;
    return (saveEvery > 0 && step % saveEvery === 0) || (saveSeconds > 0 && performance.now() - this.lastSave >= saveSeconds * 1000);
  }

  /** The state (resume), the current student's model file, loss.csv and loss.png. */
  private async checkpoint(): Promise<void> {
    await this.folder.writeCheckpoint(this.run.encodeState(this.meta), this.modelFile(this.run.studentSteps()));
    this.lastSave = performance.now();
  }

  /** samples.png: the student sampled as its file says (DDIM, its steps, guidance 1). */
  private async preview(bytes: Uint8Array): Promise<void> {
    const { model, metadata } = decodeModel(bytes, 'the student');
    try {
      const denoiser = model as Denoiser;
      const classes = denoiser.numClasses;
      const num = classes > 0 ? 2 * Math.min(classes, 8) : 16;
      const labels = classes > 0 ? Int32Array.from({ length: num }, (_, i) => i % Math.min(classes, 8)) : null;
      const samples = await generateSamples({
        model: denoiser, scheduler: { ...metadata.scheduler, timestepSpacing: 'trailing' }, sampler: 'ddim', num, seed: PREVIEW_SEED, labels,
        steps: metadata.sampling!.steps,
      });
      const captions = labels ? Array.from(labels, (label) => metadata.data.classNames[label]) : undefined;
      const picture = await samplesPicture(samples, metadata.data, { captions, columns: labels ? Math.min(classes, 8) : undefined, title: `${metadata.sampling!.steps} steps` });
      await (await pictures()).savePicture(this.folder.file('samples'), picture);
    } finally {
      model.params.values.dispose();
      model.params.grads.dispose();
    }
  }
}
