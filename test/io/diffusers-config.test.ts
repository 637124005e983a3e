// diffusers' UNet2DModel config.json both ways (bindings/interop/diffusers-config.ts, diffusers-unet.ts,
// python-json.ts), against configs written by the real diffusers v0.27.2 (test/fixtures/unet2d, made by
// scripts/fixtures/unet_configs.py): every file re-formats to its exact bytes; every one of the 31 configs builds
// this library's UNet2DModel with exactly diffusers' state dict and its forward output, and translates back to the
// same file; the shipped models translate to the configs diffusers loads their real weights with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultDiffusersUNetOptions, formatDiffusersUNetConfig, parseDiffusersUNetConfig } from '../../bindings/interop/diffusers-config.ts';
import { unetConfigFromDiffusers, unetConfigToDiffusers } from '../../bindings/interop/diffusers-unet.ts';
import { readMetadata } from '../../bindings/models/model-file.ts';
import { formatPythonJson, PythonFloat, pythonFloatRepr } from '../../bindings/io/python-json.ts';
import { decodeSafetensors } from '../../bindings/io/safetensors.ts';
import { init, Tensor, tidy, UNet2DModel, type UNet2DConfig } from '../../bindings/index.ts';
import { resolveUNetConfig } from '../../bindings/models/unet2d-config.ts';
import { fromDiffusersStateDict } from '../../bindings/interop/diffusers-unet.ts';
import { EXPECTED, readUNetFixture, ROOT, text, UNET_FIXTURES, unetFixtureNames } from './diffusers-fixtures.ts';

await init();

test("pythonFloatRepr writes floats as Python's repr does (values from CPython 3)", () => {
  const cases: [number, string][] = [
    [1e-5, '1e-05'], [0.0001, '0.0001'], [1, '1.0'], [1e16, '1e+16'], [123456789, '123456789.0'], [1.5e-7, '1.5e-07'],
    [0.995, '0.995'], [-2.5e-5, '-2.5e-05'], [1e22, '1e+22'], [0.1 + 0.2, '0.30000000000000004'], [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'], [9999999999999998, '9999999999999998.0'], [0.00012, '0.00012'],
    [100, '100.0'], [-0, '-0.0'],
  ];
  for (const [value, expected] of cases) assert.is(pythonFloatRepr(value), expected, String(value));
  assert.throws(() => pythonFloatRepr(NaN), /NaN has no JSON form/);
});

test("formatPythonJson is json.dumps(indent=2, sort_keys=True) + newline (text from CPython 3)", () => {
  const value = { b: [], a: {}, 'é': 'ü\n', c: [1, [new PythonFloat(2.5), null, true]] };
  assert.is(formatPythonJson(value), '{\n  "a": {},\n  "b": [],\n  "c": [\n    1,\n    [\n      2.5,\n      null,\n      true\n    ]\n  ],\n  "\\u00e9": "\\u00fc\\n"\n}\n');
  assert.throws(() => formatPythonJson({ x: 0.5 }), /0.5 is not an integer; wrap floats in PythonFloat/);
});

test('every config diffusers wrote (31 cases and the 3 full-size configs) formats back to its exact bytes', () => {
  const files = [...unetFixtureNames().map((n) => join(UNET_FIXTURES, `${n}.json`)), ...['ddpm-cifar10-32', 'mnist', 'colored-mnist'].map((n) => join(UNET_FIXTURES, 'full', `${n}.json`))];
  assert.is(files.length, 34);
  for (const file of files) assert.is(formatDiffusersUNetConfig(parseDiffusersUNetConfig(text(file), file)), text(file), file);
});

test('the fixture table covers every fixture', () => {
  assert.equal(unetFixtureNames(), Object.keys(EXPECTED).sort());
});

/** The layout of a model's parameters: name, shape and offset of each, in declaration order. */
const layout = (config: UNet2DConfig): string[] => {
  const model = new UNet2DModel(config);
  const rows = model.params.parameters.map((p) => `${p.name} [${p.shape.join(', ')}] @${p.offset}`);
  model.params.values.dispose();
  model.params.grads.dispose();
  return rows;
};

for (const name of Object.keys(EXPECTED).sort()) {
  test(`${name}: the translated config builds diffusers' parameters and forward (within 1e-5 of the output scale), and translates back`, () => {
    const fixture = readUNetFixture(name);
    const options = parseDiffusersUNetConfig(fixture.config, name);
    const config = unetConfigFromDiffusers(options, name);
    const model = new UNet2DModel(config);
    try {
      // Exactly diffusers' state dict: every tensor the model has, and nothing else (time_proj.W aliases time_proj.weight).
      const weights = fromDiffusersStateDict(model.config, fixture.weights, name);
      assert.equal([...weights.keys()].sort(), model.params.parameters.map((p) => p.name).sort(), `${name}: parameter names`);
      for (const p of model.params.parameters) assert.equal(weights.get(p.name)!.shape, [...p.shape], `${name}: ${p.name}`);
      model.params.load(weights, name);
      const { worst, scale } = fixtureError(model, fixture);
      assert.ok(worst <= 1e-5 * scale, `${name}: max |library - diffusers| = ${worst}, output scale ${scale}`);
    } finally {
      model.params.values.dispose();
      model.params.grads.dispose();
    }
    // And back: the library config gives the same diffusers options, and the same file.
    assert.equal(unetConfigToDiffusers(config), options);
    assert.is(formatDiffusersUNetConfig(unetConfigToDiffusers(config)), fixture.config);
  });
}

/** The largest |library - diffusers| over the fixture's output, and the output's scale (its largest |value|). */
function fixtureError(model: UNet2DModel, fixture: ReturnType<typeof readUNetFixture>): { worst: number; scale: number } {
  const reference = fixture.output.data;
  const worst = tidy(() => {
    const x = Tensor.from(fixture.sample.data, fixture.sample.shape);
    const labels = fixture.classLabels === null ? null
      : model.classInput === 'vectors' ? fixture.classLabels.data : Int32Array.from(fixture.classLabels.data);
    const out = model.forward(x, fixture.timesteps, labels, { mode: 'inference' }).toFloat32Array();
    return out.reduce((m, v, i) => Math.max(m, Math.abs(v - reference[i])), 0);
  });
  return { worst, scale: reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0) };
}

