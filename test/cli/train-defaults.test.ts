/**
 * The first hour of a user with a folder of pictures: `ddpm train --data FOLDER` with no other flag picks its
 * model, batch, steps and learning rate from the image size and the number of images (cli/train-defaults.ts),
 * the digits' defaults are the shipped models' recipe, and a run prints a time estimate, measured on its first
 * steps, before its progress bar. The estimate's arithmetic is checked on given times; how close it comes to a run's
 * real time depends on the machine's load, which a test cannot hold still: the README reports measured runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, init } from '../../bindings/index.ts';
import { coloredMnistDataset, mnistDataset } from '../../bindings/data/mnist.ts';
import { defaultBatch, defaultImageSteps, imageDefaults } from '../../cli/train-defaults.ts';
import { TimeEstimate } from '../../cli/train-estimate.ts';
import { ROOT, ddpm, ensureBuilt, start, tempFolder, waitFor } from './helpers.ts';
import { writeShapes } from './shapes.ts';

await init();
ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;
await writeShapes(join(cwd, 'shapes'), 300);

/** Seconds from a duration as the command prints it ('45s', '3m05s', '2h07m'). */
function seconds(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') throw new Error(`not a duration: '${text}'`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

test('a few hundred 32x32 pictures: a 3-level U-Net of 16, 32, 64 channels, batch 32, 1,500 steps, lr 1e-3', () => {
  const d = imageDefaults(32, 300);
  assert.equal(d.channels, [16, 32, 64]);
  assert.equal([d.batch, d.steps, d.lr, d.emaDecay, d.warmup], [32, 1500, 1e-3, 0.999, 200]);
});

test("the digits' defaults are the recipe of the shipped models, read from their files", () => {
  for (const [file, dataset] of [['mnist', mnistDataset({ split: 'train' })], ['colored-mnist', coloredMnistDataset({ split: 'train' })]] as const) {
    const { metadata } = decodeModel(readFileSync(join(ROOT, 'models', `${file}.safetensors`)));
    const config = metadata.config as { blockOutChannels: number[]; sampleSize: number };
    const options = metadata.training.options!;
    const d = imageDefaults(config.sampleSize, dataset.size);
    assert.equal(d.channels, config.blockOutChannels, file);
    assert.equal([d.batch, d.steps, d.lr, d.emaDecay, d.warmup], [options.batchSize, metadata.training.steps, options.learningRate, options.emaDecay, options.warmupSteps], file);
  }
});

test('depth follows the image size, width and the images seen the number of images', () => {
  assert.equal(imageDefaults(64, 300).channels, [16, 32, 64, 64]);
  assert.equal(imageDefaults(16, 300).channels, [16, 32]);
  assert.equal(imageDefaults(30, 300).channels, [16, 32], '30 -> 15: one halving');
  const wide = imageDefaults(32, 50000);
  assert.equal([wide.channels, wide.lr], [[32, 64, 128], 5e-4]);
  assert.equal([defaultBatch(10), defaultBatch(300), defaultBatch(9000)], [16, 32, 64]);
  let seen = 0;
  for (const n of [10, 100, 300, 1000, 3000, 9000, 30000, 100000]) {
    const now = defaultImageSteps(n, defaultBatch(n)) * defaultBatch(n);
    assert.ok(now >= seen, `more images, at least as many seen (${n}: ${now})`);
    seen = now;
  }
  assert.is(imageDefaults(32, 300, 64).steps, 700, 'a given batch sets the steps: the same images seen');
});

test('ddpm train on a folder with no other flag: the defaults, then a measured estimate before the progress bar', async () => {
  const run = start(['train', '--data', 'shapes', '--out', join('runs', 'new', 'shapes')], cwd);
  await waitFor(run.output, (o) => /estimated time: /.test(o.stdout) || o.code !== null, 600);
  run.child.kill('SIGINT');
  const result = await run.done;
  assert.is(result.code, 130, result.stderr);
  assert.match(result.stdout, /unet2d \(717,507 parameters, channels 16,32,64\) on shapes \(300 samples\) to step 1500, batch 32, lr 0\.001, EMA 0\.999/);
  assert.match(result.stdout, /measuring the speed on the first steps\.\.\.\nestimated time: \S+ for steps 1-1500 \([^)]+, measured on steps 2-\d+; 3 previews of/);
  const { metadata } = decodeModel(readFileSync(join(cwd, 'runs', 'new', 'shapes', 'model.safetensors')));
  assert.equal((metadata.config as { blockOutChannels: number[] }).blockOutChannels, [16, 32, 64]);
  const options = metadata.training.options!;
  assert.equal([options.batchSize, options.learningRate, options.emaDecay, options.warmupSteps], [32, 1e-3, 0.999, 200]);
});

test('the estimate: the time so far, the steps left at the measured speed (from the second step on), the previews left', () => {
  const estimate = new TimeEstimate({ first: 50, steps: 150, sampleEvery: 30, started: 0 });
  assert.ok(estimate.possible);
  assert.not.ok(estimate.add({ step: 51 }, 5000), 'the first step of a session is not measured');
  for (const step of [52, 53, 54, 55]) assert.not.ok(estimate.add({ step }, 800), `step ${step}: fewer than ${5} steps measured`);
  assert.ok(estimate.add({ step: 56 }, 800), '5 steps and 4 s measured');
  assert.is(estimate.secondsPerStep, 0.8);
  assert.is(estimate.previewsLeft, 4, 'at steps 60, 90 and 120, and the last');
  assert.is(estimate.totalSeconds(2, 10000), 10 + 94 * 0.8 + 4 * 2);
  assert.match(estimate.describe(2, 10000), /^estimated time: 1m33s for steps 51-150 \(1\.3 steps\/s, measured on steps 52-56; 4 previews of 2\.0s\)/);
  const slow = new TimeEstimate({ first: 0, steps: 100, sampleEvery: 0, started: 0 });
  for (let step = 1; step <= 5; step++) slow.add({ step }, 500);
  assert.not.ok(slow.add({ step: 6 }, 500), '5 steps but 2.5 s: not yet');
  assert.ok(slow.add({ step: 7 }, 500));
  assert.not.ok(new TimeEstimate({ first: 0, steps: 6, sampleEvery: 0, started: 0 }).possible, 'too short to measure');
});

test("a run's last line repeats the estimate it printed, beside the time it took", async () => {
  const result = await ddpm(['train', '--data', 'shapes', '--steps', '20', '--sample-every', '0', '--out', 'timed'], cwd);
  assert.is(result.code, 0, result.stderr);
  const estimated = /estimated time: (\S+) for steps 1-20 .*; 1 preview of/.exec(result.stdout)![1];
  const [, took, again] = /trained 20 steps in (\S+) \(estimated (\S+)\)/.exec(result.stdout)!;
  assert.is(again, estimated);
  assert.ok(seconds(took) > 0 && seconds(estimated) > 0);
});

test.after(() => temp.remove());
test.run();
