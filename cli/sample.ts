/**
 * `ddpm sample`: draws samples from a model file (or a shipped model by name) with one of the samplers of
 * cli/generate.ts (DDIM, DDPM, DPM-Solver++, UniPC, Euler, Euler ancestral, Heun), optionally
 * class-conditional (--class, --color), with classifier-free guidance (--guidance) or classifier guidance
 * (--classifier), and writes them as a picture (.png: an image grid, or a scatter plot over the training data
 * for 2-D models) or as a NumPy array (.npy); --animate also writes the denoising as an animation. With --init,
 * it edits a picture instead (sample-edit.ts): img2img with --strength, RePaint inpainting with --mask. Samples are
 * drawn --batch at a time, a .npy streamed to its file as they come (sample-batches.ts), so memory does not grow
 * with --num.
 */
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CONVOLUTIONS, decodeModel, OutOfMemoryError, predictsVariance, type Convolutions, type Denoiser, type ModelMetadata, type NoiseAwareClassifier } from '../bindings/index.ts';
import { readConditionImages } from './cond-image.ts';
import { readFileBytes, temporaryPath } from '../bindings/io/files.ts';
import { fail } from './errors.ts';
import {
  DEFAULT_GUIDANCE, cropImages, defaultSteps, layoutOf, pictures, plannedEvaluations, samplesPicture, trainingPoints, SAMPLER_INFO, SAMPLERS,
  type EditRequest, type SampleRequest, type SamplerName,
} from './generate.ts';
import { isFolder, loadDiffusersDenoiser } from './diffusers.ts';
import { exitOnSignal } from './interrupts.ts';
import { cycleLabels, planLabels } from './labels.ts';
import { SHIPPED_MODELS, resolveModelFile } from './models.ts';
import { addCommonOptions, checkOutputFile, integerAtLeast, makeFolder, numberIn, shown } from './options.ts';
import { SamplingProgress, formatDuration } from './progress.ts';
import { editName, INPAINT_DEFAULTS, readEdit, strengthArgument, type EditFlags } from './sample-edit.ts';
import { AnimationFrames, GatheredSamples, NpySink, SAMPLING_MEMORY_BUDGET, defaultBatch, sampleInBatches, type BatchStep, type SampleSink } from './sample-batches.ts';

export interface SampleFlags extends EditFlags {
  model: string;
  out: string;
  num?: number;
  /** Default 'ddim' (or what a distilled model's file records). */
  sampler?: SamplerName;
  steps?: number;
  karras?: boolean;
  corrector?: 'langevin' | 'ald';
  eta?: number;
  class?: string;
  color?: string;
  /**
   * Classifier-free guidance; undefined: DEFAULT_GUIDANCE for a class-conditional model without --classifier, else 1
   * (a distilled model: the guidance its file records, which is in its weights).
   */
  guidance?: number;
  classGuidance?: number;
  colorGuidance?: number;
  condImage?: string;
  classifier?: string;
  classifierScale: number;
  seed: number;
  animate?: string;
  batch?: number;
  /** Threads sampling each batch (the samples are the same with any number). Default 1. */
  workers?: number;
  /** How the 3x3 convolutions run (GenerateOptions.convolutions). Default 'winograd'. */
  convolutions?: Convolutions;
  maxParams?: number;
  verbose?: boolean;
}

/** Frames of an animation, about. */
const ANIMATION_FRAMES = 40;
/** The most images a .png grid holds (beyond it, the picture outgrows what the image encoder takes). */
const MAX_GRID_IMAGES = 10000;

