/** The color judge of the evaluation (evaluation/colors.ts) on real tinted digits and on edge cases. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tidy } from '../../bindings/index.ts';
import { PALETTE, coloredMnistDataset, mnistDataset } from '../../bindings/data/mnist.ts';
import { classifyColors, maxOverChannels, nearestPaletteColor, strokeColor } from '../../evaluation/colors.ts';

await init();

const PLANE = 28 * 28;

/** Every sample of a dataset as flat values and labels. */
function everything(dataset: ReturnType<typeof mnistDataset>): { x: Float32Array; labels: Int32Array } {
  return tidy(() => {
    const { x, labels } = dataset.batch(Int32Array.from({ length: dataset.size }, (_, i) => i));
    return { x: x.toFloat32Array(), labels: labels! };
  });
}

const colored = everything(coloredMnistDataset({ split: 'all' }));

test('the true color of every one of the 10,000 real tinted digits is recognised', () => {
  const read = classifyColors(colored.x, PLANE);
  const wrong = Array.from(colored.labels).filter((label, i) => read[i] !== label % PALETTE.length);
  assert.is(read.length, 10000);
  assert.is(wrong.length, 0, `${wrong.length} digits read in the wrong color`);
  // Every color is present, so the check is not passed by one color alone.
  const seen = new Set(Array.from(colored.labels, (label) => label % PALETTE.length));
  assert.is(seen.size, PALETTE.length);
});

test('the maximum over the channels of a tinted digit is exactly the grayscale digit', () => {
  const gray = everything(mnistDataset({ split: 'all' }));
  const recovered = maxOverChannels(colored.x, 3, PLANE);
  assert.is(recovered.length, gray.x.length);
  let differing = 0;
  for (let i = 0; i < recovered.length; i++) if (recovered[i] !== gray.x[i]) differing++;
  assert.is(differing, 0);
  assert.equal(Array.from(colored.labels, (label) => Math.floor(label / PALETTE.length)), Array.from(gray.labels));
});

test('nearestPaletteColor reads hue, not brightness', () => {
  assert.is(nearestPaletteColor([0.3, 0, 0]).index, 0);
  assert.is(nearestPaletteColor([0.9, 0.1, 0.05]).index, 0);
  assert.is(nearestPaletteColor([0.05, 0.6, 0]).index, 1);
  assert.is(nearestPaletteColor([0, 0.1, 0.4]).index, 2);
  assert.is(nearestPaletteColor([0.5, 0.45, 0]).index, 3);
  assert.is(nearestPaletteColor([0.7, 0, 0.8]).index, 4);
  assert.is(nearestPaletteColor([0, 0.8, 0.8]).index, 5);
  assert.equal(nearestPaletteColor([0.5, 0.5, 0.5]), { index: 3, distance: 1 });
  assert.equal(nearestPaletteColor([0, 0, 0]), { index: -1, distance: Infinity });
});

test('the stroke is what is clearly above the background; a blank image has no color', () => {
  const image = new Float32Array(3 * 4).fill(-1);
  assert.is(strokeColor(image, 0, 4), null);
  assert.equal(Array.from(classifyColors(image, 4)), [-1]);
  // One green stroke pixel at full strength, and a dim red pixel below the threshold that must be ignored.
  image[4 + 1] = 1;
  image[2] = -0.2;
  assert.equal(strokeColor(image, 0, 4), [0, 1, 0]);
  assert.equal(Array.from(classifyColors(image, 4)), [1]);
});

test('bad inputs are refused with the sizes in the message', () => {
  assert.throws(() => classifyColors(new Float32Array(10), 4), /classifyColors: 10 values do not make whole images of 3 channels of 4 pixels/);
  assert.throws(() => maxOverChannels(new Float32Array(8), 0, 4), /maxOverChannels: channels and planeSize must be positive integers, got 0 and 4/);
});

test.run();
