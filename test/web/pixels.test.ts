/**
 * toRGBA (bindings/io/pixels.ts): the byte mapping round((x + 1) * 127.5) with clamping and NaN -> 0, grey and RGB
 * channels, the grid layout (columns, gap, background), nearest-neighbour scaling, centre crops, and the errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toByte, toRGBA } from '../../bindings/io/pixels.ts';

/** The RGBA bytes at (x, y). */
function at(image: { width: number; data: Uint8ClampedArray }, x: number, y: number): number[] {
  const i = (y * image.width + x) * 4;
  return Array.from(image.data.subarray(i, i + 4));
}

test('toByte: round((x + 1) * 127.5) (halves up: 0 -> 128), clamped, NaN -> 0', () => {
  const cases: [number, number][] = [
    [-1, 0], [1, 255], [0, 128], [-2, 0], [5, 255], [-Infinity, 0], [Infinity, 255], [NaN, 0],
    [0.5, 191], [-0.5, 64], [-0.75, 32], [0.25, 159], [-0.999, 0], [0.999, 255], [-1e-30, 128],
  ];
  for (const [x, byte] of cases) assert.is(toByte(x), byte, `toByte(${x})`);
});

test('grey: one image, every channel the same byte, opaque', () => {
  const image = toRGBA(Float32Array.from([-1, 0, 1, 0.5, -0.5, NaN]), [1, 1, 2, 3]);
  assert.is(image.width, 3);
  assert.is(image.height, 2);
  assert.equal(Array.from(image.data), [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 191, 191, 191, 255, 64, 64, 64, 255, 0, 0, 0, 255]);
});

test('RGB: the three planes of each image become R, G, B', () => {
  // One 1x2 image: red plane [1, -1], green [-1, 1], blue [0, 0].
  const image = toRGBA(Float32Array.from([1, -1, -1, 1, 0, 0]), [1, 3, 1, 2]);
  assert.equal(at(image, 0, 0), [255, 0, 128, 255]);
  assert.equal(at(image, 1, 0), [0, 255, 128, 255]);
});

test('grid: 5 images of 2x2 in 3 columns with a gap of 1 and a grey background', () => {
  const N = 5, side = 2;
  const data = new Float32Array(N * side * side);
  for (let n = 0; n < N; n++) data.fill(n / 4 * 2 - 1, n * 4, n * 4 + 4);  // image n is flat at byte round(n * 63.75)
  const image = toRGBA(data, [N, 1, side, side], { columns: 3, gap: 1, background: 40 });
  assert.is(image.width, 3 * 2 + 4);
  assert.is(image.height, 2 * 2 + 3);
  assert.equal(at(image, 0, 0), [40, 40, 40, 255], 'edge');
  assert.equal(at(image, 3, 1), [40, 40, 40, 255], 'between columns');
  for (let n = 0; n < N; n++) {
    const x = 1 + (n % 3) * 3, y = 1 + Math.floor(n / 3) * 3;
    const byte = toByte(n / 4 * 2 - 1);
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) assert.equal(at(image, x + dx, y + dy), [byte, byte, byte, 255], `image ${n}`);
  }
  assert.equal(at(image, 7, 4), [40, 40, 40, 255], 'the empty sixth cell');
});

test('default columns: ceil(sqrt(N)); never more than N', () => {
  const one = (N: number, columns?: number) => toRGBA(new Float32Array(N), [N, 1, 1, 1], columns ? { columns } : {}).width;
  assert.equal([one(1), one(4), one(5), one(9), one(16), one(2, 8)], [1, 2, 3, 3, 4, 2]);
});

test('scale repeats each pixel; crop keeps the centre', () => {
  // A 4x4 image with value index/8 - 1 at (y, x): crop 2 keeps rows and columns 1..2.
  const data = Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1);
  const image = toRGBA(data, [1, 1, 4, 4], { crop: 2, scale: 3 });
  assert.is(image.width, 6);
  assert.is(image.height, 6);
  const expect = (y: number, x: number) => toByte(data[(1 + y) * 4 + 1 + x]);
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 6; x++) assert.is(at(image, x, y)[0], expect(Math.floor(y / 3), Math.floor(x / 3)), `(${x}, ${y})`);
  }
});

test('the same input gives the same bytes; the input is not changed', () => {
  const data = Float32Array.from({ length: 3 * 5 * 5 * 2 }, (_, i) => Math.sin(i) * 1.3);
  const copy = data.slice();
  const a = toRGBA(data, [2, 3, 5, 5], { gap: 2, scale: 2 }), b = toRGBA(data, [2, 3, 5, 5], { gap: 2, scale: 2 });
  assert.equal(a.data, b.data);
  assert.equal(data, copy);
});

test('bad arguments throw messages that name the argument', () => {
  const throws = (fn: () => unknown, message: string) => assert.throws(fn, (error: Error) => error.message === message, message);
  throws(() => toRGBA([1, 2] as unknown as Float32Array, [1, 1, 1, 2]), 'toRGBA: images must be a Float32Array, got Array');
  throws(() => toRGBA(new Float32Array(8), [2, 2, 1, 2]), 'toRGBA: shape must be [N, C, H, W] with C = 1 (grey) or 3 (RGB), got [2, 2, 1, 2]');
  throws(() => toRGBA(new Float32Array(8), [4, 2]), 'toRGBA: shape must be [N, C, H, W] with C = 1 (grey) or 3 (RGB), got [4, 2]');
  throws(() => toRGBA(new Float32Array(7), [2, 1, 2, 2]), 'toRGBA: 7 values do not fill shape [2, 1, 2, 2] (8 values)');
  throws(() => toRGBA(new Float32Array(4), [1, 1, 2, 2], { columns: 0 }), 'toRGBA: columns must be a positive integer, got 0');
  throws(() => toRGBA(new Float32Array(4), [1, 1, 2, 2], { scale: 1.5 }), 'toRGBA: scale must be an integer from 1 to 64, got 1.5');
  throws(() => toRGBA(new Float32Array(4), [1, 1, 2, 2], { gap: -1 }), 'toRGBA: gap must be an integer from 0 to 1024, got -1');
  throws(() => toRGBA(new Float32Array(4), [1, 1, 2, 2], { background: 256 }), 'toRGBA: background must be a grey level from 0 to 255, got 256');
  throws(() => toRGBA(new Float32Array(4), [1, 1, 2, 2], { crop: 3 }), 'toRGBA: crop must be an integer from 1 to 2 (the images are 2x2), got 3');
});

test.run();