test("the shipped models' configs translate to the configs diffusers loads their real weights with (full/*.json)", () => {
  for (const name of ['mnist', 'colored-mnist']) {
    const { metadata } = decodeSafetensors(readFileSync(join(ROOT, 'models', `${name}.safetensors`)), name);
    const config = readMetadata(metadata, name).config as UNet2DConfig;
    assert.equal(resolveUNetConfig(config), config, `${name}: the stored config is its own resolved form`);
    assert.is(formatDiffusersUNetConfig(unetConfigToDiffusers(config)), text(join(UNET_FIXTURES, 'full', `${name}.json`)), name);
    assert.equal(layout(unetConfigFromDiffusers(unetConfigToDiffusers(config))), layout(config), `${name}: the same parameters, in the same order`);
  }
});

test("google/ddpm-cifar10-32's full config builds: its 35,746,307 parameters under diffusers' names", () => {
  const options = parseDiffusersUNetConfig(text(join(UNET_FIXTURES, 'full', 'ddpm-cifar10-32.json')));
  const config = unetConfigFromDiffusers(options);
  assert.equal({ pad: config.downsamplePadding, flip: config.flipSinToCos, shift: config.freqShift, eps: config.normEps, heads: config.attentionHeadDim },
    { pad: 0, flip: false, shift: 1, eps: 1e-6, heads: null });
  assert.equal(config.downBlockTypes, ['DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D']);
  const model = new UNet2DModel(config);
  assert.is(model.params.size, 35746307);
  assert.is(model.params.get('down_blocks.0.downsamplers.0.conv.weight').shape.join('x'), '128x128x3x3');
  model.params.values.dispose();
  model.params.grads.dispose();
  assert.equal(unetConfigToDiffusers(config), options);
});

