/**
 * `ddpm eval --nll`, run for real on tiny models with few timesteps (the numbers are those of barely trained
 * models; the tests check the report, its JSON, its independence from batching, and the one-line errors).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ddpm, ensureBuilt, expectErrors, tempFolder } from './helpers.ts';

ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;
const TOY = ['--model', join('toy', 'model.safetensors'), '--nll'];
const DIGITS = ['--model', join('digits', 'model.safetensors'), '--nll'];

test('setup: train a 2-D toy, a digit U-Net and a folder U-Net, with few timesteps', async () => {
  mkdirSync(join(cwd, 'pictures'));
  for (const [i, color] of ['red', 'blue'].entries()) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="${color}"/></svg>`;
    await sharp(Buffer.from(svg)).png().toFile(join(cwd, 'pictures', `${i}.png`));
  }
  const common = ['--batch', '4', '--steps', '2', '--sample-every', '0', '--timesteps', '8'];
  const runs = await Promise.all([
    ddpm(['train', '--data', 'gaussian8', ...common, '--out', 'toy'], cwd),
    ddpm(['train', '--data', 'mnist', '--class-cond', '--channels', '8,8', ...common, '--out', 'digits'], cwd),
    ddpm(['train', '--data', 'pictures', '--image-size', '8', '--channels', '8,8', ...common, '--out', 'folder'], cwd),
  ]);
  for (const run of runs) assert.is(run.code, 0, run.stderr);
});

test('2-D points: nats/dim with its three parts and a 95% interval, as text and as one JSON object', async () => {
  const [text, json] = await Promise.all([ddpm(['eval', ...TOY, '--num', '40'], cwd), ddpm(['eval', ...TOY, '--num', '40', '--json'], cwd)]);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /toy\/model\.safetensors: -?\d+\.\d{4} nats\/dim ± \d+\.\d{4} \(95% interval over 40 fresh points of gaussian8\)/);
  for (const part of ['prior', 'diffusion', 'decoder']) assert.match(text.stdout, new RegExp(`\\n  ${part} +-?\\d+\\.\\d{4}`));
  assert.match(text.stdout, /8 timesteps, fixed-large variance, seed 0/); // the 2-D recipe's variance
  assert.is(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(Object.keys(report), ['natsPerDim', 'ci95', 'terms', 'num']);
  assert.equal(Object.keys(report.terms), ['prior', 'diffusion', 'decoder']);
  assert.is(report.num, 40);
  assert.ok(Math.abs(report.natsPerDim - (report.terms.prior + report.terms.diffusion + report.terms.decoder)) < 1e-9);
  assert.ok(report.ci95 > 0);
  assert.ok(text.stdout.includes(report.natsPerDim.toFixed(4)), 'the text reports the same number');
});

test('the result depends on --seed, not on --batch or --workers; --variance fixed-small changes it', async () => {
  const runs = await Promise.all([
    ddpm(['eval', ...TOY, '--num', '30', '--json'], cwd),
    ddpm(['eval', ...TOY, '--num', '30', '--json', '--batch', '7'], cwd),
    ddpm(['eval', ...TOY, '--num', '30', '--json', '--workers', '2'], cwd),
    ddpm(['eval', ...TOY, '--num', '30', '--json', '--seed', '1'], cwd),
    ddpm(['eval', ...TOY, '--num', '30', '--json', '--variance', 'fixed-small'], cwd),
  ]);
  runs.forEach((run) => assert.is(run.code, 0, run.stderr));
  const [base, batched, threaded, reseeded, small] = runs.map((run) => JSON.parse(run.stdout));
  assert.equal(batched, base);
  assert.equal(threaded, base);
  assert.not.equal(reseeded.natsPerDim, base.natsPerDim);
  assert.not.equal(small.natsPerDim, base.natsPerDim);
  assert.is(small.terms.prior, base.terms.prior, 'the prior term does not depend on the reverse variance');
});

test('digits: bits/dim on the held-out digits, conditioned on their labels or on the null label; the same on 2 threads', async () => {
  const [labelled, unconditional, threaded] = await Promise.all([
    ddpm(['eval', ...DIGITS, '--num', '3', '--json'], cwd),
    ddpm(['eval', ...DIGITS, '--num', '3', '--labels', 'null'], cwd),
    ddpm(['eval', ...DIGITS, '--num', '3', '--json', '--workers', '2'], cwd),
  ]);
  assert.is(threaded.code, 0, threaded.stderr);
  assert.is(threaded.stdout, labelled.stdout);
  assert.is(labelled.code, 0, labelled.stderr);
  const report = JSON.parse(labelled.stdout);
  assert.equal(Object.keys(report), ['bitsPerDim', 'ci95', 'terms', 'num']);
  assert.ok(report.bitsPerDim > 0 && report.terms.decoder > 0, `bits/dim ${report.bitsPerDim}`);
  assert.is(unconditional.code, 0, unconditional.stderr);
  assert.match(unconditional.stdout, /bits\/dim ± .* 3 held-out images of mnist, null label \(unconditional\)\)/);
});

test('bad input: one line naming the flag, the value and what is allowed', async () => {
  await expectErrors(cwd, [
    [['eval', '--model', join('toy', 'model.safetensors')], 'nothing to evaluate', '--nll'],
    [['eval', ...TOY, '--labels', 'null'], '--labels null', 'unconditional'],
    [['eval', ...TOY, '--data', 'mnist'], '--data mnist holds images', 'points [2]'],
    [['eval', ...TOY, '--data', 'moons', '--num', '1'], "'--num <n>'", 'integer >= 2'],
    [['eval', ...TOY, '--workers', '0'], "'--workers <n>'", 'an integer from 1 to 64'],
    [['eval', ...TOY, '--variance', 'fixed-small-log'], "'fixed-small-log'", 'fixed-small', 'fixed-large', 'learned-range'],
    [['eval', ...TOY, '--variance', 'learned-range'], "varianceType 'learned_range' takes the variance from the model", 'predicts none'],
    [['eval', ...DIGITS, '--num', '5000'], '--num 5000', 'the mnist test split has 1000 images'],
    [['eval', ...DIGITS, '--data', 'colored-mnist'], '--data colored-mnist gives samples [3, 28, 28]', '[1, 28, 28]'],
    [['eval', '--model', join('folder', 'model.safetensors'), '--nll'], "trained on a folder of images ('pictures')", 'cannot be found', '--data FOLDER'],
    [['eval', '--model', 'missing.safetensors', '--nll'], 'missing.safetensors'],
  ]);
});

test('a folder of held-out images is evaluated when given', async () => {
  const run = await ddpm(['eval', '--model', join('folder', 'model.safetensors'), '--nll', '--data', 'pictures', '--num', '2', '--json'], cwd);
  assert.is(run.code, 0, run.stderr);
  assert.is(JSON.parse(run.stdout).num, 2);
});

test.after(() => temp.remove());
test.run();
