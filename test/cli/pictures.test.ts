import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  animationFormatFor, denoisingAnimation, imageGrid, lossCurve, pictureFormat, savePicture, scatterPlot, strip,
  symmetricRange, toByte,
} from '../../cli/pictures/index.ts';
import { scatterSvg } from '../../cli/pictures/scatter.ts';
import { lossCurveSvg } from '../../cli/pictures/loss.ts';
import { seededFloats } from '../helpers.ts';

/** Decoded pixels of a picture (page `page` of an animation). */
async function pixels(bytes: Uint8Array, page = 0) {
  // sharp decodes grey as RGB unless told: keep the picture's own channels (checked against its header).
  const { channels: stored } = await sharp(bytes).metadata();
  const decoder = sharp(bytes, { page });
  if (stored === 1) decoder.toColourspace('b-w');
  const { data, info } = await decoder.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

/** Pixels that differ from white (any channel below 250). */
function inked(image: { data: Uint8Array; channels: number }): number {
  let count = 0;
  for (let i = 0; i < image.data.length; i += image.channels) {
    for (let c = 0; c < Math.min(3, image.channels); c++) if (image.data[i + c] < 250) { count++; break; }
  }
  return count;
}

/** Pixels close to `rgb` (each channel within 40). */
function near(image: { data: Uint8Array; channels: number }, rgb: [number, number, number]): number {
  let count = 0;
  for (let i = 0; i < image.data.length; i += image.channels) {
    if (rgb.every((v, c) => Math.abs(image.data[i + c] - v) <= 40)) count++;
  }
  return count;
}

const SAMPLES_BLUE: [number, number, number] = [0x1f, 0x6f, 0xb4];

test('toByte maps [-1, 1] to 0-255 as round((x + 1) / 2 * 255), clamped; NaN gives 0', () => {
  const cases: [number, number][] = [[-1, 0], [1, 255], [0, 128], [-0.5, 64], [0.5, 191], [2, 255], [-2, 0], [NaN, 0], [Infinity, 255], [-Infinity, 0], [Math.fround(6 / 255 - 1), 3]];
  for (const [x, byte] of cases) assert.is(toByte(x), byte, `toByte(${x})`);
});

test('imageGrid: the exact pixels of a tiny grey grid (scale, padding, columns, an empty cell)', async () => {
  // Three 1 x 2 images: [-1, 1], [0, NaN], [0.5, 3]; two columns, scale 2, padding 1, white background.
  const images = Float32Array.from([-1, 1, 0, NaN, 0.5, 3]);
  const png = await imageGrid(images, [3, 1, 1, 2], { columns: 2, scale: 2, padding: 1 });
  const image = await pixels(png);
  assert.equal([image.width, image.height, image.channels], [11, 7, 1]);
  const W = 255;
  const rows = [
    [W, W, W, W, W, W, W, W, W, W, W],
    [W, 0, 0, 255, 255, W, 128, 128, 0, 0, W],
    [W, 0, 0, 255, 255, W, 128, 128, 0, 0, W],
    [W, W, W, W, W, W, W, W, W, W, W],
    [W, 191, 191, 255, 255, W, W, W, W, W, W],
    [W, 191, 191, 255, 255, W, W, W, W, W, W],
    [W, W, W, W, W, W, W, W, W, W, W],
  ];
  assert.equal(Array.from(image.data), rows.flat());
});

test('imageGrid: RGB channels land in place; the default is a square-ish grid at scale 2, padding 2', async () => {
  // Two 1 x 1 RGB images: (1, -1, 0) and (-1, 1, 1); planar CHW in, interleaved pixels out.
  const png = await imageGrid(Float32Array.from([1, -1, 0, -1, 1, 1]), [2, 3, 1, 1], { padding: 0, scale: 1, background: 0 });
  const image = await pixels(png);
  assert.equal([image.width, image.height, image.channels], [2, 1, 3]);
  assert.equal(Array.from(image.data), [255, 0, 128, 0, 255, 255]);
  const defaults = await pixels(await imageGrid(new Float32Array(5 * 28 * 28), [5, 1, 28, 28]));
  assert.equal([defaults.width, defaults.height], [3 * 56 + 4 * 2, 2 * 56 + 3 * 2]);
});

test('imageGrid: a title and captions add bands of text and keep the grid grey', async () => {
  const images = seededFloats(4 * 28 * 28, 1);
  const plain = await pixels(await imageGrid(images, [4, 1, 28, 28]));
  const captioned = await pixels(await imageGrid(images, [4, 1, 28, 28], { labels: ['0', '1', '', '3'], title: 'samples' }));
  assert.is(captioned.channels, 1);
  assert.is(captioned.width, plain.width);
  assert.ok(captioned.height > plain.height + 30, `${captioned.height} vs ${plain.height}`);
  const titleBand = { data: captioned.data.subarray(0, 20 * captioned.width), channels: 1 };
  assert.ok(inked(titleBand) > 20, 'the title is drawn');
});

test('imageGrid rejects bad shapes and options with messages that say what is wrong', async () => {
  await rejects(imageGrid(new Float32Array(8), [2, 2, 2, 1]), 'imageGrid: shape must be [N, C, H, W] with C = 1 (grey) or 3 (RGB), got [2, 2, 2, 1]');
  await rejects(imageGrid(new Float32Array(7), [2, 1, 2, 2]), 'imageGrid: 7 values do not fill shape [2, 1, 2, 2] (8 values)');
  await rejects(imageGrid(new Float32Array(4), [1, 1, 2, 2], { scale: 1.5 }), 'imageGrid: scale must be a positive integer, got 1.5');
  await rejects(imageGrid(new Float32Array(4), [1, 1, 2, 2], { padding: -1 }), 'imageGrid: padding must be an integer >= 0, got -1');
  await rejects(imageGrid(new Float32Array(4), [1, 1, 2, 2], { labels: ['a', 'b'] }), 'imageGrid: 2 labels for 1 images');
});

test('scatterPlot: a PNG of the requested size with the data in grey and the samples in blue', async () => {
  const data = seededFloats(2 * 2000, 2);
  const samples = seededFloats(2 * 300, 3).map((v) => v * 0.5);
  const png = await scatterPlot(samples, { background: data, size: 300, title: 'moons' });
  assert.is(pictureFormat(png), 'png');
  const image = await pixels(png);
  assert.equal([image.width, image.height], [300, 300]);
  assert.ok(near(image, SAMPLES_BLUE) > 300, 'samples are drawn in blue');
  assert.ok(near(image, [0xc0, 0xc0, 0xc0]) > 300, 'the data are drawn in grey');
  assert.ok(inked(image) < 300 * 300 * 0.6, 'mostly white');
});

test('scatterPlot: points outside a given range are counted in the legend; the default range is symmetric and round', () => {
  const svg = scatterSvg(Float32Array.from([0, 0, 50, 0, 0.5, -0.5]), { range: [-1, 1] });
  assert.match(svg, 'samples (3, 1 outside)');
  assert.is((svg.match(/<circle cx/g) ?? []).length, 2 + 1); // two points and the legend's marker
  assert.equal(symmetricRange(Float32Array.from([0.1, -2.9, 1, 2])), [-3.5, 3.5]);
  assert.equal(symmetricRange(Float32Array.from([NaN, Infinity])), [-1, 1]);
  // One diverged point among thousands does not set the range.
  const many = seededFloats(4000, 4);
  many[7] = 1e6;
  assert.equal(symmetricRange(many), [-1.25, 1.25]);
});

test('scatterPlot: ten thousand points make a small SVG; bad input is refused', async () => {
  assert.ok(scatterSvg(seededFloats(20000, 5)).length < 450_000);
  await rejects(scatterPlot(new Float32Array(3)), 'scatterPlot: points must be a Float32Array of [N, 2] coordinates, got 3 values');
  await rejects(scatterPlot(new Float32Array(2), { range: [1, -1] }), 'scatterPlot: range must be [min, max] with min < max, got [1, -1]');
  await rejects(scatterPlot(new Float32Array(2), { size: 100 }), 'scatterPlot: size must be at least 128 pixels, got 100');
});

test('lossCurve: a PNG of the requested size with the raw curve and its moving average', async () => {
  const noise = seededFloats(400, 6);
  const rows = Array.from({ length: 400 }, (_, i) => ({ step: i + 1, loss: (0.05 + 1 / (1 + i / 20)) * (1 + 0.3 * noise[i]) }));
  const png = await lossCurve(rows, { width: 500, height: 300 });
  const image = await pixels(png);
  assert.equal([image.width, image.height], [500, 300]);
  assert.ok(near(image, SAMPLES_BLUE) > 200, 'the moving average is drawn');
  assert.ok(near(image, [0x9e, 0xc5, 0xe8]) > 200, 'the raw loss is drawn');
  const svg = lossCurveSvg(rows);
  assert.match(svg, '>0.1</text>'); // a decade tick of the log axis
  assert.match(svg, '>1</text>');
});

test('lossCurve: long runs are drawn per pixel column; non-positive losses are left out; bad input is refused', async () => {
  const rows = Array.from({ length: 50_000 }, (_, i) => ({ step: i, loss: 0.1 + (i % 7) / 100 }));
  const svg = lossCurveSvg([...rows, { step: 3, loss: 0 }, { step: 4, loss: NaN }]);
  assert.match(svg, '<polygon');
  assert.ok(svg.length < 60_000, `the SVG has ${svg.length} characters`);
  await rejects(lossCurve([]), 'lossCurve: no rows with a positive finite loss to plot (0 rows given)');
  await rejects(lossCurve([{ step: 1, loss: -1 }]), 'lossCurve: no rows with a positive finite loss to plot (1 row given)');
  await rejects(lossCurve(rows, { smoothing: 1 }), 'lossCurve: smoothing must be in [0, 1), got 1');
});

test('denoisingAnimation: a looping GIF with one page per frame, the last one held', async () => {
  const frames = Array.from({ length: 6 }, (_, f) => seededFloats(4 * 28 * 28, 10 + f).map((v) => v * (1 - f / 6)));
  const gif = await denoisingAnimation(frames, [4, 1, 28, 28], { captions: frames.map((_, f) => `t = ${5 - f}`) });
  assert.is(pictureFormat(gif), 'gif');
  const meta = await sharp(gif).metadata();
  assert.is(meta.pages, 6);
  assert.is(meta.loop, 0);
  assert.equal(meta.delay, [60, 60, 60, 60, 60, 1500]);
  assert.is(meta.width, 2 * 56 + 3 * 2);
  // Every pixel of every page is opaque, and black stays black (sharp's own frame joining loses both for grey).
  const frame0 = await pixels(gif, 0);
  assert.is(frame0.channels, 4);
  const all = await sharp(gif, { animated: true }).ensureAlpha().raw().toBuffer();
  assert.ok(all.every((v, i) => i % 4 !== 3 || v === 255), 'no transparent pixels');
  const blackFrames = frames.map((f) => f.map(() => -1));
  const black = await pixels(await denoisingAnimation(blackFrames, [4, 1, 28, 28]), 5);
  assert.equal(Array.from(black.data.subarray((3 * black.width + 3) * black.channels, (3 * black.width + 4) * black.channels)), [0, 0, 0, 255]);
  const webp = await denoisingAnimation(frames, [4, 1, 28, 28], { format: 'webp', delay: 40, holdLast: 1000 });
  const webpMeta = await sharp(webp).metadata();
  assert.equal([webpMeta.format, webpMeta.pages, webpMeta.delay], ['webp', 6, [40, 40, 40, 40, 40, 1000]]);
});

test('denoisingAnimation: 2-D points become scatter frames with one range', async () => {
  const frames = Array.from({ length: 4 }, (_, f) => seededFloats(2 * 200, 20 + f).map((v) => v * (4 - f)));
  const gif = await denoisingAnimation(frames, [200, 2], { scatter: { background: seededFloats(2 * 500, 30), size: 200 } });
  const meta = await sharp(gif).metadata();
  assert.equal([meta.pages, meta.width, meta.height], [4, 200, 200]);
  const first = await pixels(gif, 0), last = await pixels(gif, 3);
  assert.ok(near(first, SAMPLES_BLUE) > 100 && near(last, SAMPLES_BLUE) > 100, 'samples drawn in every frame');
});

test('denoisingAnimation: a 4 x 4 grid of digits over 40 frames stays well under 1 MB', async () => {
  // x_t = a x_0 + b noise with a^2 + b^2 = 1, from pure noise (std 1, a sum of three uniforms) to stripes.
  const size = 16 * 28 * 28;
  const [u1, u2, u3] = [41, 42, 43].map((seed) => seededFloats(size, seed));
  const noise = u1.map((v, i) => v + u2[i] + u3[i]);
  const frames = Array.from({ length: 40 }, (_, f) => {
    const a = Math.sin((f / 39) * (Math.PI / 2)), b = Math.cos((f / 39) * (Math.PI / 2));
    return noise.map((v, i) => a * ((i >> 3) % 2 ? 1 : -1) + b * v);
  });
  const gif = await denoisingAnimation(frames, [16, 1, 28, 28]);
  assert.ok(gif.length < 500_000, `${gif.length} bytes`);
});

test('denoisingAnimation and animationFormatFor refuse what they cannot do', async () => {
  const frame = new Float32Array(4);
  await rejects(denoisingAnimation([], [1, 1, 2, 2]), 'denoisingAnimation: no frames');
  await rejects(denoisingAnimation([frame], [1, 1, 2, 2], { format: 'png' as 'gif' }), "denoisingAnimation: format must be 'gif' or 'webp', got 'png'");
  await rejects(denoisingAnimation([frame], [1, 1, 2, 2], { captions: ['a', 'b'] }), 'denoisingAnimation: 2 captions for 1 frames');
  await rejects(denoisingAnimation([frame], [1, 1, 2, 2], { colours: 1 }), 'denoisingAnimation: colours must be an integer from 2 to 256, got 1');
  await rejects(denoisingAnimation([frame], [1, 1, 2, 2], { delay: 0 }), 'denoisingAnimation: delay must be a positive integer, got 0');
  await rejects(denoisingAnimation([frame], [4]), 'denoisingAnimation: shape must be [N, C, H, W] (images) or [N, 2] (points), got [4]');
  await rejects(denoisingAnimation([frame, new Float32Array(3)], [1, 1, 2, 2]), 'denoisingAnimation: frame 1: 3 values do not fill shape [1, 1, 2, 2] (4 values)');
  await rejects(denoisingAnimation([frame, new Float32Array(2)], [2, 2]), 'denoisingAnimation: frame 1 has 2 values, shape [2, 2] needs 4');
  assert.is(animationFormatFor('out/denoise.GIF'), 'gif');
  assert.is(animationFormatFor('a.webp'), 'webp');
  assert.throws(() => animationFormatFor('a.png'), (e: Error) => e.message === 'cannot tell the animation format of a.png: name it .gif or .webp');
});

test('strip: samples in rows, timesteps in columns, captions underneath', async () => {
  // Three frames of two 1 x 1 images: frame f holds values (f - 1) / 2 and -(f - 1) / 2.
  const frames = [0, 1, 2].map((f) => Float32Array.from([(f - 1) / 2, -(f - 1) / 2]));
  const png = await strip(frames, [2, 1, 1, 1], { grid: { scale: 4, padding: 1 } });
  const image = await pixels(png);
  assert.equal([image.width, image.height, image.channels], [3 * 4 + 4, 2 * 4 + 3, 1]);
  const at = (x: number, y: number) => image.data[y * image.width + x];
  assert.equal([at(1, 1), at(6, 1), at(11, 1)], [64, 128, 191]); // sample 0 across frames
  assert.equal([at(1, 6), at(6, 6), at(11, 6)], [191, 128, 64]); // sample 1
  const captioned = await pixels(await strip(frames, [2, 1, 1, 1], { captions: ['t = 2', 't = 1', 't = 0'], grid: { scale: 16 } }));
  assert.is(captioned.height, 2 * 16 + 3 * 2 + 20);
  assert.ok(inked({ data: captioned.data.subarray((2 * 16 + 3 * 2) * captioned.width), channels: 1 }) > 20, 'captions drawn');
  const points = await pixels(await strip([seededFloats(100, 1), seededFloats(100, 2)], [50, 2], { scatter: { size: 150 } }));
  assert.equal([points.width, points.height], [300, 150]);
});

test('savePicture writes atomically, only under a matching extension, into an existing folder', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'ddpm-pictures-test-'));
  try {
    const png = await imageGrid(new Float32Array(4), [1, 1, 2, 2]);
    await savePicture(join(folder, 'grid.PNG'), png);
    assert.equal(new Uint8Array(await readFile(join(folder, 'grid.PNG'))), new Uint8Array(png));
    assert.equal(await readdir(folder), ['grid.PNG']); // no temporary file left
    await rejects(savePicture(join(folder, 'grid.gif'), png), `cannot save a PNG picture as ${join(folder, 'grid.gif')}: name it .png`);
    await rejects(savePicture(join(folder, 'x.png'), new Uint8Array(16)), `cannot save ${join(folder, 'x.png')}: the bytes are not a PNG, GIF or WebP picture`);
    await rejects(savePicture(join(folder, 'missing', 'grid.png'), png), `cannot write ${join(folder, 'missing', 'grid.png')}: the folder ${join(folder, 'missing')} does not exist`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

/** Asserts that `promise` rejects with exactly `message`. */
async function rejects(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await promise.then(() => null, (e: Error) => e);
  assert.ok(error, `expected a rejection with: ${message}`);
  assert.is(error!.message, message);
}

test.run();
