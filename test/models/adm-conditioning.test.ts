// The U-Net's new conditioning: a conditioning image joined to the input (conditionChannels; nn/condition-input.ts),
// labels per attribute (classAttributes; nn/attribute-embedding.ts, core/attribute-labels.ts) with composed
// guidance (models/guidance.ts), and an output that holds a learned variance (outChannels 2C). Gradients against
// finite differences, batch independence, the inference pass's bits, parameter names, and one-line errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  attributeLabelCount, composedGuidedForward, decodeAttributes, encodeAttributes, init, onlyAttribute, predictsVariance, tidy,
  UNet2DModel, unetConfigToDiffusers, type UNet2DConfig,
} from '../../bindings/index.ts';
import { assertClose, randomTensor, seededFloats } from '../helpers.ts';
import { gradcheckModel } from './gradcheck.ts';

await init();

const BASE: UNet2DConfig = { sampleSize: 8, inChannels: 3, blockOutChannels: [4, 8], layersPerBlock: 1, attentionResolutions: [4], numHeads: 2, normNumGroups: 2 };

test('attribute labels: the mixed radix of the values with bases size + 1, the all-any label last', () => {
  const sizes = [10, 6];
  assert.is(attributeLabelCount(sizes), 76);
  assert.is(encodeAttributes([7, 0], sizes), 49);
  assert.is(encodeAttributes([7, 6], sizes), 55);
  assert.is(encodeAttributes([10, 0], sizes), 70);
  assert.is(encodeAttributes([10, 6], sizes), 76);
  for (let label = 0; label <= 76; label++) assert.is(encodeAttributes(decodeAttributes(label, sizes), sizes), label);
  assert.equal(decodeAttributes(onlyAttribute(49, 1, sizes), sizes), [10, 0]);
  assert.equal(decodeAttributes(onlyAttribute(49, 0, sizes), sizes), [7, 6]);
});

test('conditionChannels: gradients against finite differences (a learned variance too), and the condition moves the output', () => {
  const model = new UNet2DModel({ ...BASE, conditionChannels: 2, outChannels: 6 }, 3);
  assert.ok(predictsVariance(model), 'outChannels 2C: the output holds a variance');
  assert.equal(model.outputShape, [6, 8, 8]);
  assert.equal(model.params.parameters.find((p) => p.name === 'conv_in.weight')!.shape, [4, 5, 3, 3], 'conv_in reads the 3 + 2 channels');
  tidy(() => {
    const x = randomTensor([2, 3, 8, 8], 10), condition = randomTensor([2, 2, 8, 8], 11);
    gradcheckModel(model, x, Int32Array.of(3, 700), null, seededFloats(2 * 6 * 64, 12), [], condition);
    const a = model.forward(x, Int32Array.of(3, 700), null, { condition }).toFloat32Array();
    const b = model.forward(x, Int32Array.of(3, 700), null, { condition: randomTensor([2, 2, 8, 8], 13) }).toFloat32Array();
    assert.ok(a.some((v, i) => v !== b[i]), 'another condition, another output');
    // An item does not depend on the batch; the inference pass gives the training bits.
    const one = model.forward(x.subview(3 * 64, [1, 3, 8, 8]), Int32Array.of(700), null, { condition: condition.subview(2 * 64, [1, 2, 8, 8]), mode: 'inference' });
    assert.equal(Array.from(one.toFloat32Array()), Array.from(a.subarray(6 * 64)));
  });
});

test('conditionChannels: a missing, extra or misshapen condition is a one-line error', () => {
  const model = new UNet2DModel({ ...BASE, conditionChannels: 1 }, 0), plain = new UNet2DModel(BASE, 0);
  tidy(() => {
    const x = randomTensor([2, 3, 8, 8], 1), t = Int32Array.of(1, 2);
    assert.throws(() => model.forward(x, t), /condition_input: the model is conditioned on an image of 1 channels: give it \(PassOptions.condition\)/);
    assert.throws(() => model.forward(x, t, null, { condition: randomTensor([2, 3, 8, 8], 2) }), /condition_input: the conditioning image must be \[2, 1, 8, 8\] \(one per sample\), got \[2, 3, 8, 8\]/);
    assert.throws(() => model.forward(x, t, null, { condition: randomTensor([1, 1, 8, 8], 2) }), /must be \[2, 1, 8, 8\]/);
    assert.throws(() => plain.forward(x, t, null, { condition: randomTensor([2, 1, 8, 8], 2) }), /UNet2DModel: a conditioning image was given, but this model takes none \(conditionChannels is 0\)/);
  });
});

