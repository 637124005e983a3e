/**
 * The `ddpm` command with the improved-DDPM / ADM options, on tiny models trained for two steps (the pictures are
 * noise; the tests check shapes, files, the options' round trip through the run folder, and the one-line errors):
 * --variance learned-range with the hybrid loss, importance sampling, Min-SNR and offset noise; --task colorize and
 * superres with --cond-image; labels per attribute with --color alone and a guidance weight per attribute;
 * --sampler sde-pc and pf-ode; eval --nll --steps on a learned-variance model.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeNpy, encodeNpy } from '../../bindings/io/npy.ts';
import { ddpm, ensureBuilt, expectErrors, tempFolder } from './helpers.ts';

ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;
const TINY = ['--channels', '8,8', '--batch', '4', '--steps', '2', '--sample-every', '0', '--workers', '1'];
const npy = (path: string) => decodeNpy(readFileSync(join(cwd, path)));

/** A grey (1-channel) or RGB PNG of side `size` with a bright square in it. */
async function picture(path: string, size: number, channels: 1 | 3): Promise<void> {
  const pixels = Buffer.alloc(size * size * channels);
  const [lo, hi] = [Math.floor(size / 4), Math.floor((3 * size) / 4)];
  for (let y = lo; y < hi; y++) for (let x = lo; x < hi; x++) pixels.fill(230, (y * size + x) * channels, (y * size + x + 1) * channels);
  writeFileSync(join(cwd, path), await sharp(pixels, { raw: { width: size, height: size, channels } }).toColourspace(channels === 1 ? 'b-w' : 'srgb').png().toBuffer());
}

test('setup: train the tiny models, with every new option', async () => {
  const runs = await Promise.all([
    ddpm(['train', '--data', 'mnist', '--class-cond', '--variance', 'learned-range', '--timestep-sampling', 'importance', '--snr-gamma', '5',
      '--noise-offset', '0.1', '--beta-start', '0.00001', ...TINY, '--out', 'hybrid'], cwd),
    ddpm(['train', '--data', 'colored-mnist', '--task', 'colorize', ...TINY, '--out', 'colorize'], cwd),
    ddpm(['train', '--data', 'mnist', '--task', 'superres', ...TINY, '--out', 'superres'], cwd),
    ddpm(['train', '--data', 'colored-mnist-attributes', '--class-cond', '--cond-drop', '0.2', ...TINY, '--out', 'attributes'], cwd),
    ddpm(['train', '--data', 'moons', '--batch', '16', '--steps', '3', '--sample-every', '0', '--zero-snr', '--prediction', 'v_prediction', '--out', 'toy'], cwd),
    picture('grey.png', 28, 1), picture('small.png', 14, 1), picture('rgb.png', 28, 3),
  ]);
  for (const run of runs) if (run) assert.is(run.code, 0, run.stderr);
  const info = await ddpm(['info', join('hybrid', 'model.safetensors')], cwd);
  for (const part of ['outChannels 2', 'varianceType learned_range', 'betaStart 0.00001', 'loss hybrid', 'timestepSampling importance', 'snrGamma 5', 'noiseOffset 0.1']) {
    assert.ok(info.stdout.includes(part), `${part} in: ${info.stdout}`);
  }
  const superres = await ddpm(['info', join('superres', 'model.safetensors')], cwd);
  assert.ok(superres.stdout.includes('conditioned (superres) on images [1, 14, 14]') && superres.stdout.includes('conditionChannels 1'), superres.stdout);
  const toy = await ddpm(['info', join('toy', 'model.safetensors')], cwd);
  assert.ok(toy.stdout.includes('rescaleBetasZeroSnr true') && toy.stdout.includes('timestepSpacing trailing'), toy.stdout);
});

test('--resume keeps the options: the run continues with none of them given again', async () => {
  const resumed = await ddpm(['train', '--out', 'hybrid', '--resume', '--steps', '3', '--workers', '2'], cwd);
  assert.is(resumed.code, 0, resumed.stderr);
  await expectErrors(cwd, [[['train', '--out', 'hybrid', '--resume', '--steps', '4', '--snr-gamma', '1'], '--resume', '--snr-gamma 5', '--snr-gamma 1']]);
});

test('a learned-variance model: ddpm (its variance) and the deterministic samplers; the others refused in one line', async () => {
  const model = ['--model', join('hybrid', 'model.safetensors'), '--class', '3', '--num', '2', '--steps', '3'];
  const runs = await Promise.all(['ddpm', 'ddim', 'dpmsolver++', 'pf-ode'].map((sampler, i) => ddpm(['sample', ...model, '--sampler', sampler, '--out', `learned-${i}.npy`], cwd)));
  runs.forEach((run, i) => {
    assert.is(run.code, 0, run.stderr);
    assert.equal(npy(`learned-${i}.npy`).shape, [2, 1, 28, 28]);
  });
  const ignores = 'a learned-variance model sampled with a scheduler that ignores variance';
  await expectErrors(cwd, [
    [['sample', ...model, '--sampler', 'ddim', '--eta', '0.5', '--out', 'x.png'], '--sampler ddim --eta 0.5', ignores],
    [['sample', ...model, '--sampler', 'euler-ancestral', '--out', 'x.png'], '--sampler euler-ancestral', ignores],
    [['sample', ...model, '--sampler', 'sde-pc', '--out', 'x.png'], '--sampler sde-pc', ignores],
  ]);
});

