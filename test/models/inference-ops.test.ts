/**
 * The U-Net's forward built from the inference ops (conv2dPacked, groupNormSilu, attentionChannels; the assembly
 * the sampler-forward benchmark measures, bench/unet-fused.ts) gives the bits of `model.forward` in inference
 * mode, as the pipelines sample: an inference mode built on these ops samples exactly today's images.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, tidy, UNet2DModel, type UNet2DConfig } from '../../bindings/index.ts';
import { decodeModel } from '../../bindings/models/model-file.ts';
import { fusedBlocks, prepareFused } from '../../bench/unet-fused.ts';
import { direct, runUNet } from '../../bench/unet-forward.ts';
import { seededFloats } from '../helpers.ts';

await init();

const TINY: UNet2DConfig = {
  sampleSize: 12, inChannels: 3, blockOutChannels: [8, 16], layersPerBlock: 1, normNumGroups: 4,
  attentionResolutions: [6], numHeads: 2,
};

function assertSameForward(model: UNet2DModel, N: number, label: string): void {
  const weights = prepareFused(model);
  tidy(() => {
    const [C, S] = [model.sampleShape[0], model.sampleShape[1]];
    const x = Tensor.from(seededFloats(N * C * S * S, 5).map((u) => 1.5 * u), [N, C, S, S]);
    const timesteps = Int32Array.from({ length: N }, (_, i) => 37 + 211 * i);
    const labels = model.numClasses > 0 ? Int32Array.from({ length: N }, (_, i) => i % (model.numClasses + 1)) : null;
    const expected = new Uint32Array(model.forward(x, timesteps, labels, { mode: 'inference' }).toFloat32Array().buffer);
    const actual = new Uint32Array(runUNet(model, fusedBlocks(model, weights, direct), x, timesteps, labels).toFloat32Array().buffer);
    assert.is(actual.length, expected.length);
    const first = actual.findIndex((v, i) => v !== expected[i]);
    assert.is(first, -1, `${label}: element ${first} of ${actual.length} differs`);
  });
  weights.dispose();
}

for (const [label, extra] of [
  ['default time conditioning (a per-channel bias)', {}],
  ['AdaGN (scale_shift) with class labels', { resnetTimeScaleShift: 'scale_shift', numClassEmbeds: 3 }],
  ['two layers per block, three levels, attention at 12 and 3', { blockOutChannels: [8, 8, 16], layersPerBlock: 2, attentionResolutions: [12, 3] }],
  ['one output channel (the narrow output convolution)', { inChannels: 1, outChannels: 1, resnetTimeScaleShift: 'scale_shift' }],
] as [string, UNet2DConfig][]) {
  test(`inference ops give UNet2DModel.forward's bits: ${label}`, () => {
    const model = new UNet2DModel({ ...TINY, ...extra }, 7);
    for (const N of [1, 3]) assertSameForward(model, N, `batch ${N}`);
    model.params.values.dispose();
    model.params.grads.dispose();
  });
}

test('inference ops give the shipped digit model\'s forward bits at batch 2', () => {
  const { model } = decodeModel(readFileSync(new URL('../../models/mnist.safetensors', import.meta.url)), 'mnist');
  assertSameForward(model as UNet2DModel, 2, 'models/mnist.safetensors');
  model.params.values.dispose();
  model.params.grads.dispose();
});

test.run();