test('classAttributes: a table per attribute, labels as codes, gradients against finite differences', () => {
  const model = new UNet2DModel({ ...BASE, classAttributes: [3, 2] }, 5);
  assert.is(model.numClasses, 11, '(3 + 1)(2 + 1) - 1');
  assert.equal(model.classAttributes, [3, 2]);
  const names = model.params.parameters.map((p) => `${p.name} [${p.shape.join(', ')}]`);
  assert.ok(names.includes('class_embeddings.0.weight [4, 16]') && names.includes('class_embeddings.1.weight [3, 16]'), names.join('; '));
  tidy(() => {
    const x = randomTensor([3, 3, 8, 8], 20);
    // (2, 1), (any, 0) and (1, any): rows of both tables, and their null rows.
    const labels = Int32Array.of(encodeAttributes([2, 1], [3, 2]), encodeAttributes([3, 0], [3, 2]), encodeAttributes([1, 2], [3, 2]));
    gradcheckModel(model, x, Int32Array.of(5, 50, 900), labels, seededFloats(3 * 3 * 64, 21));
    assert.throws(() => model.forward(x, Int32Array.of(1, 2, 3), Int32Array.of(0, 1, 12)), /class_embeddings: class label 12 is out of range: labels per attribute \[3, 2\] are 0..11/);
  });
});

test('composed guidance: out(∅) + Σ w_a (out(a) - out(∅)) over the attributes a label names, one batch', () => {
  const model = new UNet2DModel({ ...BASE, classAttributes: [3, 2] }, 6);
  const sizes = [3, 2];
  tidy(() => {
    const x = randomTensor([3, 3, 8, 8], 30), t = Int32Array.of(10, 400, 990);
    const labels = Int32Array.of(encodeAttributes([2, 1], sizes), encodeAttributes([3, 0], sizes), encodeAttributes([1, 2], sizes));
    const weights = [3, 1.5];
    const guided = composedGuidedForward(model, x, t, labels, weights, { mode: 'inference' });
    const single = (codes: number[]) => model.forward(x, t, Int32Array.from(codes), { mode: 'inference' }).toFloat32Array();
    const none = single([11, 11, 11]);
    const only = [0, 1].map((a) => single(Array.from(labels, (l) => onlyAttribute(l, a, sizes))));
    const per = 3 * 64;
    const expected = Float64Array.from(none, (u, i) => {
      const values = decodeAttributes(labels[Math.floor(i / per)], sizes);
      return u + [0, 1].reduce((sum, a) => sum + (values[a] === sizes[a] ? 0 : weights[a] * (only[a][i] - u)), 0);
    });
    assertClose(guided, expected, { atol: 2e-6, rtol: 1e-6 }, 'composed');
  });
});

test('config errors and the diffusers export name the option', () => {
  assert.throws(() => new UNet2DModel({ ...BASE, conditionChannels: -1 }), /UNet2DModel: conditionChannels must be an integer >= 0, got -1/);
  assert.throws(() => new UNet2DModel({ ...BASE, classAttributes: [10, 0] }), /classAttributes must list 1 to 8 attribute sizes/);
  assert.throws(() => new UNet2DModel({ ...BASE, classAttributes: [10, 6], numClassEmbeds: 5 }), /classAttributes replaces the label table/);
  assert.throws(() => unetConfigToDiffusers({ ...BASE, classAttributes: [10, 6] }), /classAttributes \[10, 6\] \(labels per attribute\) has no diffusers UNet2DModel equivalent/);
  assert.throws(() => unetConfigToDiffusers({ ...BASE, conditionChannels: 1 }), /conditionChannels 1 .* has no diffusers pipeline equivalent/);
  // Stored only when set: a plain config is stored as before.
  assert.not.ok('conditionChannels' in new UNet2DModel(BASE, 0).config);
  assert.equal((new UNet2DModel({ ...BASE, conditionChannels: 1, classAttributes: [3, 2] }, 0).config as UNet2DConfig).classAttributes, [3, 2]);
});

test.run();
