/**
 * Bad input to the real `ddpm` command: each case exits non-zero with one line on stderr that names the flag or
 * the file and what is allowed, and no stack trace unless --verbose.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ddpm, ensureBuilt, expectErrors, oneLineError, tempFolder } from './helpers.ts';

ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;

/** A small PNG: a white square with a coloured disc. */
async function picture(path: string, color: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="12" height="12"><rect width="12" height="12" fill="white"/><circle cx="6" cy="6" r="4" fill="${color}"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}

test('bad numbers and choices are refused before anything runs, naming the flag and what is allowed', async () => {
  await expectErrors(cwd, [
    [['train', '--data', 'gaussian8', '--out', 'r', '--steps', '0'], "'--steps <n>'", "'0'", 'integer >= 1'],
    [['train', '--data', 'gaussian8', '--out', 'r', '--steps', '-5'], "'--steps <n>'", "'-5'", 'integer >= 1'],
    [['train', '--data', 'gaussian8', '--out', 'r', '--batch', '2.5'], "'--batch <b>'", 'integer >= 1'],
    [['train', '--data', 'gaussian8', '--out', 'r', '--lr', '-1'], "'--lr <x>'", 'positive number'],
    [['train', '--data', 'gaussian8', '--out', 'r', '--workers', '9'], "'--workers <n>'", 'from 1 to 4'],
    [['train', '--data', 'gaussian8', '--out', 'r', '--schedule', 'cubic'], "'cubic'", 'linear, cosine'],
    [['train', '--data', 'gaussian8', '--out', 'r', '--prediction', 'x0'], 'epsilon, sample, v_prediction'],
    [['sample', '--model', 'm.safetensors', '--out', 's.png', '--sampler', 'eulr'], "'eulr'", 'ddim, ddpm, dpmsolver++, unipc, euler, euler-ancestral, heun'],
    [['sample', '--model', 'm.safetensors', '--out', 's.png', '--num', '0'], "'--num <n>'"],
  ]);
});

test('unknown flags and commands are refused with a suggestion or the list of options', async () => {
  await expectErrors(cwd, [
    [['train', '--data', 'gaussian8', '--out', 'r', '--stpes', '3'], "unknown option '--stpes'", '--steps'],
    [['train', '--data', 'gaussian8', '--out', 'r', '--frobnicate'], "'--frobnicate'", '--data', '--resume'],
    [['smaple'], "unknown command 'smaple'", 'sample'],
  ]);
});

test('combinations that do not fit the data are refused', async () => {
  await expectErrors(cwd, [
    [['train', '--data', 'gaussian8', '--out', 'r', '--class-cond'], '--class-cond', 'gaussian8 has no classes'],
    [['train', '--data', 'moons', '--out', 'r', '--model', 'unet'], '--model unet', '--model mlp'],
    [['train', '--data', 'swissroll', '--out', 'r', '--image-size', '32'], '--image-size', 'images'],
    [['train', '--out', 'r'], '--data is required', 'gaussian8'],
  ]);
});

test('a missing data folder, a file instead of a folder, a folder with no images, bad model files', async () => {
  writeFileSync(join(cwd, 'notes.txt'), 'hello');
  mkdirSync(join(cwd, 'empty'));
  writeFileSync(join(cwd, 'empty', 'readme.txt'), 'no pictures here');
  writeFileSync(join(cwd, 'text.safetensors'), 'this is not a model');
  await expectErrors(cwd, [
    [['train', '--data', 'no-such-folder', '--out', 'r'], '--data no-such-folder', 'no such folder', 'gaussian8'],
    [['train', '--data', 'notes.txt', '--out', 'r'], '--data notes.txt', 'not a folder'],
    [['train', '--data', 'empty', '--out', 'r'], '--data empty', 'holds no pictures', '.png'],
    [['sample', '--model', 'text.safetensors', '--out', 's.png'], 'text.safetensors', 'not a valid safetensors file'],
    [['info', 'text.safetensors'], 'text.safetensors'],
    [['sample', '--model', 'absent.safetensors', '--out', 's.png'], 'absent.safetensors', 'no such file'],
  ]);
});