test('--sampler sde-pc and pf-ode: the score-SDE samplers on the toy', async () => {
  const model = ['--model', join('toy', 'model.safetensors'), '--num', '6', '--steps', '5'];
  const runs = await Promise.all(['sde-pc', 'pf-ode'].map((sampler) => ddpm(['sample', ...model, '--sampler', sampler, '--out', `${sampler}.npy`], cwd)));
  runs.forEach((run, i) => {
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`${['SDE-PC', 'PF-ODE'][i]} 5 steps`));
    const { data, shape } = npy(`${['sde-pc', 'pf-ode'][i]}.npy`);
    assert.equal(shape, [6, 2]);
    assert.ok(data.every(Number.isFinite));
  });
  const help = await ddpm(['sample', '--help'], cwd);
  assert.ok(help.stdout.includes('sde-pc') && help.stdout.includes('probability-flow ODE'), help.stdout);
});

test('--cond-image: a grey digit to colour, a 14x14 image to enlarge (PNG or .npy); wrong sizes and channels in one line', async () => {
  writeFileSync(join(cwd, 'small.npy'), encodeNpy(new Float32Array(3 * 14 * 14).fill(0.5), [3, 1, 14, 14]));
  const runs = await Promise.all([
    ddpm(['sample', '--model', join('colorize', 'model.safetensors'), '--cond-image', 'grey.png', '--num', '2', '--steps', '2', '--out', 'colored.npy'], cwd),
    ddpm(['sample', '--model', join('superres', 'model.safetensors'), '--cond-image', 'small.png', '--steps', '2', '--num', '1', '--out', 'large.npy'], cwd),
    ddpm(['sample', '--model', join('superres', 'model.safetensors'), '--cond-image', 'small.npy', '--steps', '2', '--out', 'large3.npy'], cwd),
    ddpm(['sample', '--model', join('colorize', 'model.safetensors'), '--cond-image', 'grey.png', '--num', '2', '--steps', '2', '--out', 'colored.png'], cwd),
  ]);
  for (const run of runs) assert.is(run.code, 0, run.stderr);
  assert.equal(npy('colored.npy').shape, [2, 3, 28, 28]);
  assert.equal(npy('large.npy').shape, [1, 1, 28, 28]);
  assert.equal(npy('large3.npy').shape, [3, 1, 28, 28], 'one sample per image of the .npy');
  const colorize = ['sample', '--model', join('colorize', 'model.safetensors'), '--steps', '2', '--out', 'x.png'];
  await expectErrors(cwd, [
    [[...colorize, '--cond-image', 'small.png'], '--cond-image small.png is 14x14', 'takes 28x28 grey digits to colour'],
    [[...colorize, '--cond-image', 'rgb.png'], '--cond-image rgb.png has 3 channels (colour)', 'a grey (1-channel) image'],
    [[...colorize, '--cond-image', 'missing.png'], '--cond-image missing.png: no such file'],
    [colorize, '--cond-image is required', 'colorize', '28x28'],
    [['sample', '--model', join('superres', 'model.safetensors'), '--cond-image', 'grey.png', '--out', 'x.png'], '--cond-image grey.png is 28x28', 'takes 14x14'],
    [['sample', '--model', join('superres', 'model.safetensors'), '--cond-image', 'small.npy', '--num', '2', '--out', 'x.png'], 'holds 3 images', '--num 2 needs 1 (for every sample) or 2'],
    [['sample', '--model', join('toy', 'model.safetensors'), '--cond-image', 'grey.png', '--out', 'x.png'], '--cond-image grey.png: the model takes no conditioning image'],
    [['eval', '--model', join('colorize', 'model.safetensors'), '--nll'], '--nll: the model is conditioned on images (colorize)'],
  ]);
});

test('labels per attribute: --color alone is "any digit", a weight per attribute composes', async () => {
  const model = ['--model', join('attributes', 'model.safetensors'), '--steps', '2'];
  const runs = await Promise.all([
    ddpm(['sample', ...model, '--color', 'red', '--num', '3', '--out', 'red.npy'], cwd),
    ddpm(['sample', ...model, '--class', '7', '--color', 'red', '--class-guidance', '3', '--color-guidance', '2', '--num', '2', '--out', 'red7.npy'], cwd),
    ddpm(['sample', ...model, '--class', '7', '--guidance', '2', '--num', '2', '--out', 'seven.png'], cwd),
    ddpm(['sample', ...model, '--out', 'pairs.npy'], cwd),
  ]);
  for (const run of runs) assert.is(run.code, 0, run.stderr);
  assert.equal(npy('red.npy').shape, [3, 3, 28, 28]);
  assert.equal(npy('pairs.npy').shape, [60, 3, 28, 28], 'with neither flag: every (digit, color) pair');
  await expectErrors(cwd, [
    [['sample', ...model, '--color', 'purple', '--out', 'x.png'], '--color purple', 'red, green, blue'],
    [['sample', '--model', join('hybrid', 'model.safetensors'), '--class', '3', '--class-guidance', '2', '--out', 'x.png'], '--class-guidance', 'labels per attribute'],
  ]);
});

