/**
 * `ddpm interpolate`: the frames between two seeds, two pictures, or one of each. Each end is a latent: a seed's
 * initial noise, or a picture's DDIM inversion; the frames are their spherical interpolation (slerp), sampled in
 * one DDIM run (eta 0, deterministic), written as a strip (.png) or an animation that goes there and back (.gif,
 * .webp). Pictures are inverted and drawn back without clipping the predicted x0 (clipping breaks the round trip:
 * measured on the shipped digit model, 3x further from the picture at 50 steps).
 */
import { rmSync } from 'node:fs';
import { Command, Option } from 'commander';
import {
  DDIMPipeline, DDIMScheduler, decodeModel, interpolate, OutOfMemoryError, Tensor, type Denoiser, type InterpolationEnd, type ModelMetadata,
} from '../bindings/index.ts';
import { readFileBytes, temporaryPath } from '../bindings/io/files.ts';
import { readInitImage } from './edit-images.ts';
import { fail } from './errors.ts';
import { cropImages, layoutOf, pictures } from './generate.ts';
import { exitOnSignal } from './interrupts.ts';
import { planLabels } from './labels.ts';
import { SHIPPED_MODELS, resolveModelFile } from './models.ts';
import { addCommonOptions, checkOutputFile, integerAtLeast, numberIn, shown } from './options.ts';
import { SamplingProgress, formatDuration } from './progress.ts';

export interface InterpolateFlags {
  model: string;
  out: string;
  fromSeed?: number;
  toSeed?: number;
  fromImage?: string;
  toImage?: string;
  frames: number;
  /** Default 50 (a distilled model: the steps its file records). */
  steps?: number;
  class?: string;
  color?: string;
  guidance?: number;
  maxParams?: number;
}

export function interpolateCommand(): Command {
  const command = new Command('interpolate')
    .description('frames between two seeds or two pictures (slerp of their noises, DDIM-inverted for pictures)')
    .requiredOption('--model <file|name>', `a model file or a shipped model (${Object.keys(SHIPPED_MODELS).join(', ')})`)
    .requiredOption('--out <file>', 'strip.png (the frames side by side) or anim.gif / anim.webp (there and back)')
    .addOption(new Option('--from-seed <s>', 'the first frame: the noise of this seed').argParser(integerAtLeast(0)))
    .addOption(new Option('--to-seed <s>', 'the last frame: the noise of this seed').argParser(integerAtLeast(0)))
    .option('--from-image <picture>', 'the first frame: this picture, inverted with DDIM')
    .option('--to-image <picture>', 'the last frame: this picture, inverted with DDIM')
    .addOption(new Option('--frames <n>', 'frames, the two ends included').argParser(integerAtLeast(2, 256)).default(8))
    .addOption(new Option('--steps <k>', 'DDIM steps (and inversion steps) (default: 50; a distilled model: its own)').argParser(integerAtLeast(1)))
    .option('--class <c>', 'draw every frame as this class (class-conditional models; without it they draw unconditionally)')
    .option('--color <name>', 'colored-mnist only, with --class: red, green, blue, yellow, magenta or cyan')
    .addOption(new Option('--guidance <w>', 'classifier-free guidance scale with --class (default: 1)').argParser(numberIn({ min: 0 })))
    .addOption(new Option('--max-params <n>', 'refuse model files with more parameters').argParser(integerAtLeast(1)))
    .addHelpText('after', `
Each end is a seed (--from-seed, --to-seed) or a picture of the model's size (--from-image, --to-image).

Examples:
  ddpm interpolate --model mnist --from-seed 1 --to-seed 2 --class 3 --frames 8 --out threes.png
  ddpm interpolate --model mnist --from-image three.png --to-image eight.png --frames 12 --out morph.gif`);
  return addCommonOptions(command).action(async (flags: InterpolateFlags) => {
    await interpolateFrames(flags);
  });
}

