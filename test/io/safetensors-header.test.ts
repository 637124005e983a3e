/**
 * The safetensors header is checked completely before anything is converted or allocated: sizes, dtypes,
 * offsets inside the data, tensors back to back without gap or overlap, byte lengths, duplicate names, the
 * header length. A 1 MB file claiming 2,000 tensors over the same bytes is refused at once, without the 2 GB
 * the old reader reached before refusing it. Plus half-precision writing, pinned to PyTorch's rounding.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSafetensors, encodeSafetensors, init } from '../../bindings/index.ts';
import { firstDuplicateKey, readSafetensorsHeader } from '../../bindings/io/safetensors-header.ts';
import { toHalfBytes } from '../../bindings/ops/half.ts';

await init();

/** A safetensors file from a header written as given (JSON text or an object) and `data` bytes. */
function file(header: string | object, data = new Uint8Array(0)): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const f32 = (name: string, shape: number[], begin: number) => ({ [name]: { dtype: 'F32', shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] } });
const refused = (bytes: Uint8Array, pattern: RegExp) => assert.throws(() => decodeSafetensors(bytes, 'x.safetensors'), pattern);

test('a small file whose 2,000 tensors overlap is refused before any tensor is converted', () => {
  const header: Record<string, unknown> = {};
  for (let i = 0; i < 2000; i++) header[`t${i}`] = { dtype: 'F32', shape: [262144], data_offsets: [0, 1048576] };
  const bytes = file(header, new Uint8Array(1048576));
  const before = process.memoryUsage().arrayBuffers;
  const started = performance.now();
  refused(bytes, /x\.safetensors is not a valid safetensors file: tensor 't1' starts at byte 0, inside the previous tensor \(overlapping data\)/);
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 8 * 2 ** 20, `array buffers grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(performance.now() - started < 2000, 'refused promptly');
});

test('offsets: gaps, overlaps, leftovers, reversed, outside the data, and a size that does not match the shape', () => {
  const data = new Uint8Array(16);
  refused(file({ ...f32('a', [2], 0), ...f32('b', [1], 12) }, data), /tensor 'b' starts at byte 12, leaving bytes 8\.\.11 unused \(a gap in the data\)/);
  refused(file({ ...f32('a', [2], 0), ...f32('b', [2], 4) }, data.subarray(0, 12)), /tensor 'b' has data_offsets \[4, 12\]|inside the previous tensor/);
  refused(file({ ...f32('a', [2], 0), ...f32('b', [1], 8) }, data), /the data has 16 bytes but the tensors cover 12/);
  refused(file({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, data), /tensor 'a' has data_offsets \[8, 4\] outside the data/);
  refused(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 20] } }, data), /data_offsets \[0, 20\] outside the data \(16 bytes; the file may be truncated\)/);
  refused(file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, data), /tensor 'a' spans 16 bytes, but F32 \[3\] needs 12/);
  refused(file({ a: { dtype: 'F32', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 16] } }, data), /needs more bytes than the whole data \(16\)/);
  refused(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4] } }, data), /data_offsets \[0\.5,4\]; they are \[begin, end\]/);
});

test('dtypes, shapes, names, metadata and the header itself', () => {
  const data = new Uint8Array(8);
  refused(file({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data), /tensor 'a' has dtype I64; this library reads F32, F16, BF16, F64/);
  refused(file({ a: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, data), /dtype "F33", which is not a safetensors dtype/);
  refused(file({ a: { shape: [2], data_offsets: [0, 8] } }, data), /dtype undefined, which is not a safetensors dtype/);
  refused(file({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data), /tensor 'a' has shape \[-2\]; a shape is an array of non-negative integers/);
  refused(file({ a: { dtype: 'F32', shape: 2, data_offsets: [0, 8] } }, data), /has shape 2/);
  refused(file({ a: [1, 2] }, data), /tensor 'a' is not an object \{ dtype, shape, data_offsets \}/);
  refused(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data), /the name 'a' appears twice in its header/);
  refused(file({ __metadata__: { n: 3 }, ...f32('a', [2], 0) }, data), /__metadata__ entry 'n' is not a string/);
  refused(file({ __metadata__: [], ...f32('a', [2], 0) }, data), /__metadata__ is not an object of strings/);
  refused(file('[1, 2]'), /its header does not start with '\{'/);
  refused(file('{"a": '), /its header is not valid JSON/);
  const notUtf8 = file('{}      ');
  notUtf8[9] = 0xff;
  refused(notUtf8, /its header is not UTF-8 text/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(0, 200_000_000, true);
  refused(huge, /the header claims 200000000 bytes, more than the 100000000 allowed/);
  new DataView(huge.buffer).setUint32(4, 1, true);
  refused(huge, /more than the 100000000 allowed/);
});

test('valid edge cases: empty tensors, zero-size shapes, null metadata, unsorted header order', () => {
  const data = new Uint8Array(12);
  new DataView(data.buffer).setFloat32(8, 2.5, true);
  const bytes = file({ __metadata__: null, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, z: { dtype: 'F32', shape: [0, 5], data_offsets: [8, 8] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.equal(metadata, {});
  assert.equal([...tensors.keys()], ['b', 'z', 'a']);
  assert.equal(Array.from(tensors.get('b')!.data), [2.5]);
  assert.is(tensors.get('z')!.data.length, 0);
  assert.equal(readSafetensorsHeader(bytes).entries.map((e) => [e.name, e.count]), [['b', 1], ['z', 0], ['a', 2]]);
});

test('duplicate keys are found at the top level only, with escapes and nesting', () => {
  assert.is(firstDuplicateKey('{"a":1,"b":{"a":2},"c":[{"a":3}]}'), null);
  assert.is(firstDuplicateKey('{"a\\"b":1, "x":"a\\"b", "a\\"b":2}'), 'a"b');
  assert.is(firstDuplicateKey('{"m":{"k":"v","k":"w"}}'), null, 'nested duplicates are the metadata\'s business');
});

test('writing F16 and BF16: half the size, PyTorch\'s rounding bit for bit, read back as float32', () => {
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/half-precision.json', import.meta.url), 'utf8'));
  const values = new Float32Array(Uint32Array.from(fixture.float32Bits).buffer);
  for (const [dtype, key] of [['F16', 'float16Bits'], ['BF16', 'bfloat16Bits']] as const) {
    const ours = new Uint16Array(toHalfBytes(values, dtype).buffer);
    const wrong = fixture[key].map((bits: number, i: number) => (bits === ours[i] ? null : `0x${fixture.float32Bits[i].toString(16)}: ours 0x${ours[i].toString(16)}, PyTorch ${fixture.torch} 0x${bits.toString(16)}`)).filter(Boolean);
    assert.equal(wrong.slice(0, 5), [], `${dtype}: ${wrong.length} of ${values.length} differ`);
  }
  const weights = Float32Array.from([0.1, -2, 65504, 1e-7, 3.14159]);
  const f32 = encodeSafetensors([{ name: 'w', shape: [5], data: weights }]);
  assert.is(f32.length - readSafetensorsHeader(f32).dataStart, 20);
  for (const dtype of ['F16', 'BF16'] as const) {
    const bytes = encodeSafetensors([{ name: 'w', shape: [5], data: weights }], { note: dtype }, { dtype });
    const header = readSafetensorsHeader(bytes);
    assert.equal(header.entries[0], { name: 'w', dtype, shape: [5], count: 5, begin: 0, end: 10 });
    assert.is(bytes.length - header.dataStart, 10, 'half the data of F32');
    const back = decodeSafetensors(bytes).tensors.get('w')!.data;
    const expected = dtype === 'F16' ? [0.0999755859375, -2, 65504, 1.1920928955078125e-7, 3.140625] : [0.10009765625, -2, 65536, 1.0011717677116394e-7, 3.140625];
    assert.equal(Array.from(back), expected);
  }
  assert.throws(() => encodeSafetensors([{ name: 'w', shape: [1], data: Float32Array.of(70000) }], {}, { dtype: 'F16' }),
    /tensor 'w' holds 70000 \(element 0\), beyond F16's range \(largest 65504\); store it as F32 or BF16/);
  assert.throws(() => encodeSafetensors([], {}, { dtype: 'F8' as never }), /dtype must be one of F32, F16, BF16, got F8/);
  assert.throws(() => encodeSafetensors([], {}, { dtpye: 'F16' } as never), /unknown option 'dtpye'/);
});

test.run();
