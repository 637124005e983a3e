// diffusers pipeline folders (bindings/interop/diffusers-folder.ts, diffusers-pipeline-config.ts, diffusers-folder-files.ts)
// against a folder DDPMPipeline.save_pretrained wrote (test/fixtures/diffusers-folder, made by
// scripts/fixtures/diffusers_folder.py; float32, fp16 and bf16 weights): its tensors read back with the right names,
// shapes and values; each variant imports into a UNet2DModel with diffusers' forward output; writing it again gives
// diffusers' bytes; bad folders fail in one line; exports are deterministic and atomic on disk.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  diffusersFolderToModel, modelToDiffusersFolder, readDiffusersFolder, weightsFileName, writeDiffusersFolder, type FolderFiles,
} from '../../bindings/interop/diffusers-folder.ts';
import { readDiffusersFolderFiles, readDiffusersModel, writeDiffusersModel, writeFolderAtomic } from '../../bindings/interop/diffusers-folder-files.ts';
import {
  formatDiffusersSchedulerConfig, formatModelIndex, parseDiffusersSchedulerConfig, parseModelIndex, schedulerFromDiffusers, schedulerToDiffusers,
} from '../../bindings/interop/diffusers-pipeline-config.ts';
import { decodeModel } from '../../bindings/models/model-file.ts';
import { unetConfigToDiffusers } from '../../bindings/interop/diffusers-unet.ts';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../bindings/io/safetensors.ts';
import { DDIMScheduler, DDPMScheduler, init, Tensor, tidy, type UNet2DModel } from '../../bindings/index.ts';
import { CONFIG_FIXTURES, FOLDER_FIXTURE, readTree, ROOT, text } from './diffusers-fixtures.ts';

await init();

const folder = () => readTree(FOLDER_FIXTURE);
const forward = decodeSafetensors(readFileSync(join(ROOT, 'test/fixtures/diffusers-folder-forward.safetensors'))).tensors;
const without = (files: Map<string, Uint8Array>, ...paths: string[]) => new Map([...files].filter(([p]) => !paths.includes(p)));
const dispose = (model: UNet2DModel) => { model.params.values.dispose(); model.params.grads.dispose(); };
const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
};

test("the fixture folder reads: DDPMPipeline, its scheduler, and the weights under the model's names and shapes", () => {
  const read = readDiffusersFolder(folder());
  assert.equal(read.index, { pipeline: 'DDPMPipeline', scheduler: 'DDPMScheduler' });
  assert.equal(read.scheduler!.options.predictionType, 'v_prediction');
  assert.is(read.dtype, 'float32');
  assert.is(read.weightsPath, 'unet/diffusion_pytorch_model.safetensors');
  assert.equal(read.metadata, { format: 'pt' });
  const { model } = diffusersFolderToModel(folder());
  assert.equal([...read.weights.keys()].sort(), model.params.parameters.map((p) => p.name).sort());
  for (const p of model.params.parameters) assert.equal(read.weights.get(p.name)!.shape, [...p.shape], p.name);
  dispose(model);
});

test('the float16 and bfloat16 variants hold the float32 weights rounded to their precision', () => {
  const f32 = readDiffusersFolder(folder()).weights;
  for (const [variant, dtype, bits] of [['fp16', 'float16', 11], ['bf16', 'bfloat16', 8]] as const) {
    const read = readDiffusersFolder(folder(), { variant });
    assert.is(read.dtype, dtype);
    let changed = 0;
    for (const [name, t] of read.weights) {
      const exact = f32.get(name)!.data;
      t.data.forEach((v, i) => {
        if (v !== exact[i]) changed++;
        assert.ok(Math.abs(v - exact[i]) <= Math.abs(exact[i]) * 2 ** -bits + 2 ** -24, `${variant} ${name}[${i}]: ${v} vs ${exact[i]}`);
      });
    }
    assert.ok(changed > 0, `${variant} rounds nothing`);
  }
});

