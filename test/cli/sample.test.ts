/**
 * `ddpm sample`, `info`, `train-classifier`, `demo` and every command's --help, run for real on tiny models: a
 * 2-D toy MLP, and small U-Nets (--channels 8,8) on mnist at 32x32 (padded digits) and colored-mnist, trained for
 * a step or two (the pictures are noise; the tests check shapes, files and messages, not quality).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeNpy } from '../../bindings/io/npy.ts';
import { ddpm, ensureBuilt, expectErrors, ROOT, tempFolder } from './helpers.ts';

ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;
const TINY = ['--channels', '8,8', '--batch', '4', '--steps', '2', '--sample-every', '0'];

const isPng = (path: string) => readFileSync(join(cwd, path)).subarray(1, 4).toString() === 'PNG';
const isGif = (path: string) => readFileSync(join(cwd, path)).subarray(0, 4).toString() === 'GIF8';

test('setup: train the tiny models', async () => {
  const runs = await Promise.all([
    ddpm(['train', '--data', 'moons', '--batch', '16', '--steps', '5', '--sample-every', '0', '--out', 'toy'], cwd),
    ddpm(['train', '--data', 'mnist', '--class-cond', '--image-size', '32', ...TINY, '--out', 'digits'], cwd),
    ddpm(['train', '--data', 'colored-mnist', '--class-cond', ...TINY, '--out', 'colored'], cwd),
  ]);
  for (const run of runs) assert.is(run.code, 0, run.stderr);
});

test('the default sampler: UniPC in 10 steps for images, DDIM in 50 for points; --steps alone keeps UniPC', async () => {
  const digits = ['--model', join('digits', 'model.safetensors'), '--class', '4', '--num', '1'];
  const [images, imagesSteps, points] = await Promise.all([
    ddpm(['sample', ...digits, '--out', 'default-images.npy'], cwd),
    ddpm(['sample', ...digits, '--steps', '3', '--out', 'default-images-3.npy'], cwd),
    ddpm(['sample', '--model', join('toy', 'model.safetensors'), '--num', '3', '--out', 'default-points.npy'], cwd),
  ]);
  for (const run of [images, imagesSteps, points]) assert.is(run.code, 0, run.stderr);
  assert.match(images.stdout, /UNIPC 10 steps/);
  assert.match(imagesSteps.stdout, /UNIPC 3 steps/);
  assert.match(points.stdout, /DDIM 50 steps/);
});

test('every sampler: --sampler dpmsolver++ --karras, unipc, euler, euler-ancestral, heun write finite samples', async () => {
  const toy = ['--model', join('toy', 'model.safetensors'), '--steps', '3', '--num', '5'];
  const digits = ['--model', join('digits', 'model.safetensors'), '--steps', '2', '--class', '4', '--num', '2', '--guidance', '2'];
  const runs: [string[], string, number[]][] = [
    [[...toy, '--sampler', 'dpmsolver++', '--karras'], 'DPMSOLVER++ Karras 3 steps', [5, 2]],
    [[...toy, '--sampler', 'unipc'], 'UNIPC 3 steps', [5, 2]],
    [[...toy, '--sampler', 'euler'], 'EULER 3 steps', [5, 2]],
    [[...toy, '--sampler', 'euler-ancestral'], 'EULER-ANCESTRAL 3 steps', [5, 2]],
    [[...toy, '--sampler', 'heun', '--karras'], 'HEUN Karras 3 steps', [5, 2]],
    [[...digits, '--sampler', 'dpmsolver++'], 'DPMSOLVER++ 2 steps', [2, 1, 28, 28]],
  ];
  const results = await Promise.all(runs.map(([flags], i) => ddpm(['sample', ...flags, '--out', `solver-${i}.npy`], cwd)));
  results.forEach((run, i) => {
    assert.is(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(runs[i][1]), run.stdout);
    const { data, shape } = decodeNpy(readFileSync(join(cwd, `solver-${i}.npy`)));
    assert.equal(shape, runs[i][2]);
    assert.ok(data.every(Number.isFinite), `solver-${i}.npy is finite`);
  });
  const help = await ddpm(['sample', '--help'], cwd);
  for (const name of ['dpmsolver++', 'unipc', 'euler-ancestral', 'heun', 'DPM-Solver++ 2M', 'two model evaluations']) assert.ok(help.stdout.includes(name), name);
});

test('2-D samples as a scatter plot, a .npy of [N, 2] and an animation', async () => {
  const model = ['--model', join('toy', 'model.safetensors'), '--steps', '4'];
  const [png, npy] = await Promise.all([
    ddpm(['sample', ...model, '--out', 'toy.png', '--animate', 'toy.gif'], cwd),
    ddpm(['sample', ...model, '--out', 'toy.npy', '--num', '7', '--seed', '3'], cwd),
  ]);
  assert.is(png.code, 0, png.stderr);
  assert.match(png.stdout, /wrote toy\.png: 2000 points/);
  assert.ok(isPng('toy.png'));
  assert.ok(isGif('toy.gif'));
  assert.is(npy.code, 0, npy.stderr);
  const { data, shape } = decodeNpy(readFileSync(join(cwd, 'toy.npy')));
  assert.equal(shape, [7, 2]);
  assert.ok(data.every(Number.isFinite));
});

test('digit samples as .npy are [N, C, 28, 28] in [0, 1], padding cropped', async () => {
  const [grey, colored] = await Promise.all([
    ddpm(['sample', '--model', join('digits', 'model.safetensors'), '--class', '3', '--num', '3', '--steps', '2', '--out', 'threes.npy'], cwd),
    ddpm(['sample', '--model', join('colored', 'model.safetensors'), '--class', '7', '--color', 'red', '--num', '2', '--steps', '2', '--out', 'red7.npy'], cwd),
  ]);
  assert.is(grey.code, 0, grey.stderr);
  assert.is(colored.code, 0, colored.stderr);
  const threes = decodeNpy(readFileSync(join(cwd, 'threes.npy')));
  assert.equal(threes.shape, [3, 1, 28, 28]);
  assert.ok(threes.data.every((x) => x >= 0 && x <= 1));
  assert.equal(decodeNpy(readFileSync(join(cwd, 'red7.npy'))).shape, [2, 3, 28, 28]);
});

test('--workers 2 writes the same bytes as one thread; an animation needs one thread', async () => {
  const model = ['--model', join('digits', 'model.safetensors'), '--class', '5', '--num', '5', '--batch', '2', '--steps', '2', '--guidance', '2'];
  const [one, two, animated] = await Promise.all([
    ddpm(['sample', ...model, '--out', 'one-thread.npy'], cwd),
    ddpm(['sample', ...model, '--workers', '2', '--out', 'two-threads.npy'], cwd),
    ddpm(['sample', ...model, '--workers', '2', '--out', 'animated.png', '--animate', 'animated.gif'], cwd),
  ]);
  assert.is(one.code, 0, one.stderr);
  assert.is(two.code, 0, two.stderr);
  assert.equal(readFileSync(join(cwd, 'two-threads.npy')), readFileSync(join(cwd, 'one-thread.npy')));
  assert.is.not(animated.code, 0);
  assert.match(animated.stderr, /--workers/);
  assert.not.ok(existsSync(join(cwd, 'animated.png')));
});

test('--convolutions: winograd by default, the same bytes on 2 threads as on one; direct rounds otherwise; other kinds are refused', async () => {
  const model = ['--model', join(ROOT, 'models', 'mnist.safetensors'), '--class', '3', '--num', '3', '--steps', '2'];
  const [byDefault, one, two, direct, bad] = await Promise.all([
    ddpm(['sample', ...model, '--out', 'default.npy'], cwd),
    ddpm(['sample', ...model, '--convolutions', 'winograd', '--out', 'winograd-one.npy'], cwd),
    ddpm(['sample', ...model, '--convolutions', 'winograd', '--workers', '2', '--out', 'winograd-two.npy'], cwd),
    ddpm(['sample', ...model, '--convolutions', 'direct', '--out', 'direct.npy'], cwd),
    ddpm(['sample', ...model, '--convolutions', 'fast', '--out', 'fast.npy'], cwd),
  ]);
  for (const run of [byDefault, one, two, direct]) assert.is(run.code, 0, run.stderr);
  assert.equal(readFileSync(join(cwd, 'default.npy')), readFileSync(join(cwd, 'winograd-one.npy')));
  assert.equal(readFileSync(join(cwd, 'winograd-two.npy')), readFileSync(join(cwd, 'winograd-one.npy')));
  assert.not.equal(readFileSync(join(cwd, 'direct.npy')), readFileSync(join(cwd, 'winograd-one.npy')));
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /option '--convolutions <kind>' argument 'fast' is invalid\. Allowed choices are direct, winograd/);
  assert.not.ok(existsSync(join(cwd, 'fast.npy')));
});

test('class-conditional grids: every class in turn, or one class, one color, or a class name', async () => {
  const digits = ['--model', join('digits', 'model.safetensors'), '--steps', '2'];
  const colored = ['--model', join('colored', 'model.safetensors'), '--steps', '2'];
  const results = await Promise.all([
    ddpm(['sample', ...digits, '--out', 'all.png', '--guidance', '2', '--animate', 'all.gif'], cwd),
    ddpm(['sample', ...colored, '--color', 'blue', '--out', 'blue.png'], cwd),
    ddpm(['sample', ...colored, '--class', '7 green', '--num', '2', '--out', 'green7.png'], cwd),
  ]);
  for (const result of results) assert.is(result.code, 0, result.stderr);
  assert.match(results[0].stdout, /wrote all\.png: 10 images/);
  assert.match(results[1].stdout, /wrote blue\.png: 10 images/);
  assert.match(results[2].stdout, /wrote green7\.png: 2 images/);
  assert.ok(isPng('all.png') && isGif('all.gif') && isPng('blue.png'));
});

test('classes and colors that do not exist, or that the model does not know', async () => {
  const digits = ['--model', join('digits', 'model.safetensors'), '--out', 'x.png'];
  const colored = ['--model', join('colored', 'model.safetensors'), '--out', 'x.png'];
  await expectErrors(cwd, [
    [['sample', ...digits, '--class', '12'], '--class 12', 'no such class', '0-9'],
    [['sample', ...digits, '--color', 'red'], '--color red', 'colored-mnist', "'mnist'"],
    [['sample', ...colored, '--color', 'pink'], '--color pink', 'red, green, blue'],
    [['sample', ...colored, '--class', '11'], '--class 11', 'digits 0-9'],
    [['sample', '--model', join('toy', 'model.safetensors'), '--out', 'x.png', '--class', '0'], '--class 0', "'moons'"],
  ]);
});

test('classifier guidance: train-classifier, then sample with --classifier', async () => {
  const trained = await ddpm(['train-classifier', '--data', 'mnist', '--image-size', '32', '--channels', '8,8', '--batch', '4', '--steps', '2', '--out', 'clf.safetensors'], cwd);
  assert.is(trained.code, 0, trained.stderr);
  const [guided, mismatch, again] = await Promise.all([
    ddpm(['sample', '--model', join('digits', 'model.safetensors'), '--classifier', 'clf.safetensors', '--classifier-scale', '2', '--class', '5', '--num', '2', '--steps', '2', '--out', 'guided.png'], cwd),
    ddpm(['sample', '--model', join('toy', 'model.safetensors'), '--classifier', 'clf.safetensors', '--class', '5', '--out', 'x.png'], cwd),
    ddpm(['train-classifier', '--data', 'mnist', '--out', 'clf.safetensors'], cwd),
  ]);
  assert.is(guided.code, 0, guided.stderr);
  assert.ok(isPng('guided.png'));
  assert.match(mismatch.stderr, /--classifier clf\.safetensors takes samples \[1, 32, 32\], the model makes \[2\]/);
  assert.match(again.stderr, /already exists/);
});

test('info describes a model and a training state', async () => {
  const [model, state] = await Promise.all([ddpm(['info', join('toy', 'model.safetensors')], cwd), ddpm(['info', join('digits', 'training-state.safetensors')], cwd)]);
  assert.is(model.code, 0, model.stderr);
  for (const part of ['mlp', 'parameters', 'moons, samples [2], no classes', '5 steps', 'numTrainTimesteps 100', 'batchSize 16']) assert.ok(model.stdout.includes(part), part);
  assert.is(state.code, 0, state.stderr);
  for (const part of ['training state', 'unet2d', 'blockOutChannels [8, 8]', 'mnist, samples [1, 32, 32], 10 classes', '2 steps']) assert.ok(state.stdout.includes(part), part);
});

test('a shipped model by name: sampled when present, else reported missing', async () => {
  const result = await ddpm(['sample', '--model', 'mnist', '--class', '1', '--num', '1', '--steps', '2', '--out', 'shipped.png'], cwd);
  if (existsSync(join(ROOT, 'models', 'mnist.safetensors'))) assert.is(result.code, 0, result.stderr);
  else assert.match(result.stderr, /^ddpm sample: --model mnist: the shipped model 'mnist' is missing/);
});

test('the demo trains and samples the toy, then draws digits from the models it finds, or says they are missing', async () => {
  mkdirSync(join(cwd, 'models'));
  copyFileSync(join(cwd, 'digits', 'model.safetensors'), join(cwd, 'models', 'mnist.safetensors'));
  const [withModels, without] = await Promise.all([
    ddpm(['demo', '--out', 'demo', '--train-seconds', '1', '--sample-steps', '2', '--models', 'models'], cwd),
    ddpm(['demo', '--out', 'demo2', '--train-seconds', '1', '--sample-steps', '2', '--models', 'no-models-here'], cwd),
  ]);
  assert.is(withModels.code, 0, withModels.stderr);
  assert.ok(isPng(join('demo', 'gaussian8.png')) && isPng(join('demo', 'gaussian8', 'loss.png')));
  assert.match(withModels.stdout, /wrote demo\/mnist-digits\.png: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 \(mnist, DDIM 2 steps/);
  assert.ok(isPng(join('demo', 'mnist-digits.png')));
  assert.match(withModels.stdout, /colored-mnist\.safetensors is not there yet/);
  assert.match(withModels.stdout, /wrote demo\/sevens\.png: 16 images from .*DDIM 2 steps, guidance 3/);
  assert.ok(isPng(join('demo', 'sevens.png')) && isGif(join('demo', 'denoise-sevens.gif')));
  assert.match(withModels.stdout, /Pictures:\n {2}demo\/gaussian8\/loss\.png\n {2}demo\/gaussian8\.png\n {2}demo\/mnist-digits\.png\n {2}demo\/sevens\.png\n {2}demo\/denoise-sevens\.gif\n/);
  assert.is(without.code, 0, without.stderr);
  assert.match(without.stdout, /mnist\.safetensors is not there yet/);
});

test('a class-conditional model samples with guidance 3 unless --guidance says otherwise; an unconditional one with none', async () => {
  const digits = ['sample', '--model', join('digits', 'model.safetensors'), '--steps', '2', '--class', '4', '--num', '2'];
  const [plain, three, one, toy] = await Promise.all([
    ddpm([...digits, '--out', 'default-guidance.npy'], cwd),
    ddpm([...digits, '--guidance', '3', '--out', 'guidance-3.npy'], cwd),
    ddpm([...digits, '--guidance', '1', '--out', 'guidance-1.npy'], cwd),
    ddpm(['sample', '--model', join('toy', 'model.safetensors'), '--steps', '2', '--num', '3', '--out', 'toy-default.npy'], cwd),
  ]);
  for (const run of [plain, three, one, toy]) assert.is(run.code, 0, run.stderr);
  assert.match(plain.stdout, /UNIPC 2 steps, guidance 3,/);
  assert.not.match(one.stdout, /steps, guidance/);
  assert.not.match(toy.stdout, /steps, guidance/);
  const bytes = (file: string) => readFileSync(join(cwd, file));
  assert.ok(bytes('default-guidance.npy').equals(bytes('guidance-3.npy')), 'no --guidance samples as --guidance 3');
  assert.not.ok(bytes('default-guidance.npy').equals(bytes('guidance-1.npy')), '--guidance 1 samples without guidance');
});

test('every command has --help with examples', async () => {
  const commands = [[], ['train'], ['sample'], ['train-classifier'], ['info'], ['bench'], ['verify'], ['demo']];
  const results = await Promise.all(commands.map((c) => ddpm([...c, '--help'], cwd)));
  results.forEach((result, i) => {
    assert.is(result.code, 0, commands[i].join(' '));
    assert.match(result.stdout, /Examples:\n {2}/, commands[i].join(' '));
  });
});

test.after(() => temp.remove());
test.run();
