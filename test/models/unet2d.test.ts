import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops, Tensor, tidy, UNet2DModel, type UNet2DConfig } from '../../bindings/index.ts';
import { seededFloats } from '../helpers.ts';
import { gradcheckModel } from './gradcheck.ts';

await init();

const TINY: UNet2DConfig = {
  sampleSize: 8, inChannels: 2, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2,
  attentionResolutions: [4], numHeads: 2,
};

test('UNet2DModel builds diffusers\' DDPM-CIFAR10 architecture: 35,746,307 parameters, diffusers names', () => {
  const model = new UNet2DModel({ sampleSize: 32, blockOutChannels: [128, 256, 256, 256], layersPerBlock: 2, attentionResolutions: [16], numHeads: 1 });
  assert.is(model.params.size, 35746307); // google/ddpm-cifar10-32
  const shape = (name: string) => model.params.get(name).shape.join('x');
  assert.is(shape('conv_in.weight'), '128x3x3x3');
  assert.is(shape('time_embedding.linear_1.weight'), '512x128');
  assert.is(shape('down_blocks.0.resnets.0.conv1.weight'), '128x128x3x3');
  assert.is(shape('down_blocks.1.attentions.1.to_q.weight'), '256x256');
  assert.is(shape('down_blocks.2.downsamplers.0.conv.weight'), '256x256x3x3');
  assert.is(shape('mid_block.attentions.0.to_out.0.bias'), '256');
  assert.is(shape('up_blocks.2.attentions.2.group_norm.weight'), '256');
  assert.is(shape('up_blocks.3.resnets.0.conv_shortcut.weight'), '128x384x1x1');
  assert.is(shape('conv_norm_out.weight'), '128');
  assert.is(shape('conv_out.weight'), '3x128x3x3');
  model.params.values.dispose();
  model.params.grads.dispose();
});

for (const [label, extra] of [
  ['default time conditioning', {}],
  ['AdaGN (scale_shift) with class labels', { resnetTimeScaleShift: 'scale_shift', numClassEmbeds: 3 }],
  ['two layers per block, three levels', { blockOutChannels: [4, 4, 8], layersPerBlock: 2, attentionResolutions: [8, 2] }],
] as [string, UNet2DConfig][]) {
  test(`UNet2DModel gradient check (${label}): backward agrees with finite differences`, () => {
    const model = new UNet2DModel({ ...TINY, ...extra }, 3);
    tidy(() => {
      const x = Tensor.from(seededFloats(2 * 2 * 8 * 8, 11), [2, 2, 8, 8]);
      const labels = model.numClasses > 0 ? Int32Array.from([0, 3]) : null; // 3 is the null label
      gradcheckModel(model, x, Int32Array.from([7, 640]), labels, seededFloats(x.size, 12));
    });
  });
}

test('UNet2DModel: an item\'s output does not depend on the rest of the batch (bit-identical)', () => {
  const model = new UNet2DModel({ ...TINY, numClassEmbeds: 2 }, 5);
  tidy(() => {
    const x = Tensor.from(seededFloats(3 * 2 * 64, 2), [3, 2, 8, 8]);
    const all = model.forward(x, Int32Array.from([1, 50, 999]), Int32Array.from([0, 1, 2])).toFloat32Array();
    const one = model.forward(x.subview(128, [1, 2, 8, 8]), Int32Array.from([50]), Int32Array.from([1])).toFloat32Array();
    assert.equal(Array.from(one), Array.from(all.subarray(128, 256)));
  });
});

test('UNet2DModel: parameters are a function of the seed', () => {
  const a = new UNet2DModel(TINY, 1).params.values.toFloat32Array();
  const b = new UNet2DModel(TINY, 1).params.values.toFloat32Array();
  const c = new UNet2DModel(TINY, 2).params.values.toFloat32Array();
  assert.equal(Array.from(a), Array.from(b));
  assert.not.equal(Array.from(a), Array.from(c));
  // PyTorch's default: conv_in weights uniform in ±1/sqrt(fan_in), norms start at 1 and 0.
  const model = new UNet2DModel(TINY, 1);
  const w = model.params.get('conv_in.weight').value.toFloat32Array();
  const bound = 1 / Math.sqrt(2 * 9);
  assert.ok(w.every((v) => Math.abs(v) <= bound) && w.some((v) => Math.abs(v) > bound / 2));
  assert.ok(model.params.get('conv_norm_out.weight').value.toFloat32Array().every((v) => v === 1));
});

test('UNet2DModel rejects bad configs and inputs with messages naming them', () => {
  assert.throws(() => new UNet2DModel({ ...TINY, sampleSize: 6, blockOutChannels: [4, 8, 8] }), /sampleSize \(6\) must be divisible by 4/);
  assert.throws(() => new UNet2DModel({ ...TINY, normNumGroups: 3 }), /normNumGroups \(3\) must divide every entry of blockOutChannels/);
  assert.throws(() => new UNet2DModel({ ...TINY, resnetTimeScaleShift: 'adagn' as never }), /resnetTimeScaleShift must be 'default' or 'scale_shift'/);
  assert.throws(() => new UNet2DModel({ ...TINY, blockSize: 3 } as never), /unknown option 'blockSize'/);
  assert.throws(() => new UNet2DModel({ ...TINY, numHeads: 3 }), /numHeads \(3\) must divide the channels \(8\)/);
  const model = new UNet2DModel({ ...TINY, numClassEmbeds: 2 });
  tidy(() => {
    const x = ops.randn([1, 2, 8, 8], { seed: 0 });
    assert.throws(() => model.forward(x, Int32Array.from([0])), /class-conditional \(2 classes\): give one class label per sample/);
    assert.throws(() => model.forward(x, Int32Array.from([0]), Int32Array.from([5])), /class label 5 is out of range: labels are 0..1, and 2 is the null label/);
    assert.throws(() => model.forward(ops.randn([1, 3, 8, 8], { seed: 0 }), Int32Array.from([0]), Int32Array.from([0])), /x must be \[N, 2, 8, 8\], got \[1, 3, 8, 8\]/);
  });
});

test.run();