for (const [variant, label] of [[undefined, 'float32'], ['fp16', 'float16'], ['bf16', 'bfloat16']] as const) {
  test(`the ${label} weights import into a UNet2DModel whose forward is diffusers' within 1e-5 of the output scale`, () => {
    const { model, scheduler } = diffusersFolderToModel(folder(), { variant });
    assert.equal(scheduler, {
      className: 'DDPMScheduler',
      options: {
        numTrainTimesteps: 1000, betaStart: 0.0001, betaEnd: 0.02, betaSchedule: 'squaredcos_cap_v2', trainedBetas: null,
        predictionType: 'v_prediction', clipSample: true, clipSampleRange: 1, timestepSpacing: 'trailing', stepsOffset: 0, varianceType: 'fixed_large',
        thresholding: false, dynamicThresholdingRatio: 0.995, sampleMaxValue: 1, rescaleBetasZeroSnr: false,
      },
    });
    const sample = forward.get('input.sample')!, reference = forward.get(`output.${label}`)!.data;
    const out = tidy(() => model.forward(Tensor.from(sample.data, sample.shape), Int32Array.from(forward.get('input.timesteps')!.data)).toFloat32Array());
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const worst = out.reduce((m, v, i) => Math.max(m, Math.abs(v - reference[i])), 0);
    assert.ok(worst <= 1e-5 * scale, `max |library - diffusers| ${worst}, scale ${scale}`);
    dispose(model);
  });
}

test("writing the folder read gives diffusers' own bytes (configs, index and float32 weights), through the library model too", () => {
  const files = folder();
  const read = readDiffusersFolder(files);
  const written = writeDiffusersFolder({ unet: read.unet, scheduler: read.scheduler!, weights: [...read.weights.values()] });
  const { model, scheduler } = diffusersFolderToModel(files);
  const exported = modelToDiffusersFolder(model, { scheduler: scheduler! });
  const expected = without(files, 'unet/diffusion_pytorch_model.fp16.safetensors', 'unet/diffusion_pytorch_model.bf16.safetensors');
  for (const out of [written, exported]) {
    assert.equal([...out.keys()].sort(), [...expected.keys()].sort());
    for (const [path, bytes] of expected) assert.ok(Buffer.from(out.get(path)!).equals(Buffer.from(bytes)), path);
  }
  dispose(model);
});

test("a shipped model exports deterministically, re-imports with byte-identical tensors, and its file's metadata travels", () => {
  const { model, metadata } = decodeModel(readFileSync(join(ROOT, 'models/mnist.safetensors')), 'mnist');
  const extra = { ddpm_wasm: JSON.stringify({ ...metadata, config: model.config }) };
  const scheduler = { className: 'DDPMScheduler' as const, options: metadata.scheduler };
  const first = modelToDiffusersFolder(model as UNet2DModel, { scheduler, metadata: extra });
  const second = modelToDiffusersFolder(model as UNet2DModel, { scheduler, metadata: extra });
  for (const [path, bytes] of first) assert.ok(Buffer.from(second.get(path)!).equals(Buffer.from(bytes)), path);
  const back = diffusersFolderToModel(first);
  assert.ok(Buffer.from(back.model.params.values.toFloat32Array().buffer).equals(Buffer.from(model.params.values.toFloat32Array().buffer)));
  // The same network: the config (now in diffusers' terms: block types, attention_head_dim) lays out the same parameters.
  const rows = (m: UNet2DModel) => m.params.parameters.map((p) => `${p.name} [${p.shape.join(', ')}] @${p.offset}`);
  assert.equal(rows(back.model), rows(model as UNet2DModel));
  assert.equal(unetConfigToDiffusers(back.model.config), unetConfigToDiffusers(model.config));
  assert.equal(back.scheduler!.options.predictionType, 'v_prediction');
  // The weights file is also this library's model file, class names included.
  assert.equal(decodeModel(first.get('unet/diffusion_pytorch_model.safetensors')!).metadata.data.classNames, metadata.data.classNames);
  dispose(back.model);
  dispose(model as UNet2DModel);
});

test('scheduler configs and model_index.json written by diffusers format back to their exact bytes', () => {
  for (const name of readdirSync(CONFIG_FIXTURES).filter((n) => n.endsWith('scheduler_config.json'))) {
    const file = text(join(CONFIG_FIXTURES, name));
    assert.is(formatDiffusersSchedulerConfig(parseDiffusersSchedulerConfig(file, name)), file, name);
  }
  const index = text(join(CONFIG_FIXTURES, 'ddim-model_index.json'));
  assert.equal(parseModelIndex(index), { pipeline: 'DDIMPipeline', scheduler: 'DDIMScheduler' });
  assert.is(formatModelIndex(parseModelIndex(index)), index);
});

