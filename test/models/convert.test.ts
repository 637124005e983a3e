// convertModelFile: a model file in another dtype. The shipped digit models are float16 (half the size): their
// float32 copy holds exactly their values and converts back to their very bytes; the metadata's text survives;
// float16's range is checked (one line naming the tensor); a broken file fails as decodeModel fails, and nothing
// stays allocated.
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  convertModelFile, decodeModel, decodeSafetensors, disposeModel, encodeModel, init, memoryStats, MLPDenoiser, readSafetensorsHeader,
} from '../../bindings/index.ts';

await init();
const MODELS = new URL('../../models/', import.meta.url);
/** Every model file the package ships (models/*.safetensors), by name. */
const SHIPPED = readdirSync(MODELS).filter((file) => file.endsWith('.safetensors')).map((file) => file.slice(0, -'.safetensors'.length));
const read = (name: string) => new Uint8Array(readFileSync(new URL(`${name}.safetensors`, MODELS)));
const dtypes = (bytes: Uint8Array) => new Set(readSafetensorsHeader(bytes, 'file').entries.map((e) => e.dtype));
const equalBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

test('the shipped models are float16, and float32 and back gives their very bytes (metadata text, tensor order)', () => {
  assert.ok(SHIPPED.includes('mnist'), `models/ holds ${SHIPPED.join(', ')}`);
  for (const name of SHIPPED) {
    const f16 = read(name);
    assert.equal([...dtypes(f16)], ['F16'], name);
    const f32 = convertModelFile(f16, { dtype: 'F32' }, name);
    assert.equal([...dtypes(f32)], ['F32'], name);
    assert.ok(f32.length > 1.95 * f16.length, `${name}: ${f32.length} vs ${f16.length} bytes`);
    const wide = decodeSafetensors(f32).tensors, narrow = decodeSafetensors(f16).tensors;
    assert.equal([...wide.keys()], [...narrow.keys()], name);
    for (const [key, t] of narrow) assert.ok(equalBytes(new Uint8Array(wide.get(key)!.data.buffer), new Uint8Array(t.data.buffer)), `${name} ${key}`);
    assert.equal(readSafetensorsHeader(f32, name).metadata, readSafetensorsHeader(f16, name).metadata, name);
    assert.ok(equalBytes(convertModelFile(f32, { dtype: 'F16' }), f16), `${name}: float32 -> float16 is not the shipped file`);
    assert.ok(equalBytes(convertModelFile(f16, { dtype: 'F16' }), f16), `${name}: float16 -> float16 changed the bytes`);
  }
});

/** A small MLP's model file (float32), with the weights at the given indices set first. */
function mlpFile(set: Record<number, number>): Uint8Array {
  const model = new MLPDenoiser({ dataDim: 2 }, 3);
  const values = model.params.values.toFloat32Array();
  for (const [index, value] of Object.entries(set)) values[Number(index)] = value;
  model.params.values.view().set(values);
  try {
    return encodeModel(model, { scheduler: { numTrainTimesteps: 1000 }, data: { name: 'points', sampleShape: [2], classNames: [] }, training: { steps: 0 } });
  } finally {
    disposeModel(model);
  }
}

/** The weights a model file decodes to. */
function decodedWeights(bytes: Uint8Array): Float32Array {
  const { model } = decodeModel(bytes);
  try {
    return model.params.values.toFloat32Array();
  } finally {
    disposeModel(model);
  }
}

test('float16 rounds to nearest even, bfloat16 too, and the model decodes with the rounded weights', () => {
  // 1 + 2^-11: halfway between float16's 1 and 1 + 2^-10, ties to even, 1; 1 + 3 * 2^-11: halfway between
  // 1 + 2^-10 and 1 + 2^-9, ties to even, 1 + 2^-9.
  const f32 = mlpFile({ 0: 1 + 2 ** -11, 1: 1 + 3 * 2 ** -11 });
  const half = decodedWeights(convertModelFile(f32, { dtype: 'F16' }));
  assert.equal([half[0], half[1]], [1, 1 + 2 ** -9]);
  const brain = decodedWeights(convertModelFile(f32, { dtype: 'BF16' }));
  assert.equal([brain[0], brain[1]], [1, 1]); // bfloat16 keeps 7 bits: both round to 1
});

test('bad input: beyond float16\'s range, an unknown dtype, bytes that are not a model; nothing stays allocated', () => {
  const f32 = mlpFile({ 5: 70000 });
  const before = memoryStats().liveBytes;
  assert.throws(() => convertModelFile(f32, { dtype: 'F16' }), (e: Error) => /holds 70000 \(element \d+\), beyond F16's range/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => convertModelFile(f32, { dtype: 'F8' as 'F16' }), /dtype must be one of F32, F16, BF16, got F8/);
  assert.throws(() => convertModelFile(new TextEncoder().encode('hello'), { dtype: 'F16' }, 'hello.safetensors'), /hello.safetensors is not a valid safetensors file/);
  assert.is(memoryStats().liveBytes, before);
  assert.ok(convertModelFile(f32, { dtype: 'BF16' }).length < f32.length); // bfloat16 reaches 3.4e38
});

test.run();
