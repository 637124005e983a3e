// Model files and diffusers folders as bytes (bindings/interop/diffusers-model-file.ts): a model file exports
// with its scheduler and metadata, and imports back as a model file's metadata (its own, or what a folder written
// by diffusers implies); what has no diffusers equivalent is refused in one line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeModel, diffusersFolderToModel, diffusersModelMetadata, encodeModel, encodeSafetensors, init, MLPDenoiser, modelFileToDiffusersFolder, UNet2DModel,
} from '../../bindings/index.ts';
import { FOLDER_FIXTURE, readTree, ROOT } from './diffusers-fixtures.ts';

await init();

const dispose = (model: { params: { values: { dispose(): void }; grads: { dispose(): void } } }) => {
  model.params.values.dispose();
  model.params.grads.dispose();
};

test('a model file exports with its schedule, and its metadata comes back with the imported model', () => {
  const bytes = readFileSync(join(ROOT, 'models/colored-mnist.safetensors'));
  const files = modelFileToDiffusersFolder(bytes, { scheduler: 'ddim' });
  assert.equal([...files.keys()].sort(), ['model_index.json', 'scheduler/scheduler_config.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors']);
  const imported = diffusersFolderToModel(files);
  assert.is(imported.scheduler!.className, 'DDIMScheduler');
  const meta = diffusersModelMetadata(imported);
  const original = decodeModel(bytes).metadata;
  assert.equal(meta.data, original.data);
  assert.equal(meta.training, original.training);
  assert.is(meta.scheduler.predictionType, 'v_prediction');
  assert.equal(meta.config, imported.model.config);
  dispose(imported.model);
});

test('a folder diffusers wrote gets metadata from what it holds: scheduler, sample shape, no classes', () => {
  const imported = diffusersFolderToModel(readTree(FOLDER_FIXTURE));
  const meta = diffusersModelMetadata(imported);
  assert.equal(meta.data, { name: 'diffusers', sampleShape: [3, 8, 8], classNames: [] });
  assert.equal(meta.training, { steps: 0 });
  assert.is(meta.scheduler.timestepSpacing, 'trailing');
  dispose(imported.model);
});

test("a 'fourier' U-Net exports time_proj.W beside time_proj.weight (diffusers' state dict) and imports back", () => {
  const model = new UNet2DModel({ sampleSize: 8, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, timeEmbeddingType: 'fourier' }, 2);
  const file = encodeModel(model, { scheduler: {}, data: { name: 'x', sampleShape: [3, 8, 8], classNames: [] }, training: { steps: 0 } });
  const files = modelFileToDiffusersFolder(file);
  const back = diffusersFolderToModel(files);
  assert.equal(back.folder.weights.get('time_proj.W')!.data, back.folder.weights.get('time_proj.weight')!.data);
  assert.equal(Array.from(back.model.params.values.toFloat32Array()), Array.from(model.params.values.toFloat32Array()));
  // A W that differs from weight is not diffusers' state dict.
  const weights = [...back.folder.weights.values()].map((t) => (t.name === 'time_proj.W' ? { ...t, data: t.data.map((v) => v + 1) } : t));
  const tampered = new Map(files);
  tampered.set('unet/diffusion_pytorch_model.safetensors', encodeSafetensors(weights, { format: 'pt' }));
  assert.throws(() => diffusersFolderToModel(tampered), /time_proj.W differs from time_proj.weight/);
  dispose(back.model);
  dispose(model);
});

test('only U-Nets export; bad scheduler choices are named', () => {
  const mlp = new MLPDenoiser({}, 1);
  const file = encodeModel(mlp, { scheduler: {}, data: { name: 'gaussian8', sampleShape: [2], classNames: [] }, training: { steps: 0 } });
  assert.throws(() => modelFileToDiffusersFolder(file, { source: 'ring.safetensors' }), /^ring.safetensors holds an mlp model; only U-Nets \(UNet2DModel\) have a diffusers equivalent$/);
  assert.throws(() => modelFileToDiffusersFolder(file, { scheduler: 'euler' as never }), /scheduler must be 'ddpm' or 'ddim', got 'euler'/);
  dispose(mlp);
});

test.run();
