/**
 * The inference mode (model.forward with { mode: 'inference' }, as the pipelines sample) runs the fused inference
 * kernels (conv2dPacked, groupNormSilu, attentionChannels) where a block allows, and the layers elsewhere; its
 * output has the 'train' mode's bits, with and without a cache of packed weights, for every kind of block.
 * With `convolutions: 'winograd'` the 3x3 convolutions of 16 or more channels run by Winograd's F(2x2, 3x3): not
 * the layers' bits, but close to them, and the same with or without a cache.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, init, memoryStats, Tensor, tidy, UNet2DModel, type UNet2DConfig } from '../../bindings/index.ts';
import { InferenceCache } from '../../bindings/nn/inference-cache.ts';
import { seededFloats } from '../helpers.ts';

await init();

const TINY: UNet2DConfig = {
  sampleSize: 12, inChannels: 3, blockOutChannels: [8, 16], layersPerBlock: 1, normNumGroups: 4,
  attentionResolutions: [6], numHeads: 2,
};

const bits = (t: Tensor) => Array.from(new Uint32Array(t.toFloat32Array().buffer));

function assertSameForward(model: UNet2DModel, N: number, label: string): void {
  const cache = new InferenceCache();
  tidy(() => {
    const [C, H, W] = model.sampleShape;
    const x = Tensor.from(seededFloats(N * C * H * W, 5).map((u) => 1.5 * u), [N, C, H, W]);
    const timesteps = Int32Array.from({ length: N }, (_, i) => 37 + 211 * i);
    const labels = model.numClasses > 0 ? Int32Array.from({ length: N }, (_, i) => i % (model.numClasses + 1)) : null;
    const expected = bits(model.forward(x, timesteps, labels));
    for (const options of [{ mode: 'inference' as const }, { mode: 'inference' as const, cache }, { mode: 'inference' as const, cache }]) {
      const actual = bits(model.forward(x, timesteps, labels, options));
      const first = actual.findIndex((v, i) => v !== expected[i]);
      assert.is(first, -1, `${label}${options.cache ? ' (cached weights)' : ''}: element ${first} of ${actual.length} differs`);
    }
  });
  cache.dispose();
}

for (const [label, extra] of [
  ['default time conditioning (a per-channel bias)', {}],
  ['AdaGN (scale_shift) with class labels', { resnetTimeScaleShift: 'scale_shift', numClassEmbeds: 3 }],
  ['two layers per block, three levels, attention at 12 and 3', { blockOutChannels: [8, 8, 16], layersPerBlock: 2, attentionResolutions: [12, 3] }],
  ['one output channel (the narrow output convolution)', { inChannels: 1, outChannels: 1, resnetTimeScaleShift: 'scale_shift' }],
  ['blocks the fused kernels do not take: mish, resnet resampling, narrow heads', {
    actFn: 'mish', downBlockTypes: ['ResnetDownsampleBlock2D', 'AttnDownBlock2D'], upBlockTypes: ['AttnUpBlock2D', 'ResnetUpsampleBlock2D'],
    attentionResolutions: undefined, numHeads: undefined, attentionHeadDim: 3,
  }],
] as [string, UNet2DConfig][]) {
  test(`inference mode gives the layers' bits: ${label}`, () => {
    const config = Object.fromEntries(Object.entries({ ...TINY, ...extra }).filter(([, v]) => v !== undefined)) as UNet2DConfig;
    const model = new UNet2DModel(config, 7);
    for (const N of [1, 3]) assertSameForward(model, N, `batch ${N}`);
    model.params.values.dispose();
    model.params.grads.dispose();
  });
}

test('inference mode gives the shipped digit model\'s bits at batch 2', () => {
  const { model } = decodeModel(readFileSync(new URL('../../models/mnist.safetensors', import.meta.url)), 'mnist');
  assertSameForward(model as UNet2DModel, 2, 'models/mnist.safetensors');
  model.params.values.dispose();
  model.params.grads.dispose();
});

/**
 * The Winograd pass against the layers: it must differ (the option took effect) by at most `tolerance` of the
 * output's largest magnitude. Each Winograd convolution is within a few 1e-7 of its output's scale
 * (test/kernels/conv2d-winograd.test.ts); 1e-5 leaves room for the errors of two dozen layers in sequence.
 */
