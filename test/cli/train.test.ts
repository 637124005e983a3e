/**
 * `ddpm train`, run for real on the 2-D toy: the files of a run, bit-exact --resume, refusing to overwrite a
 * run, Ctrl-C (a checkpoint and exit 130) and SIGKILL at random moments (model.safetensors is absent or whole).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, decodeSafetensors, init } from '../../bindings/index.ts';
import { readMetadata } from '../../bindings/models/model-file.ts';
import { ddpm, ensureBuilt, oneLineError, start, tempFolder, waitFor } from './helpers.ts';

await init();
ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;
/** Small and fast: a tiny batch, no previews until the end. */
const FAST = ['--data', 'gaussian8', '--batch', '16', '--sample-every', '0'];

test('train writes the model, the training state, loss.csv, loss.png and samples.png', async () => {
  const result = await ddpm(['train', ...FAST, '--steps', '12', '--out', 'run'], cwd);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /trained 12 steps/);
  for (const file of ['model.safetensors', 'training-state.safetensors', 'loss.csv', 'loss.png', 'samples.png']) {
    assert.ok(existsSync(join(cwd, 'run', file)), file);
  }
  const { model, metadata } = decodeModel(readFileSync(join(cwd, 'run', 'model.safetensors')));
  assert.is(metadata.kind, 'mlp');
  assert.is(metadata.training.steps, 12);
  assert.is(metadata.data.name, 'gaussian8');
  assert.is(metadata.scheduler.clipSample, false);
  assert.is(metadata.training.options?.batchSize, 16);
  assert.is(model.params.size > 0, true);
  const csv = readFileSync(join(cwd, 'run', 'loss.csv'), 'utf8').trim().split('\n');
  assert.is(csv[0], 'step,loss,learning_rate,grad_norm,seconds');
  assert.is(csv.length, 13);
  assert.is(csv[12].split(',')[0], '12');
  const png = readFileSync(join(cwd, 'run', 'samples.png'));
  assert.is(png.subarray(1, 4).toString(), 'PNG');
});

test('an --out folder that holds a model is refused without --resume, and left untouched', async () => {
  const before = readFileSync(join(cwd, 'run', 'model.safetensors'));
  const result = await ddpm(['train', ...FAST, '--steps', '20', '--out', 'run'], cwd);
  oneLineError(result, '--out run', 'already holds a trained model', '--resume');
  assert.ok(before.equals(readFileSync(join(cwd, 'run', 'model.safetensors'))));
});

test('--resume continues bit-exactly: 10 steps then 10 more equals 20 steps, byte for byte', async () => {
  // A constant learning rate, so that the run can be extended (a cosine decay ends at its --steps).
  const straight = await ddpm(['train', ...FAST, '--lr-decay', 'constant', '--steps', '20', '--out', 'straight'], cwd);
  assert.is(straight.code, 0, straight.stderr);
  const first = await ddpm(['train', ...FAST, '--lr-decay', 'constant', '--steps', '10', '--out', 'resumed'], cwd);
  assert.is(first.code, 0, first.stderr);
  // Flags left out take the run's values.
  const second = await ddpm(['train', '--out', 'resumed', '--resume', '--steps', '20', '--sample-every', '0'], cwd);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, /from step 10 to step 20/);
  for (const file of ['model.safetensors', 'training-state.safetensors']) {
    assert.ok(readFileSync(join(cwd, 'straight', file)).equals(readFileSync(join(cwd, 'resumed', file))), `${file} differs`);
  }
  assert.is(readFileSync(join(cwd, 'resumed', 'loss.csv'), 'utf8').trim().split('\n').length, 21);
});

test('--resume refuses options that differ from the run, naming the flag and both values', async () => {
  oneLineError(await ddpm(['train', '--out', 'resumed', '--resume', '--steps', '30', '--lr', '0.005'], cwd), '--lr 0.002', '--lr 0.005');
  oneLineError(await ddpm(['train', '--out', 'resumed', '--resume', '--data', 'moons'], cwd), '--data gaussian8', '--data moons');
  oneLineError(await ddpm(['train', '--data', 'gaussian8', '--out', 'fresh', '--resume'], cwd), 'training-state.safetensors', 'leave out --resume');
  oneLineError(await ddpm(['train', ...FAST, '--steps', '10', '--out', 'decaying'], cwd).then(() =>
    ddpm(['train', '--out', 'decaying', '--resume', '--steps', '30'], cwd)), 'decays its learning rate to 0 at step 10', '--steps must stay 10');
});

test('Ctrl-C stops after the current step, writes a checkpoint, says where, and exits 130', async () => {
  const run = start(['train', ...FAST, '--steps', '1000000', '--out', 'interrupted'], cwd);
  await waitFor(run.output, (o) => o.stdout.includes('training mlp'));
  await new Promise((resolve) => setTimeout(resolve, 700));
  run.child.kill('SIGINT');
  const result = await run.done;
  assert.is(result.code, 130, result.stderr);
  assert.match(result.stdout, /interrupted at step \d+ of 1000000: checkpoint written to interrupted\/model\.safetensors/);
  const steps = Number(/interrupted at step (\d+)/.exec(result.stdout)![1]);
  const { metadata } = decodeModel(readFileSync(join(cwd, 'interrupted', 'model.safetensors')));
  assert.is(metadata.training.steps, steps);
  const state = decodeSafetensors(readFileSync(join(cwd, 'interrupted', 'training-state.safetensors')));
  assert.is(readMetadata(state.metadata, 'state').training.steps, steps);
});

test('SIGKILL at any moment never leaves a half-written model.safetensors', async () => {
  // A checkpoint after every step, so the kills land in the middle of writes as often as not.
  for (const [k, delay] of [80, 350, 900, 1500].entries()) {
    const resume = existsSync(join(cwd, 'killed', 'training-state.safetensors')) ? ['--resume'] : [];
    const run = start(['train', ...FAST, '--steps', '1000000', '--save-every', '1', '--out', 'killed', ...resume], cwd);
    await waitFor(run.output, (o) => o.stdout.includes('training mlp'));
    await new Promise((resolve) => setTimeout(resolve, delay));
    run.child.kill('SIGKILL');
    const result = await run.done;
    assert.is(result.signal, 'SIGKILL', `kill ${k}`);
    const model = join(cwd, 'killed', 'model.safetensors');
    if (existsSync(model)) decodeModel(readFileSync(model), `kill ${k}: model.safetensors`); // throws when truncated
    const state = join(cwd, 'killed', 'training-state.safetensors');
    if (existsSync(state)) decodeSafetensors(readFileSync(state), `kill ${k}: training-state.safetensors`);
  }
  assert.ok(existsSync(join(cwd, 'killed', 'model.safetensors')), 'some checkpoint was written in 2.8 s');
});

test.after(() => temp.remove());
test.run();
