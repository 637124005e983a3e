/**
 * `ddpm distill`, run for real on a tiny 2-D toy model: the files of a run, the sampling record that lets
 * `ddpm sample` use the student with no other flag (and refuses other step counts), the same student with 1 and 2
 * workers, --resume after Ctrl-C continuing bit for bit, and bad flags refused in one line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, init } from '../../bindings/index.ts';
import { ddpm, ensureBuilt, oneLineError, start, tempFolder, waitFor } from './helpers.ts';

await init();
ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;
/** A tiny distillation: 4 -> 2 -> 1 steps, 6 steps a round. */
const FAST = ['--to-steps', '1', '--from-steps', '4', '--steps-per-round', '6', '--batch', '16', '--guidance', '1', '--warmup', '1'];

test.before(async () => {
  const trained = await ddpm(['train', '--data', 'gaussian8', '--batch', '16', '--steps', '20', '--sample-every', '0', '--out', 'teacher'], cwd);
  assert.is(trained.code, 0, trained.stderr);
});

const modelBytes = (folder: string) => readFileSync(join(cwd, folder, 'model.safetensors'));

test('distill writes the student, its rounds and the training files; the student records how it samples', async () => {
  const result = await ddpm(['distill', '--model', 'teacher/model.safetensors', ...FAST, '--workers', '1', '--out', 'one'], cwd);
  assert.is(result.code, 0, result.stderr);
  for (const file of ['model.safetensors', 'training-state.safetensors', 'loss.csv', 'loss.png', 'samples.png', 'round-2step.safetensors', 'round-1step.safetensors']) {
    assert.ok(existsSync(join(cwd, 'one', file)), file);
  }
  const { metadata } = decodeModel(modelBytes('one'));
  assert.equal(metadata.sampling, { sampler: 'ddim', steps: 1, timestepSpacing: 'trailing', guidanceScale: 1, distilledFrom: { steps: 4, guidanceScale: 1 } });
  assert.is(metadata.training.steps, 12);
  assert.is(readFileSync(join(cwd, 'one', 'loss.csv'), 'utf8').trim().split('\n').length, 13);
  assert.equal(decodeModel(readFileSync(join(cwd, 'one', 'round-2step.safetensors'))).metadata.sampling?.steps, 2);

  const sampled = await ddpm(['sample', '--model', 'one/model.safetensors', '--num', '50', '--out', 'points.npy'], cwd);
  assert.is(sampled.code, 0, sampled.stderr);
  assert.match(sampled.stdout, /DDIM 1 steps/);
  oneLineError(await ddpm(['sample', '--model', 'one/model.safetensors', '--steps', '4', '--out', 'p.npy'], cwd), '--steps 4', 'was distilled for ddim in 1 steps');
  oneLineError(await ddpm(['sample', '--model', 'one/model.safetensors', '--sampler', 'euler', '--out', 'p.npy'], cwd), '--sampler euler', 'leave --sampler out');
});

test('the student is the same with 2 workers', async () => {
  const result = await ddpm(['distill', '--model', 'teacher/model.safetensors', ...FAST, '--workers', '2', '--out', 'two'], cwd);
  assert.is(result.code, 0, result.stderr);
  assert.ok(modelBytes('two').equals(modelBytes('one')), 'model.safetensors differs between 1 and 2 workers');
});

test('Ctrl-C writes a checkpoint; --resume continues to the same student', async () => {
  const run = start(['distill', '--model', 'teacher/model.safetensors', ...FAST, '--workers', '1', '--save-every', '1', '--out', 'stopped'], cwd);
  await waitFor(run.output, () => existsSync(join(cwd, 'stopped', 'training-state.safetensors')), 60);
  run.child.kill('SIGINT');
  const stopped = await run.done;
  assert.is(stopped.code, 130, stopped.stderr);
  // The command it prints repeats the run's options: it resumes as printed.
  const printed = /continue with: ddpm (.+)$/m.exec(stopped.stdout + stopped.stderr);
  assert.ok(printed, stopped.stdout + stopped.stderr);
  const resumed = await ddpm([...printed[1].split(' '), '--workers', '1'], cwd);
  assert.is(resumed.code, 0, resumed.stderr);
  assert.ok(modelBytes('stopped').equals(modelBytes('one')), 'the resumed student differs from the straight run\'s');
});

test('bad flags are refused in one line', async () => {
  oneLineError(await ddpm(['distill', '--model', 'teacher/model.safetensors', '--to-steps', '4', '--from-steps', '12', '--out', 'x'], cwd), '--from-steps 12', 'times a power of 2');
  oneLineError(await ddpm(['distill', '--model', 'teacher/model.safetensors', '--to-steps', '1', '--from-steps', '4', '--guidance', '3', '--out', 'x'], cwd), '--guidance 3', 'unconditional');
  oneLineError(await ddpm(['distill', '--model', 'one/model.safetensors', '--to-steps', '1', '--from-steps', '2', '--out', 'x'], cwd), 'already distilled');
  oneLineError(await ddpm(['distill', '--model', 'teacher/model.safetensors', '--to-steps', '1', '--from-steps', '1024', '--out', 'x'], cwd), '--from-steps 1024', 'at most half');
});

test.after(() => temp.remove());
test.run();
