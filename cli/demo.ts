/**
 * `ddpm demo` (what `npm start` runs): the project in a minute or two, with no arguments. It trains the 8-mode
 * toy (gaussian8) with the default recipe (under a minute on one core) and samples it as a scatter plot; then, when the package ships the
 * class-conditional digit models (models/mnist.safetensors, models/colored-mnist.safetensors), it draws the
 * digits 0-9, a few colored digits ('a red 7') and the reverse process of 16 sevens as an animation. Everything
 * lands in ./out/ (or --out) under the names of the README's pictures in docs/ (gaussian8.png, mnist-digits.png,
 * colored-digits.png, denoise-sevens.gif), which are these files; the demo replaces its own previous output there.
 */
import { rmSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command, Option } from 'commander';
import { decodeModel, type Denoiser } from '../bindings/index.ts';
import { PALETTE } from '../bindings/data/mnist.ts';
import { readFileBytes } from '../bindings/io/files.ts';
import { fail } from './errors.ts';
import { DEFAULT_GUIDANCE, generateSamples, pictures, samplesPicture } from './generate.ts';
import { SHIPPED_MODELS } from './models.ts';
import { addCommonOptions, integerAtLeast, makeFolder, numberIn, packageRoot, shown } from './options.ts';
import { formatDuration } from './progress.ts';
import { RUN_FILES } from './run-folder.ts';
import { sample } from './sample.ts';
import { train } from './train.ts';

/** The colored digits the demo draws: [digit, color name]. */
const COLORED_DIGITS: readonly [number, string][] = [[7, 'red'], [3, 'green'], [0, 'blue'], [5, 'yellow'], [2, 'magenta'], [9, 'cyan']];

export function demoCommand(): Command {
  const command = new Command('demo')
    .description('train the 8-mode toy for about a minute and sample it, then draw digits from the shipped models (npm start)')
    .option('--out <folder>', 'where the pictures go', 'out')
    .addOption(new Option('--train-seconds <s>', 'stop the toy training early after this many seconds (default: train all its steps)').argParser(numberIn({ positive: true })))
    .addOption(new Option('--sample-steps <k>', 'DDIM steps of the digit sampling').argParser(integerAtLeast(1, 1000)).default(50))
    .option('--models <folder>', "where mnist.safetensors and colored-mnist.safetensors are (default: the package's models/)")
    .addHelpText('after', `
Examples:
  npm start
  ddpm demo --out demo-pictures --train-seconds 20`);
  return addCommonOptions(command).action(async (flags: DemoFlags) => {
    process.exitCode = await demo(flags);
  });
}

export interface DemoFlags {
  out: string;
  trainSeconds?: number;
  sampleSteps: number;
  models?: string;
}

/** Runs the demo; returns the exit code. */
export async function demo({ out, trainSeconds, sampleSteps, models }: DemoFlags): Promise<number> {
  const started = performance.now();
  makeFolder('--out', out, out);
  const written: string[] = [];
  const say = (line: string) => process.stdout.write(`${line}\n`);

  say(`1. Training a small MLP on gaussian8, 8 Gaussian modes on a ring${trainSeconds ? ` (at most ${trainSeconds} s)` : ''}:`);
  const run = join(out, 'gaussian8');
  for (const file of Object.values(RUN_FILES)) rmSync(join(run, file), { force: true }); // the demo's own previous run
  const code = await train({
    data: 'gaussian8', out: run, sampleEvery: 1000, saveEvery: 0, saveSeconds: 30, workers: 1,
  }, trainSeconds === undefined ? {} : { maxSeconds: trainSeconds });
  if (code !== 0) return code;
  written.push(join(run, RUN_FILES.lossPng));

  say('\n2. Sampling it with DDPM (every one of its 1,000 timesteps), over the training data in grey:');
  const samples = { model: join(run, RUN_FILES.model), out: join(out, 'gaussian8.png'), num: 2000 };
  written.push(await sample({ ...samples, sampler: 'ddpm', guidance: 1, classifierScale: 1, seed: 0 }, say));

  say('\n3. Digits from the shipped class-conditional models:');
  const folder = models ?? join(packageRoot(), 'models');
  const digits = await shippedModel(folder, 'mnist', say);
  if (digits) {
    const labels = Int32Array.from({ length: 10 }, (_, d) => d);
    written.push(await drawDigits(digits, labels, join(out, 'mnist-digits.png'), sampleSteps, say));
  }
  const colored = await shippedModel(folder, 'colored-mnist', say);
  if (colored) {
    const labels = Int32Array.from(COLORED_DIGITS, ([digit, color]) => digit * PALETTE.length + PALETTE.findIndex((c) => c.name === color));
    written.push(await drawDigits(colored, labels, join(out, 'colored-digits.png'), sampleSteps, say));
  }
  if (digits) {
    say(`\n4. The reverse process, from noise to 16 sevens (DDIM ${sampleSteps} steps, guidance ${DEFAULT_GUIDANCE}), as an animation:`);
    const sevens = { model: join(folder, basename(SHIPPED_MODELS.mnist)), class: '7', num: 16, out: join(out, 'sevens.png'), animate: join(out, 'denoise-sevens.gif') };
    await sample({ ...sevens, sampler: 'ddim', steps: sampleSteps, classifierScale: 1, seed: 0 }, say);
    written.push(sevens.out, sevens.animate);
  }

  say(`\nDone in ${formatDuration((performance.now() - started) / 1000)}. Pictures:`);
  for (const path of written) say(`  ${shown(path)}`);
  return 0;
}

interface Shipped {
  model: Denoiser;
  metadata: Awaited<ReturnType<typeof decodeModel>>['metadata'];
  name: string;
}

/** A shipped model, or null (with a note) when the package does not have it yet. */
async function shippedModel(folder: string, name: string, say: (line: string) => void): Promise<Shipped | null> {
  const path = join(folder, basename(SHIPPED_MODELS[name]));
  if (!existsSync(path)) {
    say(`   ${shown(path)} is not there yet (the shipped ${name} model is still being trained): skipping it`);
    return null;
  }
  const { model, metadata } = decodeModel(await readFileBytes(path), shown(path));
  if (metadata.kind === 'classifier' || (model as Denoiser).numClasses === 0) fail(`${shown(path)} is not a class-conditional diffusion model`);
  return { model: model as Denoiser, metadata, name };
}

/** Draws one sample per label as a captioned grid. */
async function drawDigits(shipped: Shipped, labels: Int32Array, path: string, steps: number, say: (line: string) => void): Promise<string> {
  const started = performance.now();
  const { model, metadata } = shipped;
  const samples = await generateSamples({
    model, scheduler: metadata.scheduler, sampler: 'ddim', steps: Math.min(steps, metadata.scheduler.numTrainTimesteps ?? steps),
    num: labels.length, seed: 0, labels, guidance: DEFAULT_GUIDANCE,
  });
  const captions = Array.from(labels, (label) => metadata.data.classNames[label]);
  await (await pictures()).savePicture(path, await samplesPicture(samples, metadata.data, { captions, columns: labels.length }));
  say(`wrote ${shown(path)}: ${captions.join(', ')} (${shipped.name}, DDIM ${steps} steps, guidance ${DEFAULT_GUIDANCE}, ${formatDuration((performance.now() - started) / 1000)})`);
  return path;
}
