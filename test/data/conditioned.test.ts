// Conditioning tasks and labels per attribute over datasets (bindings/data/conditioned.ts, attributes.ts): the
// colorize condition is the digit's grey image (the mnist digit itself), the superres condition the 2x2 averages
// upsampled; the attribute codes and names; and training on them: label dropout per attribute, and a conditioned
// run bit-identical with 1 and 2 workers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ArrayDataset, ConditionedDataset, DDPMScheduler, decodeAttributes, init, inputOf, conditionFromInput, tidy, Trainer, UNet2DModel,
} from '../../bindings/index.ts';
import { coloredMnistAttributesDataset, coloredMnistDataset, mnistDataset } from '../../bindings/node.ts';
import { assertClose, seededFloats } from '../helpers.ts';

await init();

test('colorize: the condition of a colored digit is the grey digit itself', () => {
  const colored = new ConditionedDataset(coloredMnistDataset({ split: 'test', heldOut: 3 }), 'colorize');
  const grey = mnistDataset({ split: 'test', heldOut: 3 });
  assert.equal(colored.condition, { task: 'colorize', shape: [1, 28, 28], inputShape: [1, 28, 28] });
  tidy(() => {
    const indices = Int32Array.from({ length: colored.size }, (_, i) => i);
    assert.equal(Array.from(colored.batch(indices).condition.toFloat32Array()), Array.from(grey.batch(indices).x.toFloat32Array()));
  });
});

test('superres: the input is the 2x2 averages, the condition that image upsampled (nearest)', () => {
  const values = seededFloats(2 * 1 * 4 * 4, 3);
  const base = new ArrayDataset('tiny', values, [1, 4, 4]);
  const data = new ConditionedDataset(base, 'superres');
  assert.equal(data.condition, { task: 'superres', shape: [1, 4, 4], inputShape: [1, 2, 2] });
  tidy(() => {
    const { x, condition } = data.batch(Int32Array.of(1, 0));
    const low = inputOf('superres', x).toFloat32Array();
    const expectedLow = [0, 1, 2, 3].map((k) => {
      const [by, bx] = [Math.floor(k / 2) * 2, (k % 2) * 2];
      const at = (y: number, xx: number) => values[16 + y * 4 + xx];
      return (at(by, bx) + at(by, bx + 1) + at(by + 1, bx) + at(by + 1, bx + 1)) / 4;
    });
    assertClose(low.subarray(0, 4), expectedLow, { atol: 1e-7, rtol: 0 }, 'the low-resolution input of item 0 (sample 1)');
    const up = condition.toFloat32Array();
    for (let y = 0; y < 4; y++) for (let xx = 0; xx < 4; xx++) assert.is(up[y * 4 + xx], low[Math.floor(y / 2) * 2 + Math.floor(xx / 2)]);
    assert.equal(Array.from(conditionFromInput('superres', inputOf('superres', x)).toFloat32Array()), Array.from(up));
  });
  assert.throws(() => new ConditionedDataset(new ArrayDataset('odd', new Float32Array(9), [1, 3, 3]), 'superres'), /superres: the samples' height and width must be even/);
  assert.throws(() => new ConditionedDataset(base, 'colorize'), /colorize: the samples must be colour images \[3, H, W\]/);
});

test('colored-mnist-attributes: codes (digit, color) with bases (11, 7), names for every code', () => {
  const data = coloredMnistAttributesDataset({ split: 'test', heldOut: 2 });
  const plain = coloredMnistDataset({ split: 'test', heldOut: 2 });
  assert.is(data.numClasses, 76);
  assert.is(data.classNames[49], '7 red');
  assert.is(data.classNames[55], '7 any');
  assert.is(data.classNames[70], 'any red');
  tidy(() => {
    const indices = Int32Array.from({ length: data.size }, (_, i) => i);
    const codes = data.batch(indices).labels!, labels = plain.batch(indices).labels!;
    codes.forEach((code, i) => assert.equal(decodeAttributes(code, [10, 6]), [Math.floor(labels[i] / 6), labels[i] % 6]));
  });
});

test('training: label dropout per attribute, each on its own', () => {
  const data = coloredMnistAttributesDataset({ split: 'test', heldOut: 20, imageSize: 28 });
  const model = new UNet2DModel({ sampleSize: 28, inChannels: 3, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [], numHeads: 1, normNumGroups: 2, classAttributes: [10, 6] }, 0);
  const trainer = new Trainer({ model, scheduler: new DDPMScheduler(), dataset: data, batchSize: 200, condDropProb: 0.3 });
  const { labels, x, target } = trainer.drawBatch(0);
  x.dispose();
  target?.dispose();
  const values = Array.from(labels!, (code) => decodeAttributes(code, [10, 6]));
  const droppedDigit = values.filter(([d]) => d === 10).length / 200, droppedColor = values.filter(([, c]) => c === 6).length / 200;
  const both = values.filter(([d, c]) => d === 10 && c === 6).length / 200;
  assert.ok(Math.abs(droppedDigit - 0.3) < 0.1 && Math.abs(droppedColor - 0.3) < 0.1, `each attribute dropped about 30%: ${droppedDigit}, ${droppedColor}`);
  assert.ok(both < 0.2 && both > 0, `both dropped about 9% (independently): ${both}`);
});

test('training a conditioned model: the same weights with 1 and 2 workers', async () => {
  const data = new ConditionedDataset(new ArrayDataset('tiny', seededFloats(16 * 3 * 8 * 8, 5), [3, 8, 8]), 'colorize');
  const make = (workers: number) => new Trainer({
    model: new UNet2DModel({ sampleSize: 8, inChannels: 3, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 1, normNumGroups: 2, conditionChannels: 1 }, 1),
    scheduler: new DDPMScheduler({ numTrainTimesteps: 50 }), dataset: data, batchSize: 8, seed: 2, workers, warmupSteps: 1,
  });
  const weights: Float32Array[] = [];
  for (const workers of [1, 2]) {
    const trainer = make(workers);
    for await (const _ of trainer.run({ steps: 2 })) { /* train */ }
    weights.push(trainer.model.params.values.toFloat32Array());
    await trainer.dispose();
  }
  assert.equal(Array.from(weights[1]), Array.from(weights[0]));
  const plain = new UNet2DModel({ sampleSize: 8, inChannels: 3, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 1, normNumGroups: 2 }, 1);
  assert.throws(() => new Trainer({ model: plain, scheduler: new DDPMScheduler(), dataset: data }), /the dataset 'tiny' pairs each sample with a conditioning image \(colorize\), but the model takes none/);
});

test.run();
