// Loading a model skips drawing its initial values (nn/parameters.ts: withoutInitialisation), which is only right
// because every value is then read from the file: the whole loaded vector equals the file's tensors, a model built
// inside the scope is all zeros, and outside it (after a throw too) models are initialised as before.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSafetensors, init, loadModel, MLPDenoiser } from '../../bindings/index.ts';
import { withoutInitialisation } from '../../bindings/nn/parameters.ts';

await init();
const MNIST = new Uint8Array(readFileSync(new URL('../../models/mnist.safetensors', import.meta.url)));
const CONFIG = { dataDim: 4, hiddenSize: 8, numBlocks: 1, timeEmbedDim: 8 };
const release = (model: { params: { values: { dispose(): void }; grads: { dispose(): void } } }) => {
  model.params.values.dispose();
  model.params.grads.dispose();
};

test('every value of a loaded model is the file\'s (none is left at zero or drawn)', () => {
  const { model } = loadModel(MNIST);
  const stored = decodeSafetensors(MNIST).tensors;
  const values = model.params.values.toFloat32Array();
  for (const p of model.params.parameters) {
    assert.equal(values.subarray(p.offset, p.offset + p.size), stored.get(p.name)!.data, p.name);
  }
  release(model);
});

test('inside withoutInitialisation a model is all zeros; outside, it is drawn from its seed as before', () => {
  const zero = withoutInitialisation(() => new MLPDenoiser(CONFIG, 3));
  assert.ok(zero.params.values.toFloat32Array().every((v) => v === 0));
  const drawn = new MLPDenoiser(CONFIG, 3);
  const again = new MLPDenoiser(CONFIG, 3);
  assert.ok(drawn.params.values.toFloat32Array().some((v) => v !== 0));
  assert.equal(drawn.params.values.toFloat32Array(), again.params.values.toFloat32Array());
  for (const model of [zero, drawn, again]) release(model);
});

test('initialisation is back after a throw inside the scope, and the scope is not reentrant', () => {
  assert.throws(() => withoutInitialisation(() => { throw new Error('boom'); }), /boom/);
  const model = new MLPDenoiser(CONFIG, 3);
  assert.ok(model.params.values.toFloat32Array().some((v) => v !== 0));
  release(model);
  assert.throws(() => withoutInitialisation(() => withoutInitialisation(() => 0)), /already inside withoutInitialisation/);
});

test.run();
