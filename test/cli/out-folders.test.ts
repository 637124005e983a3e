/**
 * Every command that writes files creates the folders of its --out (and --animate) with their parents, once its
 * inputs are checked: a command refused for a bad input creates nothing. The run folder's lock and atomic
 * writes are unchanged (test/cli/robustness.test.ts), so a new nested run folder holds exactly the run's files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ddpm, ensureBuilt, oneLineError, tempFolder } from './helpers.ts';

ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;

test('train, sample (with --animate), export and train-classifier create the folders they write into', async () => {
  const train = await ddpm(['train', '--data', 'gaussian8', '--batch', '16', '--steps', '3', '--sample-every', '0', '--out', join('runs', '2024', 'ring')], cwd);
  assert.is(train.code, 0, train.stderr);
  assert.equal(readdirSync(join(cwd, 'runs', '2024', 'ring')).sort(), ['loss.csv', 'loss.png', 'model.safetensors', 'samples.png', 'training-state.safetensors']);
  const [sample, exported, classifier] = await Promise.all([
    ddpm(['sample', '--model', join('runs', '2024', 'ring', 'model.safetensors'), '--num', '20', '--steps', '3',
      '--out', join('pictures', 'ring', 'samples.png'), '--animate', join('animations', 'ring', 'denoise.gif')], cwd),
    ddpm(['export', '--model', 'mnist', '--format', 'diffusers', '--out', join('exports', 'digits', 'mnist')], cwd),
    ddpm(['train-classifier', '--data', 'mnist', '--channels', '8,8', '--steps', '2', '--batch', '8', '--out', join('judges', 'small', 'c.safetensors')], cwd),
  ]);
  for (const result of [sample, exported, classifier]) assert.is(result.code, 0, result.stderr);
  for (const file of [['pictures', 'ring', 'samples.png'], ['animations', 'ring', 'denoise.gif'], ['exports', 'digits', 'mnist', 'model_index.json'], ['judges', 'small', 'c.safetensors']]) {
    assert.ok(existsSync(join(cwd, ...file)), join(...file));
  }
});

test('a command refused for its input creates no folder', async () => {
  oneLineError(await ddpm(['sample', '--model', 'no-such.safetensors', '--out', join('never', 'made', 's.png')], cwd), 'no-such.safetensors');
  oneLineError(await ddpm(['train', '--data', 'no-such-folder', '--out', join('never', 'run')], cwd), '--data no-such-folder');
  oneLineError(await ddpm(['export', '--model', 'no-such.safetensors', '--format', 'diffusers', '--out', join('never', 'x')], cwd), 'no-such.safetensors');
  assert.not.ok(existsSync(join(cwd, 'never')));
});

test.after(() => temp.remove());
test.run();
