import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeNpy, encodeNpy } from '../../bindings/io/npy.ts';
import { seededFloats } from '../helpers.ts';

/** Bytes from a string of code points 0-255 (the .npy header is ASCII). */
const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const hex = (text: string) => Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

// What NumPy 1.24 writes for np.save(f, np.array([0, 1, -2, 0.5, 3.25, -0.0], '<f4').reshape(2, 3)):
// magic, version 1.0, header length 118 (0x76), the dict, 58 spaces, '\n' (the data starts at byte 128).
const NUMPY_2x3 = concat(
  latin1("\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
  latin1(' '.repeat(58) + '\n'),
  hex('000000000000803f000000c00000003f0000504000000080'),
);
// np.save of np.float32(7) (a scalar: shape ()) and of np.array([1], '<f4') (shape (1,)).
const NUMPY_SCALAR = concat(latin1("\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }"), latin1(' '.repeat(62) + '\n'), hex('0000e040'));
const NUMPY_1 = concat(latin1("\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"), latin1(' '.repeat(60) + '\n'), hex('0000803f'));

test('encodeNpy writes byte for byte what NumPy writes', () => {
  assert.equal(encodeNpy(Float32Array.from([0, 1, -2, 0.5, 3.25, -0]), [2, 3]), NUMPY_2x3);
  assert.equal(encodeNpy(Float32Array.from([7]), []), NUMPY_SCALAR);
  assert.equal(encodeNpy(Float32Array.from([1]), [1]), NUMPY_1);
});

test('decodeNpy reads NumPy files, keeping -0 and the shape', () => {
  const { data, shape } = decodeNpy(NUMPY_2x3);
  assert.equal(shape, [2, 3]);
  assert.equal(Array.from(data), [0, 1, -2, 0.5, 3.25, -0]);
  assert.ok(Object.is(data[5], -0));
  assert.equal(decodeNpy(NUMPY_SCALAR), { data: Float32Array.from([7]), shape: [] });
});

test('npy round-trips awkward shapes, and the data always starts at a multiple of 64 bytes', () => {
  for (const shape of [[0], [3], [1, 1], [2, 3, 5], [2, 1, 28, 28], [1, 3, 7, 5], [12345678901, 0]]) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = seededFloats(count, count + shape.length);
    const bytes = encodeNpy(data, shape);
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    assert.is((10 + headerLength) % 64, 0, `[${shape}] data offset`);
    assert.is(bytes[10 + headerLength - 1], 0x0a, `[${shape}] header ends with a newline`);
    const back = decodeNpy(bytes);
    assert.equal(back.shape, shape);
    assert.equal(Array.from(back.data), Array.from(data), `[${shape}] values`);
  }
});

test('decodeNpy converts float64, reads version 2.0 and other key orders', () => {
  const header = "{'shape': (3,), 'fortran_order': False, 'descr': '<f8'}";
  const padded = header + ' '.repeat(64 - ((12 + header.length + 1) % 64)) + '\n';
  const bytes = new Uint8Array(12 + padded.length + 24);
  const view = new DataView(bytes.buffer);
  bytes.set(latin1('\x93NUMPY\x02\x00'));
  view.setUint32(8, padded.length, true);
  bytes.set(latin1(padded), 12);
  [0.1, -1e300, 2.5].forEach((v, i) => view.setFloat64(12 + padded.length + i * 8, v, true));
  const { data, shape } = decodeNpy(bytes);
  assert.equal(shape, [3]);
  assert.equal(Array.from(data), [Math.fround(0.1), -Infinity, 2.5]);
});

test('decodeNpy rejects other files, dtypes, Fortran order and truncated data with a clear message', () => {
  const png = hex('89504e470d0a1a0a0000000d49484452');
  assert.throws(() => decodeNpy(png, 'x.npy'), /^npy: x.npy is not a NumPy .npy file: it does not start with '\\x93NUMPY'$/);
  assert.throws(() => decodeNpy(NUMPY_2x3.subarray(0, 60), 'x.npy'), /x.npy is not a NumPy .npy file: the header claims 118 bytes but the file has 60 \(truncated\)/);
  assert.throws(() => decodeNpy(NUMPY_2x3.subarray(0, 150), 'x.npy'), /npy: x.npy is truncated: shape \(2, 3\) of '<f4' needs 24 bytes of data, the file has 22/);
  const swap = (from: string, to: string) => latin1(String.fromCharCode(...NUMPY_2x3).replace(from, to));
  assert.throws(() => decodeNpy(swap("'<f4'", "'<i4'"), 'x.npy'), /x.npy holds dtype '<i4', which is not supported \(only '<f4' float32 and '<f8' float64/);
  assert.throws(() => decodeNpy(swap("'<f4'", "'>f4'"), 'x.npy'), /dtype '>f4', which is not supported/);
  assert.throws(() => decodeNpy(swap("False", "True "), 'x.npy'), /x.npy is in Fortran order, which is not supported \(save numpy.ascontiguousarray/);
  assert.throws(() => decodeNpy(swap("(2, 3)", "(2, x)"), 'x.npy'), /its shape \(2, x\) is not a tuple of integers/);
  assert.throws(() => decodeNpy(swap("'descr': '<f4'", "'descr': [('a', '<f4')]"), 'x.npy'), /its header has no 'descr' string/);
  const v9 = NUMPY_2x3.slice();
  v9[6] = 9;
  assert.throws(() => decodeNpy(v9, 'x.npy'), /unknown format version 9.0/);
});

test('encodeNpy checks that the values fill the shape', () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /^npy: 5 values do not fill shape \[2, 3\] \(6 values\)$/);
  assert.throws(() => encodeNpy(new Float32Array(0), [-1, 0]), /npy: shape \[-1, 0\] must hold non-negative integers/);
});

test.run();