export function sampleCommand(): Command {
  const command = new Command('sample')
    .description('draw samples from a trained model')
    .requiredOption('--model <file|name|dir>', `a model file, a shipped model (${Object.keys(SHIPPED_MODELS).join(', ')}) or a diffusers pipeline folder`)
    .requiredOption('--out <file>', 'samples.png (a grid, or a scatter plot for 2-D data) or samples.npy (float32)')
    .addOption(new Option('--num <n>', 'how many samples (default: 16 images, 2000 points, or one per class in turn)').argParser(integerAtLeast(1, 100000)))
    .addOption(new Option('--sampler <name>', 'how to sample (see Samplers below)').choices(SAMPLERS))
    .addOption(new Option('--steps <k>', 'sampling steps (default: see Samplers below)').argParser(integerAtLeast(1)))
    .option('--karras', "use Karras et al.'s noise levels (dpmsolver++, unipc, euler, heun)")
    .addOption(new Option('--corrector <rule>', "sde-pc only: the Langevin corrector's step size, per sample's signal-to-noise ratio (langevin) or by the noise level (ald) (default: ald for 2-D points, langevin for images)").choices(['langevin', 'ald']))
    .addOption(new Option('--eta <e>', 'ddim only: noise of each step, 0 = deterministic (default: 0)').argParser(numberIn({ min: 0 })))
    .option('--class <c>', 'the class to draw: an index or a name (colored-mnist: the digit, with --color)')
    .option('--color <name>', 'colored-mnist only: red, green, blue, yellow, magenta or cyan')
    .addOption(new Option('--guidance <w>', `classifier-free guidance scale, 1 = none (default: ${DEFAULT_GUIDANCE} for class-conditional models, ` +
      'the scale of the README\'s pictures, at which a classifier recognises 100% of the shipped models\' digits; 1 with --classifier ' +
      'or for an unconditional model)').argParser(numberIn({ min: 0 })))
    .addOption(new Option('--class-guidance <w>', 'colored-mnist-attributes: the digit\'s guidance weight, composed with the color\'s (default: --guidance)').argParser(numberIn({ min: 0 })))
    .addOption(new Option('--color-guidance <w>', 'colored-mnist-attributes: the color\'s guidance weight, composed with the digit\'s (default: --guidance)').argParser(numberIn({ min: 0 })))
    .option('--cond-image <file>', 'a conditioned model\'s input: a grey digit to colour (colorize), a 14x14 digit to enlarge (superres); a PNG, or a .npy [N, C, H, W] in [0, 1]')
    .option('--classifier <file>', 'a noise-aware classifier (ddpm train-classifier) for classifier guidance')
    .addOption(new Option('--classifier-scale <s>', 'weight of the classifier guidance').argParser(numberIn({ min: 0 })).default(1))
    .addOption(new Option('--seed <s>', 'seed of the noise').argParser(integerAtLeast(0)).default(0))
    .option('--animate <file>', 'also write the denoising as an animation (.gif or .webp)')
    .addOption(new Option('--batch <b>', `samples drawn at once; memory grows with it, the samples do not change (default: as many as fit ${SAMPLING_MEMORY_BUDGET / 2 ** 20} MB of working memory)`).argParser(integerAtLeast(1)))
    .addOption(new Option('--convolutions <kind>', "winograd: Winograd's F(2x2, 3x3), about 1.6x faster; direct: the training layers' bits (each the same samples in every runtime, not the other's)").choices(CONVOLUTIONS).default('winograd'))
    .addOption(new Option('--workers <n>', 'threads sampling each batch; the samples are the same with any number (not with --animate or --init; default: 1)').argParser(integerAtLeast(1, 64)))
    .addOption(new Option('--max-params <n>', 'refuse model files with more parameters (default: 268435456, 1 GiB of float32)').argParser(integerAtLeast(1)))
    .option('--init <picture>', 'edit a picture of the model\'s size: img2img (with --strength) or inpainting (with --mask)')
    .addOption(new Option('--strength <s>', 'img2img: how far --init is noised before denoising, in (0, 1], 1 = from noise; the last floor(steps x s) steps run (default: 0.8)').argParser(strengthArgument))
    .option('--mask <picture>', 'inpaint --init with RePaint: white keeps a pixel, black is painted')
    .addOption(new Option('--jump-length <j>', `inpainting: RePaint's jumps back, in steps (default: ${INPAINT_DEFAULTS.jumpLength})`).argParser(integerAtLeast(1)))
    .addOption(new Option('--jump-n-sample <r>', `inpainting: how many times RePaint passes each jump, 1 = no resampling (default: ${INPAINT_DEFAULTS.jumpNSample})`).argParser(integerAtLeast(1)))
    .addHelpText('after', `
Samplers (--sampler; default: unipc in 10 steps for images, which the digit judge reads as well as DDIM in 50
(docs/sampler-quality.md), and ddim in 50 for points or with --eta; each sampler's default steps in brackets):
${SAMPLERS.map((name) => `  ${name.padEnd(16)}${SAMPLER_INFO[name].what} [${SAMPLER_INFO[name].steps ?? 'training timesteps'}]`).join('\n')}
A distilled model (ddpm distill) samples as its file records (DDIM, its step count, guidance 1): leave the
sampler flags out.

Examples:
  ddpm sample --model runs/ring/model.safetensors --out ring.png
  ddpm sample --model mnist --out digits.png                     every digit, in turn
  ddpm sample --model mnist --class 7 --num 16 --out sevens.png
  ddpm sample --model mnist --class 7 --guidance 1 --out plain-sevens.png   no guidance
  ddpm sample --model mnist --sampler dpmsolver++ --karras --steps 10 --out digits.png
  ddpm sample --model colored-mnist --class 7 --color red --out red-sevens.png
  ddpm sample --model colored-mnist-attributes --color red --guidance 3 --out red.png     anything red
  ddpm sample --model colored-mnist-attributes --class 7 --color red --class-guidance 3 --color-guidance 2 --out red-7.png
  ddpm sample --model colorize --cond-image grey.png --num 8 --out colored.png
  ddpm sample --model superres --cond-image small.png --out large.png                     14x14 -> 28x28
  ddpm sample --model runs/ring/model.safetensors --sampler pf-ode --steps 100 --out ring.png
  ddpm sample --model runs/ring/model.safetensors --out ring.npy --num 10000
  ddpm sample --model mnist --num 100000 --out digits.npy        streamed to the file, batch by batch
  ddpm sample --model mnist --class 3 --animate denoise.gif --out threes.png
  ddpm sample --model mnist --init digit.png --strength 0.6 --class 3 --out cleaned.png     img2img
  ddpm sample --model mnist --init digit.png --mask mask.png --out completed.png            inpainting

Inpainting (--mask) samples with RePaint: DDPM steps (--eta 1; 0 is DDIM-like) that keep the picture's white-masked
pixels, noised to each step's level, jumping back --jump-length steps --jump-n-sample times to blend them
(default ${INPAINT_DEFAULTS.steps} steps, ${INPAINT_DEFAULTS.jumpLength} x ${INPAINT_DEFAULTS.jumpNSample}). Pictures for --init and --mask have the model's size (digits: 28x28).`);
  return addCommonOptions(command).action(async (flags: SampleFlags) => {
    await sample(flags);
  });
}