test("scheduler options translate both ways and build this library's schedulers", () => {
  const ddim = schedulerFromDiffusers(parseDiffusersSchedulerConfig(text(join(CONFIG_FIXTURES, 'ddim-scheduler_config.json'))));
  assert.equal(ddim, {
    className: 'DDIMScheduler',
    options: {
      numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear', trainedBetas: null, predictionType: 'sample',
      clipSample: false, clipSampleRange: 1, timestepSpacing: 'leading', stepsOffset: 1, setAlphaToOne: false,
      thresholding: false, dynamicThresholdingRatio: 0.995, sampleMaxValue: 1, rescaleBetasZeroSnr: false,
    },
  });
  assert.is(new DDIMScheduler(ddim.options).finalAlphaCumprod, new DDIMScheduler(ddim.options).alphasCumprod[0]);
  const trained = schedulerFromDiffusers(parseDiffusersSchedulerConfig(text(join(CONFIG_FIXTURES, 'ddpm-trained-betas-scheduler_config.json'))));
  assert.equal(Array.from(new DDPMScheduler(trained.options).betas), trained.options.trainedBetas);
  // The library's defaults are diffusers' defaults.
  const defaults = text(join(CONFIG_FIXTURES, 'ddpm-default-scheduler_config.json'));
  assert.is(formatDiffusersSchedulerConfig(schedulerToDiffusers({ className: 'DDPMScheduler', options: {} })), defaults);
  const cosine = schedulerToDiffusers({ className: 'DDPMScheduler', options: { betaSchedule: 'cosine', seed: 7 } });
  assert.is(cosine.options.betaSchedule, 'squaredcos_cap_v2');
  for (const scheduler of [ddim, trained]) assert.equal(schedulerFromDiffusers(schedulerToDiffusers(scheduler)), scheduler);
  // Dynamic thresholding and zero terminal SNR travel both ways.
  const thresholded = { ...ddim, options: { ...ddim.options, thresholding: true, dynamicThresholdingRatio: 0.9, sampleMaxValue: 1.5, rescaleBetasZeroSnr: true } };
  assert.equal(schedulerFromDiffusers(schedulerToDiffusers(thresholded)), thresholded);
  assert.is(schedulerToDiffusers(thresholded).options.sampleMaxValue, 1.5);
});