function assertWinogradClose(model: UNet2DModel, N: number, label: string, tolerance = 1e-5): void {
  const cache = new InferenceCache();
  tidy(() => {
    const [C, H, W] = model.sampleShape;
    const x = Tensor.from(seededFloats(N * C * H * W, 8).map((u) => 1.5 * u), [N, C, H, W]);
    const timesteps = Int32Array.from({ length: N }, (_, i) => 91 + 301 * i);
    const labels = model.numClasses > 0 ? Int32Array.from({ length: N }, (_, i) => i % model.numClasses) : null;
    const expected = model.forward(x, timesteps, labels).toFloat32Array();
    const passes = [{ cache: null }, { cache }, { cache }].map((extra) =>
      model.forward(x, timesteps, labels, { mode: 'inference', convolutions: 'winograd', ...extra }).toFloat32Array());
    const winograd = passes[0];
    const words = (values: Float32Array) => Array.from(new Uint32Array(values.buffer));
    for (const other of passes.slice(1)) assert.equal(words(other), words(winograd), `${label}: the same bits with a cache`);
    let largest = 0, worst = 0, differ = 0;
    for (let i = 0; i < expected.length; i++) {
      largest = Math.max(largest, Math.abs(expected[i]));
      worst = Math.max(worst, Math.abs(winograd[i] - expected[i]));
      if (winograd[i] !== expected[i]) differ++;
    }
    assert.ok(differ > 0, `${label}: the Winograd pass gave the layers' bits: it did not run`);
    assert.ok(worst <= tolerance * largest, `${label}: max |winograd - layers| ${worst} > ${tolerance} x max |out| ${largest}`);
  });
  cache.dispose();
}

test("convolutions 'winograd': close to the layers' output, on every kind of block that has 3x3 convolutions of 16 channels", () => {
  for (const extra of [
    { blockOutChannels: [16, 32], normNumGroups: 8, numClassEmbeds: 3, resnetTimeScaleShift: 'scale_shift' },
    { blockOutChannels: [16, 16, 32], normNumGroups: 8, layersPerBlock: 2, attentionResolutions: [12, 3] },
  ] as UNet2DConfig[]) {
    const model = new UNet2DModel({ ...TINY, ...extra }, 11);
    for (const N of [1, 3]) assertWinogradClose(model, N, `${JSON.stringify(extra.blockOutChannels)}, batch ${N}`);
    model.params.values.dispose();
    model.params.grads.dispose();
  }
});

test("convolutions 'winograd' on the shipped digit model at batch 2: within 1e-5 of its output's scale", () => {
  const { model } = decodeModel(readFileSync(new URL('../../models/mnist.safetensors', import.meta.url)), 'mnist');
  assertWinogradClose(model as UNet2DModel, 2, 'models/mnist.safetensors');
  model.params.values.dispose();
  model.params.grads.dispose();
});

test("convolutions: anything but 'direct' or 'winograd', and 'winograd' in a training pass, are refused", () => {
  const model = new UNet2DModel(TINY, 3);
  tidy(() => {
    const x = Tensor.from(seededFloats(3 * 144, 2), [1, 3, 12, 12]);
    const pass = (options: object) => () => model.forward(x, Int32Array.from([5]), null, options);
    assert.throws(pass({ mode: 'inference', convolutions: 'fast' }), /^forward: convolutions must be 'direct' or 'winograd', got fast$/);
    assert.throws(pass({ convolutions: 'winograd' }), /convolutions 'winograd' is for inference passes/);
  });
  model.params.values.dispose();
  model.params.grads.dispose();
});

test('an inference pass keeps nothing for backward, and a disposed cache leaves no memory behind', () => {
  const model = new UNet2DModel(TINY, 3);
  const before = memoryStats().liveBytes;
  const cache = new InferenceCache();
  tidy(() => {
    const x = Tensor.from(seededFloats(2 * 3 * 144, 1), [2, 3, 12, 12]);
    model.forward(x, Int32Array.from([5, 9]), null, { mode: 'inference', cache });
    assert.throws(() => model.backward(Tensor.zeros([2, 3, 12, 12])), /backward\(\) needs a forward\(\) in 'train' mode first/);
  });
  assert.ok(memoryStats().liveBytes > before, 'the cache holds the packed weights');
  cache.dispose();
  assert.is(memoryStats().liveBytes, before);
  // One cache for both kinds of pass holds both kinds of weights, and frees them all.
  const wide = new UNet2DModel({ ...TINY, blockOutChannels: [16, 32], normNumGroups: 8 }, 3);
  const start = memoryStats().liveBytes;
  tidy(() => {
    const x = Tensor.from(seededFloats(2 * 3 * 144, 1), [2, 3, 12, 12]);
    for (const convolutions of ['direct', 'winograd'] as const) wide.forward(x, Int32Array.from([5, 9]), null, { mode: 'inference', cache, convolutions });
  });
  assert.ok(memoryStats().liveBytes > start, 'the cache holds both kinds of weights');
  cache.dispose();
  assert.is(memoryStats().liveBytes, start);
  wide.params.values.dispose();
  wide.params.grads.dispose();
});

test.run();