/** Runs `ddpm sample`; returns the path written. */
export async function sample(given: SampleFlags, say: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<string> {
  const extension = checkOutputFile('--out', given.out, ['.png', '.npy']);
  if (given.animate !== undefined) checkOutputFile('--animate', given.animate, ['.gif', '.webp']);
  if (given.init !== undefined && given.workers !== undefined && given.workers > 1) {
    fail(`--workers ${given.workers}: editing a picture (--init) samples on one thread; leave out --workers`);
  }
  const loaded = await loadDenoiser(given.model, given.maxParams);
  const { model, path } = loaded;
  if (given.mask !== undefined && loaded.metadata.sampling) {
    fail(`--mask ${given.mask}: ${shown(path)} was distilled for ${loaded.metadata.sampling.sampler} in ${loaded.metadata.sampling.steps} steps, and inpainting runs RePaint's DDPM steps; inpaint with the model it was distilled from`);
  }
  const { flags, metadata } = applySamplingRecord(given, model, loaded.metadata, path);
  const edit = await readEdit(flags, metadata.data, given.sampler !== undefined);
  const classifier = flags.classifier !== undefined ? await loadClassifier(flags.classifier, model, metadata, flags.maxParams) : null;
  const { labels, captions, columns, title } = chooseLabels(flags, model, metadata, classifier);
  const conditions = await conditionsOf(flags, model, metadata);
  const num = labels?.length ?? flags.num ?? conditions?.count ?? (metadata.data.sampleShape.length === 1 ? 2000 : 16);
  const steps = checkSampling(flags, model, metadata, edit);
  const images = layoutOf(metadata.data, num).kind === 'images';
  if (extension === '.png' && images && num > MAX_GRID_IMAGES) {
    fail(`--num ${num}: a .png grid holds at most ${MAX_GRID_IMAGES.toLocaleString('en-US')} images; write a .npy for more`);
  }

  const started = performance.now();
  const request: SampleRequest = {
    model, scheduler: metadata.scheduler, sampler: flags.sampler, steps, karras: flags.karras, num, seed: flags.seed, labels,
    corrector: flags.sampler === 'sde-pc' ? flags.corrector ?? (model.sampleShape.length === 1 ? 'ald' : 'langevin') : undefined,
    guidance: guidanceOf(flags, model), eta: flags.eta ?? (edit?.mask ? INPAINT_DEFAULTS.eta : undefined), classifier: classifier?.model,
    classifierScale: flags.classifierScale, condition: conditions?.values, edit, convolutions: flags.convolutions,
  };
  // The output folders are made once the flags and the model are checked, before the sampling (with their parents).
  for (const [flag, file] of [['--out', flags.out], ['--animate', flags.animate]] as const) {
    if (file !== undefined) makeFolder(flag, file, dirname(resolve(file)));
  }
  const batch = Math.min(num, flags.batch ?? await defaultBatch(request));
  const batches = Math.ceil(num / batch);
  if (flags.workers !== undefined && flags.workers > 1 && flags.animate !== undefined) fail(`--workers ${flags.workers}: --animate records every step, which one thread does; leave out --workers`);
  const perSample = model.sampleShape.reduce((a, b) => a * b, 1);
  const frames = flags.animate !== undefined ? new AnimationFrames(model.sampleShape, num, batch, ANIMATION_FRAMES) : null;
  // Listening before the output's temporary file exists: a signal at any moment removes it (by name, even
  // before the writer is returned) and leaves --out as it was.
  let sink: SampleSink | null = null;
  const stopListening = exitOnSignal(() => { sink?.abortSync(); rmSync(temporaryPath(flags.out), { force: true }); },
    (line) => process.stderr.write(`${line}\n`), `stopped; ${shown(flags.out)} was not written`);
  const samplerName = editName(edit, `${flags.sampler.toUpperCase()}${flags.karras ? ' Karras' : ''}`);
  const evaluations = plannedEvaluations(request, steps);
  const progress = new SamplingProgress(evaluations * batches, `sampling ${num} with ${samplerName}${batches > 1 ? ` in ${batches} batches of ${batch}` : ''}`);
  try {
    sink = extension === '.npy' ? await NpySink.create(flags.out, metadata.data, num) : new GatheredSamples(model.sampleShape, num);
    const output = sink;
    const threads = flags.workers ?? 1;
    // Split between threads, a batch reports when it is done; in one thread, every step (and its animation frame).
    const onStep: BatchStep | undefined = threads > 1 ? undefined : (b, index, total, timestep, frame) => {
      progress.update(b * total + index + 1);
      frames?.record(b, index, total, timestep, frame);
    };
    await sampleInBatches(request, batch, async (samples, first) => {
      await output.write(samples, first);
      if (threads > 1) progress.update(Math.ceil((first + samples.length / perSample) / batch) * evaluations);
    }, onStep, threads);
    progress.stop();
    if (output instanceof NpySink) await output.finish();
    else if (output instanceof GatheredSamples) await (await pictures()).savePicture(flags.out, await samplesPicture(output.values, metadata.data, { captions, columns, title }));
  } catch (error) {
    progress.stop();
    sink?.abortSync();
    if (!(error instanceof OutOfMemoryError)) throw error;
    fail(`--batch ${batch}: out of memory sampling ${batch} at once (${mib(error.requestedBytes)} asked for with ${mib(error.liveBytes)} in use; ` +
      `the memory cannot grow past ${mib(error.limitBytes)}); lower --batch`);
  } finally {
    stopListening();
  }
  const what = `${num} ${images ? 'images' : 'points'}`;
  const guided = flags.guidance !== 1 ? `, guidance ${flags.guidance}` : '';
  say(`wrote ${shown(flags.out)}: ${what} from ${shown(path)}, ${samplerName} ${steps} steps${guided}${batches > 1 ? `, ${batches} batches of ${batch}` : ''}, ` +
    formatDuration((performance.now() - started) / 1000));
  if (frames) {
    await (await pictures()).savePicture(flags.animate!, await animation(frames.frames, frames.captions, metadata, flags.animate!));
    say(`wrote ${shown(flags.animate!)}: ${frames.frames.length} frames, from noise to samples`);
  }
  return flags.out;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Reads a diffusion model file, a shipped model or a diffusers folder; a classifier or another file is refused with its name. */
async function loadDenoiser(value: string, maxParameters?: number): Promise<{ model: Denoiser; metadata: ModelMetadata; path: string }> {
  if (isFolder(value)) return loadDiffusersDenoiser(value);
  const path = resolveModelFile(value, '--model');
  const { model, metadata } = decodeModel(await readFileBytes(path), shown(path), { maxParameters });
  if (metadata.kind === 'classifier') fail(`--model ${value}: this is a noise-aware classifier; pass it as --classifier, with a diffusion model as --model`);
  return { model: model as Denoiser, metadata, path };
}

interface LoadedClassifier {
  model: NoiseAwareClassifier;
  metadata: ModelMetadata;
}

/** Reads a classifier for guidance and checks that it fits the diffusion model (sample shape and schedule). */
async function loadClassifier(file: string, model: Denoiser, meta: ModelMetadata, maxParameters?: number): Promise<LoadedClassifier> {
  const { model: classifier, metadata } = decodeModel(await readFileBytes(file), shown(file), { maxParameters });
  if (metadata.kind !== 'classifier') fail(`--classifier ${file}: this is a ${metadata.kind} diffusion model, not a classifier (train one with 'ddpm train-classifier')`);
  if (metadata.data.sampleShape.join(',') !== model.sampleShape.join(',')) {
    fail(`--classifier ${file} takes samples [${metadata.data.sampleShape.join(', ')}], the model makes [${model.sampleShape.join(', ')}]`);
  }
  const [a, b] = [metadata.scheduler, meta.scheduler];
  if (a.numTrainTimesteps !== b.numTrainTimesteps || a.betaSchedule !== b.betaSchedule) {
    fail(`--classifier ${file} was trained with ${a.numTrainTimesteps} timesteps of the ${a.betaSchedule} schedule, ` +
      `the model with ${b.numTrainTimesteps} of ${b.betaSchedule}: train the classifier with the model's --timesteps and --schedule`);
  }
  return { model: classifier as NoiseAwareClassifier, metadata };
}

/** The labels to sample (null: unconditional), with captions and a grid layout when drawing several classes. */
function chooseLabels(flags: Resolved, model: Denoiser, meta: ModelMetadata, classifier: LoadedClassifier | null) {
  const data = model.numClasses > 0 || !classifier ? meta.data : classifier.metadata.data;
  const plan = planLabels(data, model.numClasses > 0 || classifier !== null, flags);
  if (plan.candidates.length === 0) return { labels: null, captions: undefined, columns: undefined, title: undefined };
  const several = plan.candidates.length > 1;
  const num = flags.num ?? (several ? plan.candidates.length : 16);
  const labels = cycleLabels(plan.candidates, num);
  const colored = data.name.startsWith('colored-mnist') && plan.candidates.length % 6 === 0 && plan.candidates.length > 10;
  return {
    labels,
    captions: several ? Array.from(labels, (label) => plan.names[label]) : undefined,
    columns: several ? Math.min(plan.candidates.length, colored ? 6 : 10) : undefined,
    title: several ? undefined : plan.names[plan.candidates[0]],
  };
}

/** The conditioning images of a conditioned model from --cond-image (null for other models). */
async function conditionsOf(flags: SampleFlags, model: Denoiser, meta: ModelMetadata): Promise<{ values: Float32Array; count: number } | null> {
  const condition = meta.data.condition;
  if (!condition || !(model.conditionChannels ?? 0)) {
    if (flags.condImage !== undefined) fail(`--cond-image ${flags.condImage}: the model takes no conditioning image (it was trained on '${meta.data.name}' without --task)`);
    return null;
  }
  if (flags.condImage === undefined) {
    const [C, H, W] = condition.inputShape;
    fail(`--cond-image is required: the model (${condition.task}) takes a ${C === 1 ? 'grey ' : ''}${W}x${H} image to ${condition.task === 'colorize' ? 'colour' : 'enlarge'}`);
  }
  return readConditionImages(flags.condImage!, condition, flags.num ?? null);
}

/** The guidance: one weight, or for a model with labels per attribute and a weight given per attribute, both (composed). */
function guidanceOf(flags: Resolved, model: Denoiser): number | number[] {
  if (flags.classGuidance === undefined && flags.colorGuidance === undefined) return flags.guidance;
  if (!model.classAttributes) fail(`--${flags.classGuidance !== undefined ? 'class' : 'color'}-guidance: weights per attribute need a model with labels per attribute (colored-mnist-attributes)`);
  return [flags.classGuidance ?? flags.guidance, flags.colorGuidance ?? flags.guidance];
}

/** The flags with their defaults, and for a distilled model the sampling its file records (other flags refused). */
function applySamplingRecord(flags: SampleFlags, model: Denoiser, meta: ModelMetadata, path: string): { flags: Resolved; metadata: ModelMetadata } {
  const record = meta.sampling;
  if (!record) {
    const guidance = flags.guidance ?? (model.numClasses > 0 && flags.classifier === undefined ? DEFAULT_GUIDANCE : 1);
    // Images: UniPC in 10 steps reads as well as DDIM in 50 (docs/sampler-quality.md). Points keep DDIM, and so
    // does --eta (DDIM's own option) without --sampler.
    const unipc = flags.sampler === undefined && meta.data.sampleShape.length > 1 && flags.eta === undefined;
    const sampler = flags.sampler ?? (unipc ? IMAGE_SAMPLER.sampler : 'ddim');
    const steps = flags.steps ?? (unipc && flags.mask === undefined ? IMAGE_SAMPLER.steps : undefined);
    return { flags: { ...flags, sampler, steps, guidance }, metadata: meta };
  }
  const distilled = `${shown(path)} was distilled for ${record.sampler} in ${record.steps} steps with the guidance in its weights`;
  if (flags.sampler !== undefined && flags.sampler !== record.sampler) fail(`--sampler ${flags.sampler}: ${distilled}; leave --sampler out`);
  if (flags.steps !== undefined && flags.steps !== record.steps) fail(`--steps ${flags.steps}: ${distilled}; leave --steps out (or pass --steps ${record.steps})`);
  if (flags.guidance !== undefined && flags.guidance !== record.guidanceScale) fail(`--guidance ${flags.guidance}: ${distilled}; leave --guidance out`);
  if (flags.karras || flags.eta !== undefined) fail(`--${flags.karras ? 'karras' : 'eta'}: ${distilled}; leave it out`);
  return {
    flags: { ...flags, sampler: record.sampler, steps: record.steps, guidance: record.guidanceScale },
    metadata: { ...meta, scheduler: { ...meta.scheduler, timestepSpacing: record.timestepSpacing } },
  };
}

/**
 * The sampler of image models when no --sampler is given: the fewest model evaluations at which the judge of
 * scripts/sampler-quality.ts reads the shipped digit models as well as with DDIM-50 (docs/sampler-quality.md).
 */
export const IMAGE_SAMPLER = { sampler: 'unipc', steps: 10 } as const;

type Resolved = SampleFlags & Required<Pick<SampleFlags, 'sampler' | 'guidance'>>;

/** Checks the sampler's flags against the model; returns the number of steps. */
function checkSampling(flags: Resolved, model: Denoiser, meta: ModelMetadata, edit: EditRequest | undefined): number {
  const T = meta.scheduler.numTrainTimesteps ?? 1000;
  if (flags.eta !== undefined && flags.sampler !== 'ddim' && !edit?.mask) fail(`--eta applies to --sampler ddim and to inpainting (--mask), not ${flags.sampler}`);
  if (flags.corrector !== undefined && (flags.sampler !== 'sde-pc' || edit?.mask)) fail(`--corrector applies to --sampler sde-pc, not ${edit?.mask ? 'inpainting (--mask)' : flags.sampler}`);
  if (flags.guidance !== 1 && model.numClasses === 0) {
    fail(`--guidance ${flags.guidance}: classifier-free guidance needs a class-conditional model; this one was trained on '${meta.data.name}' without class labels`);
  }
  if (flags.classifier === undefined && flags.classifierScale !== 1) fail('--classifier-scale needs --classifier');
  if (edit?.mask && predictsVariance(model)) {
    fail(`--mask ${flags.mask}: inpainting runs RePaint's DDPM steps with a fixed variance, and this model predicts its own (learned_range); ` +
      'edit it with --init and --strength (img2img) instead');
  }
  if (edit && !edit.mask && (flags.sampler === 'sde-pc' || flags.sampler === 'pf-ode')) {
    fail(`--init ${flags.init}: img2img starts part-way through the sampler's steps, which --sampler ${flags.sampler} cannot (its calls run as one plan); use ddim, ddpm, dpmsolver++, unipc, euler or heun`);
  }
  if (predictsVariance(model) && !edit?.mask) {
    const stochastic = ['euler-ancestral', 'sde-pc'].includes(flags.sampler) || (flags.sampler === 'ddim' && (flags.eta ?? 0) > 0);
    if (stochastic) {
      fail(`--sampler ${flags.sampler}${flags.sampler === 'ddim' ? ` --eta ${flags.eta}` : ''}: a learned-variance model sampled with a scheduler that ignores variance ` +
        '(it adds noise of its own); use --sampler ddpm (the learned variance) or a deterministic one (ddim, dpmsolver++, unipc, euler, heun, pf-ode)');
    }
  }
  if (flags.karras && !SAMPLER_INFO[flags.sampler].karras) {
    fail(`--karras applies to ${SAMPLERS.filter((name) => SAMPLER_INFO[name].karras).join(', ')}, not --sampler ${flags.sampler}`);
  }
  const steps = flags.steps ?? (edit?.mask ? Math.min(INPAINT_DEFAULTS.steps, T) : defaultSteps(flags.sampler, meta.scheduler));
  if (steps > T) fail(`--steps ${steps}: the model was trained with ${T} timesteps, so at most ${T} sampling steps`);
  const { order } = SAMPLER_INFO[flags.sampler];
  if (!edit?.mask && steps < order) fail(`--steps ${steps}: ${flags.sampler} is a solver of order ${order}, so at least ${order} steps (allowed: ${order}..${T})`);
  if (edit?.strength !== undefined && Math.floor(steps * edit.strength) < 1) {
    fail(`--strength ${edit.strength} with --steps ${steps} runs no step (floor(${steps} x ${edit.strength}) = 0): raise --strength to at least ${1 / steps} or --steps to at least ${Math.ceil(1 / edit.strength)}`);
  }
  return steps;
}

/** The recorded frames as an animation (images cropped like the samples; points over the training data). */
async function animation(frames: Float32Array[], captions: string[], meta: ModelMetadata, path: string): Promise<Uint8Array> {
  const per = meta.data.sampleShape.reduce((a, b) => a * b, 1);
  const layout = layoutOf(meta.data, frames[0].length / per);
  const { animationFormatFor, denoisingAnimation } = await pictures();
  const format = animationFormatFor(path);
  if (layout.kind === 'points') {
    return denoisingAnimation(frames, layout.shape, { format, captions, scatter: { background: trainingPoints(meta.data.name) } });
  }
  const cropped = frames.map((frame) => cropImages(frame, meta.data.sampleShape, layout.shape[2]));
  return denoisingAnimation(cropped, layout.shape, { format, captions, grid: { scale: layout.shape[2] <= 32 ? 3 : 2 } });
}