test('scheduler and model_index problems fail in one line naming the option', () => {
  const ddpm = JSON.parse(text(join(CONFIG_FIXTURES, 'ddpm-default-scheduler_config.json')));
  const ddim = JSON.parse(text(join(CONFIG_FIXTURES, 'ddim-scheduler_config.json')));
  const cases: [() => unknown, RegExp][] = [
    [() => schedulerFromDiffusers(parseDiffusersSchedulerConfig({ ...ddpm, thresholding: true, variance_type: 'learned' })),
      /cannot follow this DDPMScheduler yet: variance_type 'learned' \(this library follows 'fixed_small', 'fixed_large' and 'learned_range'\)/],
    [() => schedulerToDiffusers({ className: 'DDPMScheduler', options: { varianceType: 'learned' } }), /varianceType 'learned' has no diffusers equivalent/],
    [() => parseDiffusersSchedulerConfig({ ...ddpm, _class_name: 'PNDMScheduler' }), /scheduler class 'PNDMScheduler' is not supported/],
    [() => parseDiffusersSchedulerConfig({ ...ddpm, set_alpha_to_one: true }), /unknown DDPMScheduler option 'set_alpha_to_one'/],
    [() => parseDiffusersSchedulerConfig({ ...ddim, beta_schedule: 'sigmoid' }), /beta_schedule 'sigmoid' is not implemented by diffusers' DDIMScheduler/],
    [() => parseDiffusersSchedulerConfig({ ...ddpm, beta_start: 'small' }), /beta_start must be a positive number, got 'small'/],
    [() => schedulerToDiffusers({ className: 'DDIMScheduler', options: { betaSchedule: 'sigmoid' } }), /'sigmoid' has no diffusers DDIMScheduler equivalent/],
    [() => parseModelIndex({ _class_name: 'LDMPipeline', unet: ['diffusers', 'UNet2DModel'], scheduler: ['diffusers', 'DDIMScheduler'] }), /pipeline 'LDMPipeline' is not supported/],
    [() => parseModelIndex({ _class_name: 'DDPMPipeline', unet: ['diffusers', 'UNet2DModel'], scheduler: ['diffusers', 'PNDMScheduler'] }), /scheduler class 'PNDMScheduler' is not supported/],
    [() => parseModelIndex({ _class_name: 'DDPMPipeline', unet: ['diffusers', 'UNet2DConditionModel'], scheduler: ['diffusers', 'DDPMScheduler'] }), /the unet is a 'UNet2DConditionModel'/],
    [() => parseModelIndex({ _class_name: 'DDPMPipeline', unet: ['diffusers', 'UNet2DModel'], scheduler: ['diffusers', 'DDPMScheduler'], vqvae: ['diffusers', 'VQModel'] }), /component 'vqvae' is not part of a DDPMPipeline/],
  ];
  for (const [fn, pattern] of cases) {
    const m = message(fn);
    assert.ok(pattern.test(m) && !m.includes('\n'), `${pattern}: ${m}`);
  }
});

test('bad folders fail in one line naming the file and what is wrong', () => {
  const files = folder();
  const weights = 'unet/diffusion_pytorch_model.safetensors';
  const tensors = [...readDiffusersFolder(files).weights.values()];
  const stored = (dtype: 'F64' | 'I32') => new Map([...files, [weights, rawSafetensors(tensors, { 'conv_in.bias': dtype })]]);
  const cases: [FolderFiles, object, RegExp][] = [
    [without(files, 'model_index.json'), {}, /model_index.json is missing \(the pipeline index/],
    [without(files, 'unet/config.json'), {}, /unet\/config.json is missing \(the UNet's config\)/],
    [without(files, 'scheduler/scheduler_config.json'), {}, /scheduler\/scheduler_config.json is missing/],
    [without(files, weights), {}, /diffusion_pytorch_model.safetensors is missing \(the folder has the variants bf16, fp16: choose one\)/],
    [new Map([...without(files, weights, 'unet/diffusion_pytorch_model.fp16.safetensors', 'unet/diffusion_pytorch_model.bf16.safetensors'), ['unet/diffusion_pytorch_model.bin', new Uint8Array(4)]]), {},
      /PyTorch pickle weights \(.bin\), which this library does not read/],
    [without(files, weights, 'unet/diffusion_pytorch_model.fp16.safetensors', 'unet/diffusion_pytorch_model.bf16.safetensors'), {}, /\(the weights are missing\)/],
    [files, { variant: 'fp32' }, /diffusion_pytorch_model.fp32.safetensors is missing/],
    [files, { variant: '../x' }, /variant must be letters, digits/],
    [stored('F64'), {}, /tensor 'conv_in.bias' is stored as F64; weights must be float32, float16 or bfloat16/],
    [stored('I32'), {}, /tensor 'conv_in.bias' has dtype I32; this library reads F32, F16, BF16, F64/],
    [new Map([...files, ['unet/config.json', new TextEncoder().encode('{')]]), {}, /the folder\/unet\/config.json is not valid JSON/],
    [new Map([['README.md', new Uint8Array(1)]]), {}, /is not a diffusers folder: it has neither model_index.json \(a pipeline\) nor config.json \(a model\)/],
  ];
  for (const [input, options, pattern] of cases) {
    const m = message(() => readDiffusersFolder(input, options));
    assert.ok(pattern.test(m) && !m.includes('\n'), `${pattern}: ${m}`);
  }
});

test('weights that do not match the config, and configs this library cannot build, are named when importing', () => {
  const files = folder();
  const weights = 'unet/diffusion_pytorch_model.safetensors';
  const read = readDiffusersFolder(files);
  const tensors = [...read.weights.values()].filter((t) => t.name !== 'conv_in.bias' && t.name !== 'conv_out.bias');
  tensors.push({ name: 'extra.weight', shape: [1], data: new Float32Array(1) });
  const convOut = tensors.find((t) => t.name === 'conv_out.weight')!;
  tensors[tensors.indexOf(convOut)] = { ...convOut, shape: [3, 8, 3, 3], data: new Float32Array(3 * 8 * 9) };
  const m = message(() => diffusersFolderToModel(new Map([...files, [weights, encodeSafetensors(tensors, { format: 'pt' })]])));
  assert.is(m, 'the folder/unet/diffusion_pytorch_model.safetensors does not match its config: missing conv_in.bias, conv_out.bias; '
    + 'unexpected extra.weight; conv_out.weight is [3, 8, 3, 3], the config needs [3, 4, 3, 3]');
  const config = JSON.parse(text(join(FOLDER_FIXTURE, 'unet/config.json')));
  const unbuildable = new Map([...files, ['unet/config.json', new TextEncoder().encode(JSON.stringify({ ...config, sample_size: null, downsample_padding: 2 }))]]);
  assert.match(message(() => diffusersFolderToModel(unbuildable, { source: 'DIR' })),
    /^DIR\/unet\/config.json: this library cannot build this UNet2DModel: sample_size null \(this library needs the image size\); downsample_padding 2 \(.*\)$/);
});

test('exports name an unsupported dtype; float16 and bfloat16 exports hold the weights rounded as diffusers\' own variants', () => {
  const read = readDiffusersFolder(folder());
  const contents = { unet: read.unet, scheduler: read.scheduler!, weights: [...read.weights.values()] };
  assert.throws(() => writeDiffusersFolder(contents, { dtype: 'int8' as never }), /dtype must be one of float32, float16, bfloat16, got 'int8'/);
  // The fixture's fp16 and bf16 variants were written by torch's .half() / .bfloat16() from the same float32 weights.
  for (const [dtype, variant] of [['float16', 'fp16'], ['bfloat16', 'bf16']] as const) {
    const exported = readDiffusersFolder(writeDiffusersFolder(contents, { dtype }));
    assert.is(exported.dtype, dtype);
    const torch = readDiffusersFolder(folder(), { variant }).weights;
    for (const [name, t] of exported.weights) assert.equal(Array.from(t.data), Array.from(torch.get(name)!.data), `${dtype} ${name}`);
  }
  const fp16 = writeDiffusersFolder(contents, { variant: 'ema' });
  assert.ok(fp16.has('unet/diffusion_pytorch_model.ema.safetensors'));
  assert.is(weightsFileName('fp16'), 'diffusion_pytorch_model.fp16.safetensors');
});

test('bare model folders (unet.save_pretrained) and folders under a top directory, "./" or "\\\\" paths read', () => {
  const files = folder();
  const bare = new Map([['config.json', files.get('unet/config.json')!], ['diffusion_pytorch_model.safetensors', files.get('unet/diffusion_pytorch_model.safetensors')!]]);
  const { model, scheduler, folder: read } = diffusersFolderToModel(bare);
  assert.is(scheduler, null);
  assert.is(read.index, null);
  dispose(model);
  const nested = new Map([...files].map(([p, b]) => [`picked/${p}`, b]));
  nested.set('other/config.json', new Uint8Array(0));
  assert.equal(readDiffusersFolder(nested).index, { pipeline: 'DDPMPipeline', scheduler: 'DDPMScheduler' });
  const odd = Object.fromEntries([...files].map(([p, b]) => [`./${p.replace('/', '\\')}`, b]));
  assert.is(readDiffusersFolder(odd).weights.size, readDiffusersFolder(files).weights.size);
});

test('on disk: folders are written atomically, read back, and a failed write leaves nothing behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddpm-diffusers-'));
  try {
    const target = join(dir, 'pipeline');
    const files = folder();
    await writeFolderAtomic(target, files);
    const back = await readDiffusersFolderFiles(target, { variant: 'fp16' });
    assert.ok(Buffer.from(back.get('unet/diffusion_pytorch_model.fp16.safetensors')!).equals(Buffer.from(files.get('unet/diffusion_pytorch_model.fp16.safetensors')!)));
    assert.is(back.get('unet/diffusion_pytorch_model.safetensors')!.length, 0); // listed, not read
    await assert_rejects(writeFolderAtomic(target, files), /it already exists/);
    const broken = new Map([['model_index.json', new Uint8Array(2)], ['../escape.json', new Uint8Array(1)]]);
    await assert_rejects(writeFolderAtomic(join(dir, 'broken'), broken), /'..\/escape.json' is not a plain relative path/);
    await assert_rejects(writeFolderAtomic(target, broken, { overwrite: true }), /not a plain relative path/);
    assert.equal(readdirSync(dir), ['pipeline']);
    assert.ok(existsSync(join(target, 'unet/diffusion_pytorch_model.bf16.safetensors')), 'the old folder survives a failed overwrite');
    const { model, scheduler } = await readDiffusersModel(target);
    await writeDiffusersModel(target, model, { scheduler: scheduler!, overwrite: true });
    assert.equal(readdirSync(join(target, 'unet')).sort(), ['config.json', 'diffusion_pytorch_model.safetensors']);
    assert.equal(readdirSync(dir), ['pipeline']);
    dispose(model);
    mkdirSync(join(dir, 'plain'));
    writeFileSync(join(dir, 'plain', 'notes.txt'), 'x');
    await assert_rejects(readDiffusersModel(join(dir, 'plain')), /is not a diffusers folder/);
    await assert_rejects(readDiffusersModel(join(dir, 'absent')), /no such folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** safetensors bytes of `tensors`, F32 except the named ones (F64: converted; I32: the float bits relabelled). */
function rawSafetensors(tensors: NamedTensor[], dtypes: Record<string, 'F64' | 'I32'>): Uint8Array {
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    const dtype = dtypes[t.name] ?? 'F32';
    const data = new Uint8Array(dtype === 'F64' ? Float64Array.from(t.data).buffer : Float32Array.from(t.data).buffer);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + data.length] };
    chunks.push(data);
    offset += data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const chunk of chunks) { out.set(chunk, at); at += chunk.length; }
  return out;
}

async function assert_rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const m = await promise.then(() => 'no error', (error: Error) => error.message);
  assert.ok(pattern.test(m) && !m.includes('\n'), `${pattern}: ${m}`);
}

test.run();