test('library configs round-trip through diffusers options: the same network, the same diffusers file', () => {
  const configs: UNet2DConfig[] = [
    {},
    { sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4], numHeads: 2 },
    { sampleSize: 16, blockOutChannels: [8, 8, 16], attentionResolutions: [16, 8], numHeads: 4, normNumGroups: 4, midBlockAttention: false, dropout: 0.1 },
    { sampleSize: 16, blockOutChannels: [8, 16], attentionResolutions: [16], numHeads: 1, normNumGroups: 4, resnetTimeScaleShift: 'scale_shift', numClassEmbeds: 3 },
    { sampleSize: 16, blockOutChannels: [8, 16], attentionResolutions: [], midBlockAttention: false, normNumGroups: 8 },
    { sampleSize: [8, 16], blockOutChannels: [8, 16], downBlockTypes: ['ResnetDownsampleBlock2D', 'AttnDownBlock2D'], attentionHeadDim: 4, normNumGroups: 4,
      actFn: 'mish', normEps: 1e-6, timeEmbeddingType: 'fourier', centerInputSample: true, midBlockScaleFactor: 2, resnetTimeScaleShift: 'scale_shift', attnNormNumGroups: null },
    { sampleSize: 8, blockOutChannels: [8, 32], downBlockTypes: ['SkipDownBlock2D', 'AttnSkipDownBlock2D'], upBlockTypes: ['SkipUpBlock2D', 'SkipUpBlock2D'],
      normNumGroups: 4, attentionHeadDim: null, timeEmbeddingType: 'learned', numTrainTimesteps: 10, classEmbedType: 'timestep', downsamplePadding: 0 },
  ];
  for (const config of configs) {
    const diffusers = formatDiffusersUNetConfig(unetConfigToDiffusers(config));
    const back = unetConfigFromDiffusers(parseDiffusersUNetConfig(diffusers));
    assert.equal(layout(back), layout(config), JSON.stringify(config));
    assert.is(formatDiffusersUNetConfig(unetConfigToDiffusers(back)), diffusers, JSON.stringify(config));
  }
});

test('library configs without a diffusers equivalent are named', () => {
  assert.throws(() => unetConfigToDiffusers({ sampleSize: 28, blockOutChannels: [16, 32, 64], normNumGroups: 8, attentionResolutions: [7, 5] }),
    /attentionResolutions entry 5 matches no level \(the levels are 28, 14, 7 pixels wide\)/);
  assert.throws(() => unetConfigToDiffusers({ sampleSize: 16, blockOutChannels: [8, 16], attentionResolutions: [16], numHeads: 2, normNumGroups: 4 }),
    /numHeads 2 over attention layers of 8 and 16 channels has no diffusers equivalent/);
});

test('numClassEmbeds here is num_class_embeds - 1 there (the null label); one row is only a null label; class types take no table', () => {
  const options = parseDiffusersUNetConfig({ ...parseJsonFixture('base'), num_class_embeds: 11 });
  assert.is(unetConfigFromDiffusers(options).numClassEmbeds, 10);
  assert.is(unetConfigFromDiffusers({ ...options, numClassEmbeds: null }).numClassEmbeds, 0);
  assert.throws(() => unetConfigFromDiffusers({ ...options, numClassEmbeds: 1 }), /num_class_embeds 1 \(a table of one row holds only the null label\)/);
  // diffusers ignores num_class_embeds under class_embed_type 'timestep' (and num_train_timesteps unless 'learned').
  const timestep = unetConfigFromDiffusers({ ...options, classEmbedType: 'timestep', numTrainTimesteps: 1000 });
  assert.equal([timestep.numClassEmbeds, timestep.classEmbedType, timestep.numTrainTimesteps], [0, 'timestep', undefined]);
});

test("'UNetRes' block prefixes, newer diffusers keys at their neutral values, and _-metadata keys read", () => {
  const base = parseJsonFixture('base');
  const options = parseDiffusersUNetConfig({
    ...base, down_block_types: ['UNetResDownBlock2D', 'UNetResAttnDownBlock2D'], _name_or_path: 'somewhere',
    time_embedding_dim: null, mid_block_type: 'UNetMidBlock2D',
  });
  assert.equal(unetConfigFromDiffusers(options), unetConfigFromDiffusers(parseDiffusersUNetConfig(base)));
  assert.equal(options.downBlockTypes, ['UNetResDownBlock2D', 'UNetResAttnDownBlock2D']);
  assert.not.ok(formatDiffusersUNetConfig(options).includes('time_embedding_dim'));
  assert.throws(() => unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...base, mid_block_type: null })), /mid_block_type null/);
  assert.throws(() => formatDiffusersUNetConfig({ ...options, timeEmbeddingDim: 64 }), /time_embedding_dim 64 has no equivalent/);
});

