/**
 * A training state is refused, with its reason, when it could not continue the run it claims to be: a missing,
 * null or fractional step, non-finite values in any buffer, a negative second moment, buffers of the wrong size
 * or shape, missing or extra buffers, another model or other options. The trainer is left exactly as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, restoreTrainingState, type Trainer } from '../../bindings/index.ts';
import { editMetadata, join, setValue, split, toyFiles, toyTrainer } from './files.ts';

await init();
const { state: STATE } = await toyFiles();
const trainer = toyTrainer();

const snapshot = (t: Trainer) => [t.step, ...[t.model.params.values, t.ema, t.adamM, t.adamV].map((x) => Array.from(x.toFloat32Array()))];

function refused(bytes: Uint8Array, pattern: RegExp): void {
  const before = snapshot(trainer);
  assert.throws(() => restoreTrainingState(trainer, bytes, 'state.safetensors'), (error: Error) => {
    assert.match(error.message, pattern);
    assert.ok(error.message.startsWith('state.safetensors'), error.message);
    return true;
  });
  assert.equal(snapshot(trainer), before, 'the trainer is unchanged');
}

test('the real state restores: step 2, its buffers', () => {
  const fresh = toyTrainer();
  restoreTrainingState(fresh, STATE, 'state.safetensors');
  assert.is(fresh.step, 2);
  assert.equal(Array.from(fresh.adamV.toFloat32Array()), Array.from(new Float32Array(split(STATE).data.slice(...split(STATE).header['adam.v'].data_offsets).buffer)));
});

test('a missing or invalid step is refused', () => {
  refused(editMetadata(STATE, (m) => { m.training.steps = null; }), /the training record's steps is null, not a whole number of steps >= 0/);
  refused(editMetadata(STATE, (m) => { delete m.training.steps; }), /steps is missing/);
  refused(editMetadata(STATE, (m) => { m.training.steps = 1.5; }), /steps is 1\.5/);
  refused(editMetadata(STATE, (m) => { m.training.steps = -1; }), /steps is -1/);
  refused(editMetadata(STATE, (m) => { m.training.steps = '2'; }), /steps is "2"/);
});

test('non-finite values in any buffer, and negative second moments, are refused naming the buffer', () => {
  refused(setValue(STATE, 'ema', 7, NaN), /'ema' holds NaN at element 7; the state is damaged/);
  refused(setValue(STATE, 'params', 0, Infinity), /'params' holds Infinity at element 0/);
  refused(setValue(STATE, 'adam.m', 3, -Infinity), /'adam\.m' holds -Infinity at element 3/);
  refused(setValue(STATE, 'adam.v', 1, -0.5), /'adam\.v' holds -0\.5 at element 1 \(a second moment is never negative\)/);
});

test('buffers of the wrong shape, missing or extra buffers are refused', () => {
  const { header, data } = split(STATE);
  const size = header.params.shape[0];
  const reshaped = structuredClone(header);
  reshaped['adam.m'].shape = [size / 2, 2];
  refused(join(reshaped, data), new RegExp(`'adam\\.m' is \\[${size / 2}, 2\\], but the model has ${size} parameters \\(it must be \\[${size}\\]\\)`));
  const renamed = structuredClone(header);
  renamed['adam.w'] = renamed['adam.v'];
  delete renamed['adam.v'];
  refused(join(renamed, data), /is not a complete training state: it has no 'adam\.v'/);
  const extra = structuredClone(header);
  extra.step = { dtype: 'F32', shape: [0], data_offsets: [data.length, data.length] };
  refused(join(extra, data), /holds tensors a training state does not have: step/);
});

test('a state of another model or other options is refused', () => {
  refused(editMetadata(STATE, (m) => { m.config.hiddenSize = 32; }), /was written for another model config/);
  refused(editMetadata(STATE, (m) => { m.training.options.seed = 9; }), /was trained with seed = 9; resuming with seed = 0 would not continue the same run/);
  refused(editMetadata(STATE, (m) => { m.kind = 'unet2d'; }), /holds the state of a 'unet2d' model, not of a 'mlp'/);
  refused(editMetadata(STATE, (m) => { m.training.options.learningRat = 1; }), /the training options: unknown key 'learningRat' \(did you mean 'learningRate'\?\)/);
});

test.run();