/** Runs `ddpm interpolate`; returns the path written. */
export async function interpolateFrames(flags: InterpolateFlags, say: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<string> {
  const extension = checkOutputFile('--out', flags.out, ['.png', '.gif', '.webp']);
  const { model, metadata, path } = await loadDiffusionModel(flags.model, flags.maxParams);
  if (model.conditionChannels) {
    fail(`--model ${flags.model}: ${shown(path)} is conditioned on an image (${metadata.data.condition?.task ?? 'conditionChannels'}), which ddpm interpolate does not take; sample it with ddpm sample --cond-image`);
  }
  const T = metadata.scheduler.numTrainTimesteps ?? 1000;
  const record = metadata.sampling;
  if (record && flags.steps !== undefined && flags.steps !== record.steps) {
    fail(`--steps ${flags.steps}: ${shown(path)} was distilled for ${record.sampler} in ${record.steps} steps; leave --steps out (or pass --steps ${record.steps})`);
  }
  if (record && flags.guidance !== undefined && flags.guidance !== record.guidanceScale) {
    fail(`--guidance ${flags.guidance}: ${shown(path)} was distilled to sample at guidance ${record.guidanceScale} (its guidance is in its weights); leave --guidance out`);
  }
  const steps = flags.steps ?? record?.steps ?? 50;
  if (steps > T) fail(`--steps ${steps}: the model was trained with ${T} timesteps, so at most ${T} steps`);
  const ends = await Promise.all([end('from', flags.fromSeed, flags.fromImage, metadata), end('to', flags.toSeed, flags.toImage, metadata)]);
  const { labels, guidance } = chooseLabels(flags, model, metadata);
  const pictureEnd = ends.some((e) => 'image' in e);
  // A distilled model samples with the spacing it was distilled for (its guidance is in its weights: scale 1).
  const spacing = record ? { timestepSpacing: record.timestepSpacing } : {};
  const scheduler = DDIMScheduler.fromConfig(metadata.scheduler, { ...spacing, ...(pictureEnd && { clipSample: false }) });
  const pipeline = new DDIMPipeline({ model, scheduler });

  const started = performance.now();
  const stopListening = exitOnSignal(() => rmSync(temporaryPath(flags.out), { force: true }),
    (line) => process.stderr.write(`${line}\n`), `stopped; ${shown(flags.out)} was not written`);
  const progress = new SamplingProgress(steps, `${pictureEnd ? 'inverting, then ' : ''}sampling ${flags.frames} frames with DDIM`);
  const tensors: Tensor[] = [];
  let frames: Float32Array;
  try {
    const latentEnds = ends.map((e) => ('image' in e ? { image: tensors[tensors.push(Tensor.from(e.image, [1, ...model.sampleShape])) - 1] } : e)) as InterpolationEnd[];
    const out = await interpolate(pipeline, {
      from: latentEnds[0], to: latentEnds[1], frames: flags.frames, numInferenceSteps: steps,
      ...(labels !== null && { classLabels: new Int32Array(flags.frames).fill(labels) }), guidanceScale: guidance,
      onStep: ({ index }) => progress.update(index + 1),
    });
    frames = out.toFloat32Array();
    out.dispose();
  } catch (error) {
    if (!(error instanceof OutOfMemoryError)) throw error;
    fail(`--frames ${flags.frames}: out of memory sampling them at once; lower --frames`);
  } finally {
    progress.stop();
    for (const tensor of tensors) tensor.dispose();
    stopListening();
  }
  const captions = frameCaptions(flags, ends);
  await (await pictures()).savePicture(flags.out, await picture(frames, captions, metadata, extension));
  say(`wrote ${shown(flags.out)}: ${flags.frames} frames from ${captions[0]} to ${captions[captions.length - 1]}, ${shown(path)}, ` +
    `DDIM ${steps} steps, ${formatDuration((performance.now() - started) / 1000)}`);
  return flags.out;
}

type End = { seed: number } | { image: Float32Array; file: string };

/** One end from its two flags: exactly one of --<side>-seed and --<side>-image. */
async function end(side: 'from' | 'to', seed: number | undefined, image: string | undefined, metadata: ModelMetadata): Promise<End> {
  if (seed !== undefined && image !== undefined) fail(`--${side}-seed ${seed} and --${side}-image ${image}: give one of them`);
  if (seed !== undefined) return { seed };
  if (image === undefined) fail(`the ${side === 'from' ? 'first' : 'last'} frame is missing: give --${side}-seed <s> or --${side}-image <picture>`);
  return { image: await readInitImage(`--${side}-image`, image, metadata.data), file: image };
}

/** The label of every frame and the guidance: --class, or the model's null label (guidance 0) without it. */
function chooseLabels(flags: InterpolateFlags, model: Denoiser, metadata: ModelMetadata): { labels: number | null; guidance: number } {
  if (model.numClasses === 0 || flags.class === undefined) {
    if (flags.guidance !== undefined) fail(`--guidance ${flags.guidance} needs --class (${model.numClasses === 0 ? 'and a class-conditional model' : 'the class to draw every frame as'})`);
    if (flags.color !== undefined) fail(`--color ${flags.color} needs --class`);
    if (model.numClasses === 0 && flags.class !== undefined) planLabels(metadata.data, false, flags);
    // A class-conditional model draws unconditionally with guidance 0: the output of its null label.
    return { labels: model.numClasses > 0 ? 0 : null, guidance: model.numClasses > 0 ? 0 : 1 };
  }
  const plan = planLabels(metadata.data, true, flags);
  if (plan.candidates.length !== 1) fail(`--class ${flags.class}: give one class (colored-mnist: --class and --color)`);
  return { labels: plan.candidates[0], guidance: flags.guidance ?? metadata.sampling?.guidanceScale ?? 1 };
}

function frameCaptions(flags: InterpolateFlags, ends: End[]): string[] {
  const name = (e: End) => ('seed' in e ? `seed ${e.seed}` : e.file.split(/[\\/]/).pop()!);
  return Array.from({ length: flags.frames }, (_, i) => (i === 0 ? name(ends[0]) : i === flags.frames - 1 ? name(ends[1]) : `${Math.round((100 * i) / (flags.frames - 1))}%`));
}

/** The frames as a strip (.png) or an animation there and back (.gif, .webp). */
async function picture(frames: Float32Array, captions: string[], metadata: ModelMetadata, extension: string): Promise<Uint8Array> {
  const F = captions.length;
  const shape = layoutOf(metadata.data, F).shape;
  const images = cropImages(frames, metadata.data.sampleShape, shape[2]);
  const { imageGrid, denoisingAnimation } = await pictures();
  const scale = shape[2] <= 32 ? 3 : shape[2] <= 64 ? 2 : 1;
  if (extension === '.png') return imageGrid(images, shape, { columns: F, labels: captions, scale });
  const one = images.length / F;
  const order = [...Array.from({ length: F }, (_, i) => i), ...Array.from({ length: F - 2 }, (_, i) => F - 2 - i)];
  return denoisingAnimation(order.map((i) => images.subarray(i * one, (i + 1) * one)), [1, ...shape.slice(1)], {
    format: extension === '.gif' ? 'gif' : 'webp', delay: 150, holdLast: 150, captions: order.map((i) => captions[i]), grid: { scale: scale + 1 },
  });
}

/** A diffusion model file or a shipped model by name (classifiers refused). */
async function loadDiffusionModel(value: string, maxParameters?: number): Promise<{ model: Denoiser; metadata: ModelMetadata; path: string }> {
  const path = resolveModelFile(value, '--model');
  const { model, metadata } = decodeModel(await readFileBytes(path), shown(path), { maxParameters });
  if (metadata.kind === 'classifier') fail(`--model ${value}: this is a noise-aware classifier, not a diffusion model`);
  return { model: model as Denoiser, metadata, path };
}