test('an unreadable data folder; an image that fails to decode is skipped with a warning naming it', async () => {
  mkdirSync(join(cwd, 'locked'));
  await picture(join(cwd, 'locked', 'a.png'), 'red');
  chmodSync(join(cwd, 'locked'), 0o000);
  mkdirSync(join(cwd, 'pictures'));
  await picture(join(cwd, 'pictures', 'a.png'), 'red');
  await picture(join(cwd, 'pictures', 'b.png'), 'blue');
  writeFileSync(join(cwd, 'pictures', 'broken.png'), 'this is not a PNG');
  const tiny = ['--image-size', '8', '--channels', '8', '--batch', '2', '--steps', '1', '--sample-every', '0'];
  try {
    const [locked, skipped, toy] = await Promise.all([
      ddpm(['train', '--data', 'locked', ...tiny, '--out', 'locked-run'], cwd),
      ddpm(['train', '--data', 'pictures', ...tiny, '--out', 'pics'], cwd),
      ddpm(['train', '--data', 'gaussian8', '--batch', '8', '--steps', '2', '--sample-every', '0', '--out', 'toy'], cwd),
    ]);
    // root reads any folder, whatever its mode: then the run simply works.
    if (process.getuid?.() === 0) assert.is(locked.code, 0, locked.stderr);
    else oneLineError(locked, '--data locked', 'permission denied');
    assert.is(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stderr, /warning: skipped .*broken\.png: it cannot be decoded/);
    assert.match(skipped.stdout, /\(2 samples\)/);
    assert.is(toy.code, 0, toy.stderr);
  } finally {
    chmodSync(join(cwd, 'locked'), 0o755);
  }
});

test('a truncated model file', async () => {
  const bytes = readFileSync(join(cwd, 'toy', 'model.safetensors'));
  writeFileSync(join(cwd, 'half.safetensors'), bytes.subarray(0, bytes.length >> 1));
  oneLineError(await ddpm(['sample', '--model', 'half.safetensors', '--out', 's.png'], cwd), 'half.safetensors', 'truncated');
});

test('asking a model for classes, colors or guidance it was not trained with', async () => {
  const model = ['--model', join('toy', 'model.safetensors'), '--out', 's.png'];
  await expectErrors(cwd, [
    [['sample', ...model, '--class', '7'], '--class 7', "'gaussian8'", 'unconditional'],
    [['sample', ...model, '--color', 'red'], '--color red', "'gaussian8'"],
    [['sample', ...model, '--guidance', '3'], '--guidance 3', 'class-conditional'],
    [['sample', ...model, '--steps', '5000'], '--steps 5000', 'at most 1000 sampling steps'],
    [['sample', ...model, '--sampler', 'ddpm', '--eta', '0.5'], '--eta', 'ddim'],
    [['sample', ...model, '--sampler', 'dpmsolver++', '--steps', '1'], '--steps 1', 'dpmsolver++', 'order 2', 'allowed: 2..1000'],
    [['sample', ...model, '--sampler', 'heun', '--steps', '1001'], '--steps 1001', 'at most 1000 sampling steps'],
    [['sample', ...model, '--sampler', 'euler-ancestral', '--karras'], '--karras', 'dpmsolver++, unipc, euler, heun', 'euler-ancestral'],
    [['sample', '--model', join('toy', 'model.safetensors'), '--out', 'samples.jpg'], 'samples.jpg', '.png or .npy'],
  ]);
});

test('output paths under a file: refused before any work, naming the flag and the file in the way', async () => {
  writeFileSync(join(cwd, 'notes.md'), 'a file, not a folder\n');
  const under = (path: string) => join('notes.md', 'deeper', path);
  await expectErrors(cwd, [
    [['sample', '--model', join('toy', 'model.safetensors'), '--out', under('s.png')], '--out', 'notes.md is a file, not a folder'],
    [['sample', '--model', join('toy', 'model.safetensors'), '--out', 's.png', '--animate', under('a.gif')], '--animate', 'notes.md is a file'],
    [['train', '--data', 'gaussian8', '--out', under('run')], '--out', 'notes.md is a file, not a folder'],
    [['train-classifier', '--data', 'mnist', '--out', under('c.safetensors')], '--out', 'notes.md is a file'],
    [['export', '--model', join('toy', 'model.safetensors'), '--format', 'diffusers', '--out', under('d')], '--out', 'notes.md is a file'],
  ]);
  assert.is(readFileSync(join(cwd, 'notes.md'), 'utf8'), 'a file, not a folder\n');
});

test('--verbose adds the stack trace', async () => {
  const result = await ddpm(['sample', '--model', 'text.safetensors', '--out', 's.png', '--verbose'], cwd);
  assert.is.not(result.code, 0);
  assert.ok(result.stderr.trim().split('\n').length > 1, result.stderr);
  assert.match(result.stderr, /\n\s+at /);
});

test.after(() => temp.remove());
test.run();
