// loadModel: a shipped model file becomes a denoiser that a pipeline takes as it is (no cast), from a Uint8Array or
// an ArrayBuffer; the weights are the file's; a classifier file, bytes that are not a model and a value of another
// type fail in one line, and the classifier's memory is given back.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DDIMPipeline, DDIMScheduler, decodeSafetensors, encodeModel, init, loadModel, memoryStats, NoiseAwareClassifier, type Denoiser,
} from '../../bindings/index.ts';

await init();
const MNIST = readFileSync(new URL('../../models/mnist.safetensors', import.meta.url));

const release = (model: Denoiser) => { model.params.values.dispose(); model.params.grads.dispose(); };

test('the shipped digit model: a class-conditional U-Net with the file\'s weights and scheduler config', () => {
  const { model, metadata } = loadModel(new Uint8Array(MNIST));
  assert.is(model.kind, 'unet2d');
  assert.equal([...model.sampleShape], [1, 28, 28]);
  assert.is(model.numClasses, 10);
  assert.is(metadata.scheduler.predictionType, 'v_prediction');
  const stored = decodeSafetensors(new Uint8Array(MNIST)).tensors.get('conv_in.weight')!;
  assert.equal(model.params.get('conv_in.weight').value!.toFloat32Array(), stored.data);
  release(model);
});

test('a Node Buffer (a view into a shared pool) gives the same weights as a copy of the bytes', () => {
  const fromBuffer = loadModel(readFileSync(new URL('../../models/mnist.safetensors', import.meta.url)));
  const fromCopy = loadModel(new Uint8Array(MNIST));
  assert.ok(Buffer.from(fromBuffer.model.params.values.toFloat32Array().buffer).equals(Buffer.from(fromCopy.model.params.values.toFloat32Array().buffer)));
  release(fromBuffer.model);
  release(fromCopy.model);
});

test('an ArrayBuffer works too, and a pipeline takes the model as it is', async () => {
  const bytes = MNIST.buffer.slice(MNIST.byteOffset, MNIST.byteOffset + MNIST.byteLength);
  const { model, metadata } = loadModel(bytes, 'mnist.safetensors');
  const pipeline = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
  const images = await pipeline.generate({ batchSize: 1, numInferenceSteps: 2, seed: 0, classLabels: Int32Array.of(7) });
  assert.equal([...images.shape], [1, 1, 28, 28]);
  images.dispose();
  release(model);
});

test('a classifier file: one line saying to use decodeModel, and its memory is freed', () => {
  const classifier = new NoiseAwareClassifier({
    sampleSize: 8, inChannels: 1, blockOutChannels: [4], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [], numClasses: 3,
  }, 1);
  const bytes = encodeModel(classifier, {
    scheduler: {}, data: { name: 'toy', sampleShape: [1, 8, 8], classNames: ['a', 'b', 'c'] }, training: { steps: 0 },
  });
  classifier.params.values.dispose();
  classifier.params.grads.dispose();
  const live = memoryStats().liveBytes;
  assert.throws(() => loadModel(bytes, 'judge.safetensors'),
    (error: Error) => /^loadModel: judge\.safetensors holds a noise-aware classifier, not a diffusion model \(load it with decodeModel/.test(error.message));
  assert.is(memoryStats().liveBytes, live);
});

test('bytes that are not a model file, and values that are not bytes', () => {
  assert.throws(() => loadModel(Uint8Array.of(1, 2, 3), 'x.bin'), /x\.bin/);
  assert.throws(() => loadModel('models/mnist.safetensors' as unknown as Uint8Array),
    /^loadModel: bytes must be a Uint8Array or an ArrayBuffer \(the file's contents\), got the string "models\/mnist\.safetensors"/);
  assert.throws(() => loadModel([1, 2] as unknown as Uint8Array), /got an Array object/);
});

test.run();