test('with the editing and the UniPC default: learned and conditioned models sample with UniPC and edit with --init; what cannot serve is one line', async () => {
  const [hybrid, colorize] = [join('hybrid', 'model.safetensors'), join('colorize', 'model.safetensors')];
  const runs = await Promise.all([
    ddpm(['sample', '--model', hybrid, '--class', '3', '--num', '2', '--out', 'unipc-learned.npy'], cwd),
    ddpm(['sample', '--model', colorize, '--cond-image', 'grey.png', '--num', '2', '--out', 'unipc-colorize.npy'], cwd),
    ddpm(['sample', '--model', colorize, '--cond-image', 'grey.png', '--init', 'rgb.png', '--strength', '0.5', '--num', '2', '--steps', '4', '--out', 'edit-colorize.npy'], cwd),
    ddpm(['sample', '--model', hybrid, '--class', '3', '--init', 'grey.png', '--strength', '0.5', '--sampler', 'ddpm', '--steps', '4', '--num', '1', '--out', 'edit-learned.npy'], cwd),
  ]);
  for (const run of runs) assert.is(run.code, 0, run.stderr);
  assert.match(runs[0].stdout, /UNIPC 10 steps/);
  assert.match(runs[1].stdout, /UNIPC 10 steps/);
  assert.equal(npy('unipc-learned.npy').shape, [2, 1, 28, 28]);
  assert.equal(npy('edit-colorize.npy').shape, [2, 3, 28, 28]);
  assert.equal(npy('edit-learned.npy').shape, [1, 1, 28, 28]);
  await expectErrors(cwd, [
    [['sample', '--model', hybrid, '--class', '3', '--init', 'grey.png', '--mask', 'grey.png', '--out', 'x.png'], '--mask grey.png', 'predicts its own (learned_range)', '--strength'],
    [['sample', '--model', hybrid, '--class', '3', '--sampler', 'pf-ode', '--init', 'grey.png', '--out', 'x.png'], '--init grey.png', 'img2img', '--sampler pf-ode'],
    [['interpolate', '--model', colorize, '--from-seed', '1', '--to-seed', '2', '--out', 'x.png'], 'conditioned on an image (colorize)', 'ddpm interpolate'],
  ]);
});

test('eval --nll --steps: the respaced bound of a learned-variance model', async () => {
  const run = await ddpm(['eval', '--model', join('hybrid', 'model.safetensors'), '--nll', '--num', '2', '--steps', '10', '--json'], cwd);
  assert.is(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.ok(Number.isFinite(report.bitsPerDim) && report.num === 2, run.stdout);
  await expectErrors(cwd, [[['eval', '--model', join('hybrid', 'model.safetensors'), '--nll', '--steps', '2000'], '--steps 2000', 'at most 1000']]);
});

test('the shipped attribute model by name: anything red', async () => {
  const result = await ddpm(['sample', '--model', 'colored-mnist-attributes', '--color', 'red', '--num', '2', '--steps', '2', '--out', 'red.png'], cwd);
  assert.is(result.code, 0, result.stderr);
  assert.ok(existsSync(join(cwd, 'red.png')));
});

test('train: combinations with no meaning are refused in one line, before --out is touched', async () => {
  await expectErrors(cwd, [
    [['train', '--data', 'mnist', '--loss', 'hybrid', '--out', 'e1'], '--loss hybrid trains the variance', '--variance learned-range'],
    [['train', '--data', 'mnist', '--variance', 'learned-range', '--loss', 'simple', '--out', 'e2'], '--loss simple', '--loss hybrid'],
    [['train', '--data', 'mnist', '--task', 'colorize', '--out', 'e3'], '--task colorize', '--data colored-mnist'],
    [['train', '--data', 'mnist', '--zero-snr', '--prediction', 'epsilon', '--out', 'e4'], '--zero-snr with --prediction epsilon'],
    [['train', '--data', 'mnist', '--schedule', 'cosine', '--beta-start', '0.00001', '--out', 'e5'], '--beta-start applies to --schedule linear'],
    [['train', '--data', 'moons', '--variance', 'learned-range', '--out', 'e6'], '--variance learned-range needs a U-Net'],
    [['train', '--data', 'moons', '--task', 'superres', '--out', 'e7'], '--task applies to images'],
    [['train', '--data', 'mnist', '--snr-gamma', '-1', '--out', 'e8'], '--snr-gamma'],
  ]);
});

test.after(() => temp.remove());
test.run();
