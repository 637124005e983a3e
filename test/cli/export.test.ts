/**
 * `ddpm export --format diffusers`, and diffusers folders in `ddpm sample` and `ddpm info`, run for real: the
 * shipped digit model exported (the folder diffusers loads, checked against the real diffusers by
 * scripts/fixtures/diffusers_roundtrip.py), sampled back bit for bit the same as the model file, described; and
 * the failures, each one line, leaving no folder behind. `ddpm export --format ddpm`: a model file in another
 * dtype (how the float16 shipped models are made), and its failures, leaving no file behind.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init } from '../../bindings/index.ts';
import { decodeSafetensors, readSafetensorsHeader } from '../../bindings/io/safetensors.ts';
import { ddpm, ensureBuilt, expectErrors, ROOT, tempFolder } from './helpers.ts';

await init(); // decoding the shipped float16 weights converts them in WebAssembly
ensureBuilt();
const temp = tempFolder();
const cwd = temp.path;

test('ddpm export writes the pipeline folder: index, scheduler, UNet config and weights under diffusers names', async () => {
  const run = await ddpm(['export', '--model', 'mnist', '--format', 'diffusers', '--out', 'mnist-diffusers'], cwd);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /wrote mnist-diffusers: DDPMPipeline with DDPMScheduler, UNet2DModel weights in float32 \(4 files/);
  const dir = join(cwd, 'mnist-diffusers');
  assert.equal(readdirSync(dir).sort(), ['model_index.json', 'scheduler', 'unet']);
  assert.equal(readdirSync(join(dir, 'unet')).sort(), ['config.json', 'diffusion_pytorch_model.safetensors']);
  // The config is the one diffusers loads the real weights with (test/fixtures/unet2d/full/mnist.json, written by diffusers).
  assert.is(readFileSync(join(dir, 'unet/config.json'), 'utf8'), readFileSync(join(ROOT, 'test/fixtures/unet2d/full/mnist.json'), 'utf8'));
  assert.match(readFileSync(join(dir, 'scheduler/scheduler_config.json'), 'utf8'), /"prediction_type": "v_prediction"/);
  const { tensors } = decodeSafetensors(readFileSync(join(dir, 'unet/diffusion_pytorch_model.safetensors')), 'weights');
  const original = decodeSafetensors(readFileSync(join(ROOT, 'models/mnist.safetensors')), 'mnist').tensors;
  assert.is(tensors.size, original.size);
  for (const [name, t] of original) assert.equal(Array.from(tensors.get(name)!.data), Array.from(t.data), name);
  // Exporting again gives the same bytes; --scheduler ddim writes a DDIMPipeline.
  const [again, ddim] = await Promise.all([
    ddpm(['export', '--model', 'mnist', '--format', 'diffusers', '--out', 'again'], cwd),
    ddpm(['export', '--model', join(ROOT, 'models/mnist.safetensors'), '--format', 'diffusers', '--out', 'ddim', '--scheduler', 'ddim'], cwd),
  ]);
  assert.equal([again.code, ddim.code], [0, 0], again.stderr + ddim.stderr);
  for (const file of ['model_index.json', 'scheduler/scheduler_config.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors']) {
    assert.ok(readFileSync(join(cwd, 'again', file)).equals(readFileSync(join(dir, file))), file);
  }
  assert.match(readFileSync(join(cwd, 'ddim/model_index.json'), 'utf8'), /"_class_name": "DDIMPipeline"[\s\S]*"DDIMScheduler"/);
});

test('ddpm sample --model DIR draws what the model file draws, bit for bit; ddpm info DIR describes the folder', async () => {
  // DDIM: the folder's scheduler config names diffusers' DDPMScheduler defaults ('leading' spacing), which other
  // samplers follow from a folder and not from the model file (whose config names no spacing).
  const args = ['--class', '7', '--num', '2', '--sampler', 'ddim', '--steps', '4', '--seed', '5'];
  const [folder, file, info] = await Promise.all([
    ddpm(['sample', '--model', 'mnist-diffusers', ...args, '--out', 'from-folder.npy'], cwd),
    ddpm(['sample', '--model', 'mnist', ...args, '--out', 'from-file.npy'], cwd),
    ddpm(['info', 'mnist-diffusers'], cwd),
  ]);
  assert.equal([folder.code, file.code, info.code], [0, 0, 0], folder.stderr + file.stderr + info.stderr);
  assert.ok(readFileSync(join(cwd, 'from-folder.npy')).equals(readFileSync(join(cwd, 'from-file.npy'))));
  assert.match(info.stdout, /folder +diffusers DDPMPipeline \(model_index.json\)/);
  assert.match(info.stdout, /weights +unet\/diffusion_pytorch_model.safetensors, float32, 717,633 parameters in 185 tensors/);
  assert.match(info.stdout, /this library +builds here as sampleSize 28, .*downBlockTypes \[DownBlock2D, DownBlock2D, AttnDownBlock2D\]/);
  assert.match(info.stdout, /scheduler +DDPMScheduler: numTrainTimesteps 1000, .*predictionType v_prediction/);
});

test('--dtype float16 and bfloat16 write the weights at half the size, and the folders read back and sample', async () => {
  for (const dtype of ['float16', 'bfloat16']) {
    const run = await ddpm(['export', '--model', 'mnist', '--format', 'diffusers', '--out', `mnist-${dtype}`, '--dtype', dtype], cwd);
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`UNet2DModel weights in ${dtype}`));
    const weights = (folder: string) => readFileSync(join(cwd, folder, 'unet/diffusion_pytorch_model.safetensors')).length;
    assert.ok(weights(`mnist-${dtype}`) < 0.55 * weights('mnist-diffusers'), `${weights(`mnist-${dtype}`)} bytes vs ${weights('mnist-diffusers')}`);
    const [info, drawn] = await Promise.all([
      ddpm(['info', `mnist-${dtype}`], cwd),
      ddpm(['sample', '--model', `mnist-${dtype}`, '--class', '3', '--num', '1', '--steps', '2', '--out', `${dtype}.npy`], cwd),
    ]);
    assert.equal([info.code, drawn.code], [0, 0], info.stderr + drawn.stderr);
    assert.match(info.stdout, new RegExp(`weights +unet/diffusion_pytorch_model.safetensors, ${dtype}, 717,633 parameters`));
  }
});

test('failures are one line and leave no folder: a non-U-Net, an unknown dtype, an existing folder, a file in the way, a bad folder', async () => {
  writeFileSync(join(cwd, 'not-a-model.safetensors'), 'hello');
  mkdirSync(join(cwd, 'scheduler-only/scheduler'), { recursive: true });
  writeFileSync(join(cwd, 'scheduler-only/scheduler/scheduler_config.json'), '{}');
  await expectErrors(cwd, [
    [['export', '--model', 'mnist', '--format', 'diffusers', '--out', 'half', '--dtype', 'float8'], "'float8' is invalid", 'float16'],
    [['export', '--model', 'mnist', '--format', 'diffusers', '--out', 'mnist-diffusers'], '--out mnist-diffusers: it already exists', '--overwrite'],
    [['export', '--model', 'mnist', '--format', 'onnx', '--out', 'x'], "'onnx' is invalid", 'diffusers'],
    [['export', '--model', 'mnist', '--format', 'diffusers', '--out', 'not-a-model.safetensors/x'], '--out not-a-model.safetensors/x', 'is a file, not a folder'],
    [['export', '--model', 'not-a-model.safetensors', '--format', 'diffusers', '--out', 'broken'], 'not-a-model.safetensors'],
    [['export', '--model', join(ROOT, 'models/mnist.safetensors'), '--out', 'x'], "required option '--format <format>' not specified"],
    [['sample', '--model', 'scheduler-only', '--out', 'x.png'], 'scheduler-only: model_index.json is missing'],
    [['info', 'scheduler-only'], 'scheduler-only: model_index.json is missing'],
  ]);
  for (const name of ['half', 'broken', 'x']) assert.not.ok(existsSync(join(cwd, name)), `${name} must not exist`);
  assert.equal(readdirSync(cwd).filter((f) => f.startsWith('.')), [], 'no temporary folder is left behind');
});

test('--format ddpm writes the model file in another dtype: the shipped float16 files are what float32 -> float16 gives', async () => {
  const run = await ddpm(['export', '--model', 'mnist', '--format', 'ddpm', '--dtype', 'float32', '--out', 'copies/mnist-f32.safetensors'], cwd);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /wrote copies\/mnist-f32.safetensors: the model of .*mnist.safetensors with its weights in float32 \(2.8 MB\)/);
  const [half, brain] = await Promise.all(['float16', 'bfloat16'].map((dtype) =>
    ddpm(['export', '--model', 'copies/mnist-f32.safetensors', '--format', 'ddpm', '--dtype', dtype, '--out', `copies/mnist-${dtype}.safetensors`], cwd)));
  assert.equal([half.code, brain.code], [0, 0], half.stderr + brain.stderr);
  const file = (name: string) => readFileSync(join(cwd, 'copies', name));
  assert.ok(file('mnist-float16.safetensors').equals(readFileSync(join(ROOT, 'models/mnist.safetensors'))), 'float32 -> float16 is not the shipped file');
  const stored = (name: string) => [...new Set(readSafetensorsHeader(file(name), name).entries.map((e) => e.dtype))];
  assert.equal([stored('mnist-f32.safetensors'), stored('mnist-bfloat16.safetensors')], [['F32'], ['BF16']]);
  const info = await ddpm(['info', 'copies/mnist-bfloat16.safetensors'], cwd);
  assert.match(info.stdout, /model +unet2d, 717,633 parameters in 185 tensors, bfloat16\n/);
  // The float32 copy samples the shipped model's bits (its values are the float16 ones, exactly).
  const args = ['--class', '4', '--num', '1', '--steps', '2', '--seed', '1'];
  const [wide, shipped] = await Promise.all([
    ddpm(['sample', '--model', 'copies/mnist-f32.safetensors', ...args, '--out', 'wide.npy'], cwd),
    ddpm(['sample', '--model', 'mnist', ...args, '--out', 'shipped.npy'], cwd),
  ]);
  assert.equal([wide.code, shipped.code], [0, 0], wide.stderr + shipped.stderr);
  assert.ok(readFileSync(join(cwd, 'wide.npy')).equals(readFileSync(join(cwd, 'shipped.npy'))));
  // --overwrite replaces the file in place (through a temporary file).
  const again = await ddpm(['export', '--model', 'copies/mnist-f32.safetensors', '--format', 'ddpm', '--dtype', 'float16', '--out', 'copies/mnist-f32.safetensors', '--overwrite'], cwd);
  assert.is(again.code, 0, again.stderr);
  assert.ok(file('mnist-f32.safetensors').equals(file('mnist-float16.safetensors')));
});

test('--format ddpm failures are one line and leave no file: an existing file, a folder, --scheduler, a broken model', async () => {
  mkdirSync(join(cwd, 'a-folder'), { recursive: true });
  writeFileSync(join(cwd, 'existing.safetensors'), 'keep me');
  await expectErrors(cwd, [
    [['export', '--model', 'mnist', '--format', 'ddpm', '--out', 'existing.safetensors'], '--out existing.safetensors: it already exists', '--overwrite'],
    [['export', '--model', 'mnist', '--format', 'ddpm', '--out', 'a-folder'], '--out a-folder: it is a folder', 'model file'],
    [['export', '--model', 'mnist', '--format', 'ddpm', '--scheduler', 'ddim', '--out', 'never.safetensors'], '--scheduler ddim', 'diffusers folders'],
    [['export', '--model', 'not-a-model.safetensors', '--format', 'ddpm', '--out', 'never.safetensors'], 'not-a-model.safetensors'],
    [['export', '--model', 'mnist', '--format', 'ddpm', '--dtype', 'float8', '--out', 'never.safetensors'], "'float8' is invalid", 'float16'],
  ]);
  assert.is(readFileSync(join(cwd, 'existing.safetensors'), 'utf8'), 'keep me');
  assert.not.ok(existsSync(join(cwd, 'never.safetensors')));
  assert.equal(readdirSync(cwd).filter((f) => f.startsWith('.')), [], 'no temporary file is left behind');
});

test('a U-Net with diffusers\' other options exports and samples back bit for bit', async () => {
  // A model file made through the library API with BigGAN blocks, heads by size and Mish (what a Python user
  // brings back from diffusers reads the same way).
  const script = `
    import { init, UNet2DModel, encodeModel } from ${JSON.stringify(join(ROOT, 'dist/bindings/index.js'))};
    import { writeFileSync } from 'node:fs';
    await init();
    const model = new UNet2DModel({ sampleSize: 16, blockOutChannels: [8, 16], layersPerBlock: 1, normNumGroups: 4, actFn: 'mish',
      downBlockTypes: ['ResnetDownsampleBlock2D', 'AttnDownBlock2D'], attentionHeadDim: 4 }, 3);
    writeFileSync('options.safetensors', encodeModel(model, { scheduler: {}, data: { name: 'noise', sampleShape: [3, 16, 16], classNames: [] }, training: { steps: 0 } }));`;
  writeFileSync(join(cwd, 'make.mjs'), script);
  const made = await import('node:child_process').then(({ spawnSync }) => spawnSync(process.execPath, ['make.mjs'], { cwd, encoding: 'utf8' }));
  assert.is(made.status, 0, made.stderr);
  const exported = await ddpm(['export', '--model', 'options.safetensors', '--format', 'diffusers', '--out', 'options'], cwd);
  assert.is(exported.code, 0, exported.stderr);
  assert.match(readFileSync(join(cwd, 'options/unet/config.json'), 'utf8'), /"act_fn": "mish"[\s\S]*"attention_head_dim": 4[\s\S]*"ResnetDownsampleBlock2D"/);
  const [folder, file] = await Promise.all([
    ddpm(['sample', '--model', 'options', '--num', '2', '--sampler', 'ddim', '--steps', '3', '--out', 'o1.npy'], cwd),
    ddpm(['sample', '--model', 'options.safetensors', '--num', '2', '--sampler', 'ddim', '--steps', '3', '--out', 'o2.npy'], cwd),
  ]);
  assert.equal([folder.code, file.code], [0, 0], folder.stderr + file.stderr);
  assert.ok(readFileSync(join(cwd, 'o1.npy')).equals(readFileSync(join(cwd, 'o2.npy'))));
});

test('cleanup', () => temp.remove());

test.run();
