/**
 * The judges of the conditioned models (evaluation/conditioned.ts): the held-out data itself passes them (a perfect
 * colourisation, a perfect enlargement), and outputs that miss the targets fail them by the amounts they miss by.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, inputOf, ops, Tensor, tidy } from '../../bindings/index.ts';
import { coloredMnistDataset, mnistDataset, PALETTE } from '../../bindings/node.ts';
import { judgeColorization, judgeSuperResolution, strokePalette } from '../../evaluation/conditioned.ts';

await init();

const PLANE = 28 * 28;

/** The first `count` held-out digits of a dataset: the images [count, C, 28, 28], their inputs for a task and labels. */
function heldOut(dataset: ReturnType<typeof mnistDataset>, task: 'colorize' | 'superres', count: number) {
  return tidy(() => {
    const { x, labels } = dataset.batch(Int32Array.from({ length: count }, (_, i) => i * 7));
    return { x: x.toFloat32Array(), input: inputOf(task, x).toFloat32Array(), labels: labels! };
  });
}

test('colorize: the true colored digits correlate with their grey images and are read in their own colours', () => {
  const { x, input, labels } = heldOut(coloredMnistDataset({ split: 'test' }), 'colorize', 60);
  const { correlation, colour } = judgeColorization(x, input, 60, PLANE);
  for (let n = 0; n < 60; n++) assert.ok(correlation[n] > 0.999, `digit ${n}: correlation ${correlation[n]}`);
  assert.equal(Array.from(colour), Array.from(labels, (label) => label % PALETTE.length));
  assert.is(new Set(colour).size, PALETTE.length, 'all six colours among the 60 digits');
});

test('colorize: a grey output and a two-coloured stroke are not one of the six; a blank one does not correlate', () => {
  const { input } = heldOut(mnistDataset({ split: 'test' }), 'colorize', 1);
  const grey = new Float32Array(3 * PLANE);
  for (let c = 0; c < 3; c++) grey.set(input, c * PLANE);
  const twoColours = grey.map((v, i) => (i < PLANE ? v : i < 2 * PLANE ? -1 : (i % 28 < 14 ? -1 : v)));
  const blank = new Float32Array(3 * PLANE).fill(-1);
  const outputs = new Float32Array([...grey, ...twoColours, ...blank]);
  const { correlation, colour } = judgeColorization(outputs, new Float32Array([...input, ...input, ...input]), 3, PLANE);
  assert.ok(correlation[0] > 0.999, `the grey output follows the input: ${correlation[0]}`);
  assert.equal(Array.from(colour), [-1, -1, -1]);
  assert.is(correlation[2], 0);
});

test('colorize: a stroke is one colour when its mean is near it and 90% of its pixels agree', () => {
  const red = [0.8, 0.05, 0], magenta = [0.8, 0, 0.8];
  assert.is(strokePalette(Array.from({ length: 10 }, () => red)), 0);
  assert.is(strokePalette([...Array.from({ length: 9 }, () => red), magenta]), 0);
  assert.is(strokePalette([...Array.from({ length: 8 }, () => red), magenta, magenta]), -1);
  assert.is(strokePalette([]), -1);
});

test('superres: the true digits and nearest upsampling give the input back; an offset output misses it by the offset', () => {
  const count = 20;
  const { x, input } = heldOut(mnistDataset({ split: 'test' }), 'superres', count);
  const truth = judgeSuperResolution(x, input, x, count, 28, 28);
  const nearest = tidy(() => ops.upsampleNearest2x(Tensor.from(input, [count, 1, 14, 14])).toFloat32Array());
  const upsampled = judgeSuperResolution(nearest, input, x, count, 28, 28);
  for (let n = 0; n < count; n++) {
    assert.ok(truth.inputError[n] < 1e-6 && truth.truthError[n] === 0, `digit ${n}: ${truth.inputError[n]}, ${truth.truthError[n]}`);
    assert.ok(upsampled.inputError[n] < 1e-6, `digit ${n}: nearest upsampling's averages ${upsampled.inputError[n]}`);
    assert.ok(Math.abs(upsampled.truthError[n] - truth.nearestTruthError[n]) < 1e-6 && truth.nearestTruthError[n] > 0.01);
  }
  // A mid-grey image and an output 4/255 brighter in [-1, 1] (2/255 in [0, 1]).
  const flat = judgeSuperResolution(new Float32Array(PLANE).fill(4 / 255), new Float32Array(PLANE / 4), new Float32Array(PLANE), 1, 28, 28);
  assert.ok(Math.abs(flat.inputError[0] - 2 / 255) < 1e-7 && Math.abs(flat.truthError[0] - 2 / 255) < 1e-7, `${flat.inputError[0]}, ${flat.truthError[0]}`);
});

test.run();
