// diffusers' UNet2DModel config.json both ways (bindings/interop/diffusers-config.ts, python-json.ts), against configs
// written by the real diffusers v0.27.2 (test/fixtures/unet2d, made by scripts/fixtures/unet_configs.py): every
// file re-formats to its exact bytes; each config either builds this library's UNet2DModel with diffusers' forward
// output, or fails naming the options it cannot build yet; the shipped models translate to the configs diffusers
// loads their real weights with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  defaultDiffusersUNetOptions, formatDiffusersUNetConfig, parseDiffusersUNetConfig, unetConfigFromDiffusers, unetConfigToDiffusers,
} from '../../bindings/interop/diffusers-config.ts';
import { readMetadata } from '../../bindings/models/model-file.ts';
import { formatPythonJson, PythonFloat, pythonFloatRepr } from '../../bindings/io/python-json.ts';
import { decodeSafetensors } from '../../bindings/io/safetensors.ts';
import { init, Tensor, tidy, UNet2DModel, type UNet2DConfig } from '../../bindings/index.ts';
import { resolveUNetConfig } from '../../bindings/models/unet2d-config.ts';
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

for (const name of Object.keys(EXPECTED).sort()) {
  const expected = EXPECTED[name];
  if (expected === 'builds') {
    test(`${name}: the translated config builds a UNet2DModel whose forward equals diffusers' within 1e-5 of the output scale`, () => {
      const fixture = readUNetFixture(name);
      const options = parseDiffusersUNetConfig(fixture.config, name);
      const model = new UNet2DModel(unetConfigFromDiffusers(options, name));
      model.params.load(fixture.weights, name);
      const reference = fixture.output.data;
      const worst = tidy(() => {
        const x = Tensor.from(fixture.sample.data, fixture.sample.shape);
        const labels = fixture.classLabels ? Int32Array.from(fixture.classLabels.data) : null;
        const out = model.forward(x, Int32Array.from(fixture.timesteps), labels).toFloat32Array();
        return out.reduce((m, v, i) => Math.max(m, Math.abs(v - reference[i])), 0);
      });
      const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      model.params.values.dispose();
      model.params.grads.dispose();
      assert.ok(worst <= 1e-5 * scale, `${name}: max |library - diffusers| = ${worst}, output scale ${scale}`);
      // And back: the library config gives the same diffusers options.
      assert.equal(unetConfigToDiffusers(unetConfigFromDiffusers(options)), options);
    });
  } else {
    test(`${name}: the translation fails in one line naming ${expected.map((e) => e.split(' ')[0]).join(', ')}`, () => {
      const options = parseDiffusersUNetConfig(readUNetFixture(name).config, `${name}.json`);
      let message = '';
      try {
        unetConfigFromDiffusers(options, `${name}.json`);
      } catch (error) {
        message = (error as Error).message;
      }
      assert.ok(message.startsWith(`${name}.json: this library cannot build this UNet2DModel yet: `), message || 'no error');
      assert.not.ok(message.includes('\n'), message);
      for (const part of expected) assert.ok(message.includes(part), `'${part}' not in: ${message}`);
    });
  }
}

test("the shipped models' configs translate to the configs diffusers loads their real weights with (full/*.json)", () => {
  for (const name of ['mnist', 'colored-mnist']) {
    const { metadata } = decodeSafetensors(readFileSync(join(ROOT, 'models', `${name}.safetensors`)), name);
    const config = readMetadata(metadata, name).config as UNet2DConfig;
    assert.is(formatDiffusersUNetConfig(unetConfigToDiffusers(config)), text(join(UNET_FIXTURES, 'full', `${name}.json`)), name);
    assert.equal(unetConfigFromDiffusers(unetConfigToDiffusers(config)), resolveUNetConfig(config), name);
  }
});

test("google/ddpm-cifar10-32's full config: everything but the four options the issue names is expressible", () => {
  const options = parseDiffusersUNetConfig(text(join(UNET_FIXTURES, 'full', 'ddpm-cifar10-32.json')));
  assert.throws(() => unetConfigFromDiffusers(options), (e: Error) =>
    e.message.endsWith('downsample_padding 0 (stride-2 convolutions pad 1 on every side); norm_eps 1e-06 (GroupNorm epsilon is 1e-05)')
    && e.message.includes('flip_sin_to_cos false') && e.message.includes('freq_shift 1'));
  const config = unetConfigFromDiffusers({ ...options, downsamplePadding: 1, flipSinToCos: true, freqShift: 0, normEps: 1e-5 });
  assert.equal(config.attentionResolutions, [16]);
  assert.is(config.numHeads, 1);
  assert.equal(config.blockOutChannels, [128, 256, 256, 256]);
});