test('a config missing keys takes diffusers defaults (an old file without attention_head_dim gets 8, as diffusers reads it)', () => {
  const old = parseDiffusersUNetConfig({ _class_name: 'UNet2DModel', _diffusers_version: '0.0.4', sample_size: 32, block_out_channels: [8, 16], down_block_types: ['DownBlock2D', 'AttnDownBlock2D'], up_block_types: ['AttnUpBlock2D', 'UpBlock2D'] });
  assert.equal(old, { ...defaultDiffusersUNetOptions(), sampleSize: 32, blockOutChannels: [8, 16], downBlockTypes: ['DownBlock2D', 'AttnDownBlock2D'], upBlockTypes: ['AttnUpBlock2D', 'UpBlock2D'] });
  assert.is(old.attentionHeadDim, 8);
});

test('invalid configs fail in one line naming the key and the value', () => {
  const base = parseJsonFixture('base');
  const cases: [object | string, RegExp][] = [
    ['{"sample_size": 8,', /config.json is not valid JSON/],
    [{ ...base, _class_name: 'UNet2DConditionModel' }, /describes a 'UNet2DConditionModel'; this library reads UNet2DModel configs only/],
    [{ ...base, cross_attention_dim: 32 }, /unknown option 'cross_attention_dim'/],
    [{ ...base, layers_per_block: 0 }, /layers_per_block must be an integer >= 1, got 0/],
    [{ ...base, act_fn: 'tanh' }, /act_fn must be one of 'silu', 'swish', 'mish', 'gelu', 'relu', got 'tanh'/],
    [{ ...base, down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D'] }, /down_block_types must be a non-empty list of block types/],
    [{ ...base, up_block_types: ['UpBlock2D'] }, /up_block_types has 1 entries but block_out_channels \[4, 8\] has 2/],
    [{ ...base, attention_head_dim: 0 }, /attention_head_dim must be an integer >= 1 or null, got 0/],
    [{ ...base, sample_size: [8] }, /sample_size must be an integer >= 1, \[height, width\] or null, got \[8\]/],
    [{ ...base, norm_eps: -1 }, /norm_eps must be a positive number, got -1/],
    [[1, 2], /the config must be a JSON object/],
  ];
  for (const [config, pattern] of cases) {
    assert.throws(() => parseDiffusersUNetConfig(config, 'unet/config.json'), (e: Error) => pattern.test(e.message) && !e.message.includes('\n'), String(pattern));
  }
  const fromFile = (overrides: object) => () => unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...base, ...overrides }), 'unet/config.json');
  const oneLine = (pattern: RegExp) => (e: Error) => pattern.test(e.message) && !e.message.includes('\n');
  assert.throws(fromFile({ sample_size: null }), oneLine(/^unet\/config.json: this library cannot build this UNet2DModel: sample_size null \(this library needs the image size\)/));
  assert.throws(fromFile({ downsample_padding: 2 }), oneLine(/downsample_padding 2 \(a stride-2 convolution padded so would not halve the size/));
  assert.throws(fromFile({ in_channels: 1, down_block_types: ['SkipDownBlock2D', 'DownBlock2D'] }),
    oneLine(/^unet\/config.json: UNet2DModel: downBlockTypes\[0\] 'SkipDownBlock2D' convolves the 3-channel input image \(its skip_conv\): inChannels must be 3, got 1/));
  assert.throws(fromFile({ down_block_types: ['DownBlock2D', 'SkipDownBlock2D', 'DownBlock2D'], block_out_channels: [4, 8, 8], up_block_types: ['UpBlock2D', 'UpBlock2D', 'UpBlock2D'] }),
    oneLine(/downBlockTypes\[1\] 'SkipDownBlock2D' downsamples the input image through the levels above it, so downBlockTypes\[0\] 'DownBlock2D' must be a skip block too/));
  assert.throws(fromFile({ down_block_types: ['AttnSkipDownBlock2D', 'DownBlock2D'] }),
    oneLine(/downBlockTypes\[0\] 'AttnSkipDownBlock2D' normalises its attention over 32 groups: its 4 channels must be a multiple of 32/));
  assert.throws(fromFile({ up_block_types: ['SkipUpBlock2D', 'UpBlock2D'] }),
    oneLine(/upBlockTypes\[1\] 'UpBlock2D' must be a skip block: upBlockTypes\[0\] 'SkipUpBlock2D' starts the output image/));
  assert.throws(fromFile({ attention_head_dim: 16 }), oneLine(/attentionHeadDim \(16\) is wider than the 8 channels of down_blocks.1.attentions: it would have no head/));
});

function parseJsonFixture(name: string): Record<string, unknown> {
  return JSON.parse(text(join(UNET_FIXTURES, `${name}.json`)));
}

test.run();
