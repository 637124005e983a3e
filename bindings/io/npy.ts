/**
 * NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html), read and
 * written in memory, so that samples and datasets move to and from Python with `numpy.load` / `numpy.save`:
 *
 *   [6 bytes: '\x93NUMPY'] [2 bytes: version major, minor] [header length: u16 (1.0) or u32 (2.0, 3.0), LE]
 *   [header: a Python dict literal, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", padded with
 *    spaces and ended by '\n' so that the data starts at a multiple of 64 bytes] [data: raw, C order]
 *
 * Written: float32 ('<f4'), version 1.0 (2.0 only when the header does not fit in 65,535 bytes), with the same
 * padding NumPy 1.24 writes, byte for byte. Read: '<f4', and '<f8' converted to float32; any version.
 * Pure: no Node imports, so it serves browsers too.
 */

/** The contents of a .npy file: the values in C (row-major) order and the shape. */
export interface NpyArray {
  data: Float32Array;
  shape: number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // '\x93NUMPY'
/** NumPy aligns the start of the data to this many bytes. */
const ALIGN = 64;
/** NumPy leaves room for the growing axis to reach this many digits (format.GROWTH_AXIS_MAX_DIGITS). */
const GROWTH_AXIS_MAX_DIGITS = 21;
const BYTES_PER_ELEMENT: Record<string, number> = { '<f4': 4, '<f8': 8 };

/**
 * Serialises float32 values of the given shape (C order) as a .npy file that `numpy.load` reads as a float32
 * array of that shape. An empty shape `[]` is a scalar (one value).
 */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const header = npyHeaderBytes(shape);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: ${data.length} values do not fill shape [${shape.join(', ')}] (${count} values)`);
  const out = new Uint8Array(header.length + data.length * 4);
  out.set(header);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(header.length + i * 4, data[i], true);
  return out;
}

/**
 * The bytes of a float32 .npy file of `shape` that come before its data (magic, version, header length and the
 * padded header), so that a writer can stream the data after them (io/npy-file.ts).
 */
export function npyHeaderBytes(shape: readonly number[]): Uint8Array {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`npy: shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  const header = npyHeaderText(shape);
  // Version 1.0 stores the header length in a u16; 2.0 (a u32) only when that overflows, as NumPy does.
  let lengthBytes = 2;
  let headerLength = paddedHeaderLength(header.length, lengthBytes);
  if (headerLength > 0xffff) headerLength = paddedHeaderLength(header.length, (lengthBytes = 4));
  const version = lengthBytes === 2 ? 1 : 2;
  const padding = headerLength - header.length - 1;

  const out = new Uint8Array(6 + 2 + lengthBytes + headerLength);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  if (version === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  let at = 8 + lengthBytes;
  for (let i = 0; i < header.length; i++) out[at++] = header.charCodeAt(i); // the header is ASCII
  out.fill(0x20, at, at + padding);
  at += padding;
  out[at] = 0x0a;
  return out;
}

/**
 * Parses a .npy file of little-endian float32 ('<f4') or float64 ('<f8', converted to float32) in C order.
 * `source` names the file in error messages.
 */
export function decodeNpy(bytes: Uint8Array, source = 'the file'): NpyArray {
  const fail = (what: string): never => {
    throw new Error(`npy: ${source} is not a NumPy .npy file: ${what}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(`it does not start with '\\x93NUMPY'`);
  const version = bytes[6];
  if (version < 1 || version > 3) fail(`unknown format version ${version}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = version === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail(`it has ${bytes.length} bytes, too few for a header`);
  const headerLength = version === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) fail(`the header claims ${headerLength} bytes but the file has ${bytes.length} (truncated)`);
  const header = new TextDecoder(version === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataStart));

  const { descr, fortranOrder, shape } = parseHeader(header, fail);
  const size = BYTES_PER_ELEMENT[descr];
  if (size === undefined) {
    throw new Error(`npy: ${source} holds dtype '${descr}', which is not supported (only '<f4' float32 and '<f8' float64; convert with array.astype('<f4'))`);
  }
  if (fortranOrder && shape.filter((d) => d > 1).length > 1) {
    throw new Error(`npy: ${source} is in Fortran order, which is not supported (save numpy.ascontiguousarray(array) instead)`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const available = bytes.length - dataStart;
  if (available < count * size) {
    throw new Error(`npy: ${source} is truncated: shape (${shape.join(', ')}) of '${descr}' needs ${count * size} bytes of data, the file has ${available}`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = size === 4 ? view.getFloat32(dataStart + i * 4, true) : view.getFloat64(dataStart + i * 8, true);
  }
  return { data, shape };
}

/** Header length with NumPy's padding (as its _wrap_header: never zero, a full 64 spaces when already aligned). */
function paddedHeaderLength(textLength: number, lengthBytes: number): number {
  const unpadded = 6 + 2 + lengthBytes + textLength + 1;
  return textLength + 1 + ALIGN - (unpadded % ALIGN);
}

/** The header dict exactly as NumPy writes it: sorted keys, Python reprs, then room for the first axis to grow. */
function npyHeaderText(shape: readonly number[]): string {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  return shape.length > 0 ? dict + ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length) : dict;
}

/** Reads the three keys of the header dict (in any order, any spacing); other dicts are not .npy headers. */
function parseHeader(header: string, fail: (what: string) => never): { descr: string; fortranOrder: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const order = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const tuple = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!header.trimStart().startsWith('{')) fail('its header is not a Python dict');
  if (descr === undefined) fail(`its header has no 'descr' string (structured dtypes are not supported): ${header.trim()}`);
  if (order === undefined) fail(`its header has no 'fortran_order': ${header.trim()}`);
  if (tuple === undefined) fail(`its header has no 'shape' tuple: ${header.trim()}`);
  const shape = tuple!.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (shape.some((d) => !Number.isSafeInteger(d))) fail(`its shape (${tuple}) is not a tuple of integers`);
  return { descr: descr!, fortranOrder: order === 'True', shape };
}