test('library configs round-trip through diffusers options', () => {
  const configs: UNet2DConfig[] = [
    {},
    { sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [4], numHeads: 2 },
    { sampleSize: 16, blockOutChannels: [8, 8, 16], attentionResolutions: [16, 8], numHeads: 4, normNumGroups: 4, midBlockAttention: false, dropout: 0.1 },
    { sampleSize: 16, blockOutChannels: [8, 16], attentionResolutions: [16], numHeads: 1, normNumGroups: 4, resnetTimeScaleShift: 'scale_shift', numClassEmbeds: 3 },
    { sampleSize: 16, blockOutChannels: [8, 16], attentionResolutions: [], midBlockAttention: false, normNumGroups: 8 },
  ];
  for (const config of configs) {
    const text = formatDiffusersUNetConfig(unetConfigToDiffusers(config));
    assert.equal(unetConfigFromDiffusers(parseDiffusersUNetConfig(text)), resolveUNetConfig(config), JSON.stringify(config));
  }
});

test('library configs without a diffusers equivalent are named', () => {
  assert.throws(() => unetConfigToDiffusers({ sampleSize: 28, blockOutChannels: [16, 32, 64], normNumGroups: 8, attentionResolutions: [7, 5] }),
    /attentionResolutions entry 5 matches no level \(the levels are 28, 14, 7 pixels wide\)/);
  assert.throws(() => unetConfigToDiffusers({ sampleSize: 16, blockOutChannels: [8, 16], attentionResolutions: [16], numHeads: 2, normNumGroups: 4 }),
    /numHeads 2 over attention layers of 8 and 16 channels has no diffusers equivalent/);
});

test('numClassEmbeds here is num_class_embeds - 1 there (the null label); one row is only a null label', () => {
  const options = parseDiffusersUNetConfig({ ...parseJsonFixture('base'), num_class_embeds: 11 });
  assert.is(unetConfigFromDiffusers(options).numClassEmbeds, 10);
  assert.is(unetConfigFromDiffusers({ ...options, numClassEmbeds: null }).numClassEmbeds, 0);
  assert.throws(() => unetConfigFromDiffusers({ ...options, numClassEmbeds: 1 }), /num_class_embeds 1 \(a table of one row holds only the null label\)/);
});

test("options that change nothing in a given network are accepted: 'swish', padding and resample types without a resampler", () => {
  const base = parseJsonFixture('base');
  assert.is(unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...base, act_fn: 'swish' })).sampleSize, 8);
  // One level: no downsampler, so neither the padding nor the resample types matter.
  const oneLevel = { ...base, block_out_channels: [8], down_block_types: ['AttnDownBlock2D'], up_block_types: ['AttnUpBlock2D'] };
  const config = unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...oneLevel, downsample_padding: 0, downsample_type: 'resnet', upsample_type: 'resnet' }));
  assert.equal(config.attentionResolutions, [8]);
  // downsample_type 'resnet' leaves DownBlock2D's convolution as it is.
  assert.is(unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...base, downsample_type: 'resnet' })).sampleSize, 8);
  // A square [h, w] is a size.
  assert.is(unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...base, sample_size: [8, 8] })).sampleSize, 8);
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
  assert.throws(() => unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...base, sample_size: null })), /sample_size null \(this library needs the image size\)/);
  assert.throws(() => unetConfigFromDiffusers(parseDiffusersUNetConfig({ ...base, up_block_types: ['UpBlock2D', 'UpBlock2D'] })),
    /up_block_types\[0\] 'UpBlock2D' \(attention mirrors down_block_types\[1\] 'AttnDownBlock2D'\)/);
});

function parseJsonFixture(name: string): Record<string, unknown> {
  return JSON.parse(text(join(UNET_FIXTURES, `${name}.json`)));
}

test.run();
