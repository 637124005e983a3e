import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, decodeSafetensors, encodeModel, encodeSafetensors, init, MLPDenoiser, UNet2DModel } from '../../bindings/index.ts';

await init();

const tensors = () => [
  { name: 'a.weight', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -0]) },
  { name: 'b', shape: [1], data: Float32Array.from([Math.PI]) },
];

test('safetensors round-trips tensors and metadata; the header is 8-byte aligned JSON', () => {
  const bytes = encodeSafetensors(tensors(), { format: 'pt', note: 'hello' });
  const headerLength = new DataView(bytes.buffer).getUint32(0, true);
  assert.is(headerLength % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  assert.equal(header['a.weight'], { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  assert.equal(header.b.data_offsets, [24, 28]);
  assert.equal(header.__metadata__, { format: 'pt', note: 'hello' });
  const { tensors: read, metadata } = decodeSafetensors(bytes);
  assert.equal(metadata, { format: 'pt', note: 'hello' });
  for (const t of tensors()) {
    assert.equal(read.get(t.name)!.shape, t.shape);
    assert.equal(Array.from(read.get(t.name)!.data), Array.from(t.data));
  }
  assert.is(Object.is(read.get('a.weight')!.data[5], -0), true);
});

test('safetensors reads F16, BF16 and F64 written by other tools', () => {
  const header = JSON.stringify({
    h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
    b: { dtype: 'BF16', shape: [1], data_offsets: [6, 8] },
    d: { dtype: 'F64', shape: [1], data_offsets: [8, 16] },
  });
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const bytes = new Uint8Array(8 + padded.length + 16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, padded.length, true);
  bytes.set(new TextEncoder().encode(padded), 8);
  const at = 8 + padded.length;
  view.setUint16(at, 0x3c00, true); // 1.0
  view.setUint16(at + 2, 0xc000, true); // -2.0
  view.setUint16(at + 4, 0x0001, true); // smallest subnormal, 2^-24
  view.setUint16(at + 6, 0x4049, true); // bfloat16 3.140625
  view.setFloat64(at + 8, 0.1, true);
  const { tensors: read } = decodeSafetensors(bytes);
  assert.equal(Array.from(read.get('h')!.data), [1, -2, 2 ** -24]);
  assert.equal(Array.from(read.get('b')!.data), [3.140625]);
  assert.equal(Array.from(read.get('d')!.data), [Math.fround(0.1)]);
});

test('safetensors rejects truncated and corrupted files with a message saying what is wrong', () => {
  const bytes = encodeSafetensors(tensors());
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 5), 'x.safetensors'), /x.safetensors is not a valid safetensors file: it has 5 bytes/);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 30), 'x.safetensors'), /the header claims \d+ bytes but the file has 30 \(truncated/);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'x.safetensors'), /tensor 'b' has data_offsets \[24, 28\] outside the data \(24 bytes; the file may be truncated\)/);
  const garbled = bytes.slice();
  garbled[9] = 0x7b; garbled[10] = 0x7b; // '{{' breaks the JSON
  assert.throws(() => decodeSafetensors(garbled, 'x.safetensors'), /its header is not valid JSON/);
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  assert.throws(() => decodeSafetensors(png, 'image.png'), /image.png is not a valid safetensors file/);
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  assert.throws(() => decodeSafetensors(extra), /the data has 32 bytes but the tensors cover 28/);
});

test('a model file round-trips: same class, config and weights; names are diffusers\' names', () => {
  const model = new UNet2DModel({ sampleSize: 8, inChannels: 1, blockOutChannels: [4, 8], layersPerBlock: 1, normNumGroups: 2, attentionResolutions: [], numClassEmbeds: 3 }, 7);
  const bytes = encodeModel(model, { scheduler: { numTrainTimesteps: 100 }, data: { name: 'mnist', sampleShape: [1, 8, 8], classNames: ['0', '1', '2'] }, training: { steps: 5 } });
  const { model: read, metadata } = decodeModel(bytes, 'm.safetensors');
  assert.ok(read instanceof UNet2DModel);
  assert.equal(read.config, model.config);
  assert.equal(metadata.training.steps, 5);
  assert.equal(metadata.data.name, 'mnist');
  assert.equal(Array.from(read.params.values.toFloat32Array()), Array.from(model.params.values.toFloat32Array()));
  assert.ok(decodeSafetensors(bytes).tensors.has('down_blocks.0.resnets.0.time_emb_proj.weight'));
});

test('a model file that does not match its config, or is not ours, is rejected clearly', () => {
  const mlp = new MLPDenoiser({ hiddenSize: 8 });
  const meta = { scheduler: {}, data: { name: 'gaussian8', sampleShape: [2], classNames: [] }, training: { steps: 0 } };
  const bytes = encodeModel(mlp, meta);
  const { tensors, metadata } = decodeSafetensors(bytes);
  tensors.delete('output_proj.bias');
  const missing = encodeSafetensors([...tensors.values()], metadata);
  assert.throws(() => decodeModel(missing, 'm.safetensors'), /m.safetensors does not match its config: 1 tensor missing \(output_proj.bias\)/);
  const wrongShape = encodeSafetensors([...decodeSafetensors(bytes).tensors.values()].map((t) => t.name === 'input_proj.bias' ? { ...t, shape: [2, 4] } : t), metadata);
  assert.throws(() => decodeModel(wrongShape, 'm.safetensors'), /'input_proj.bias' is \[2, 4\] in the file, \[8\] in the model/);
  assert.throws(() => decodeModel(encodeSafetensors(tensors.size ? [...tensors.values()] : []), 'plain.safetensors'), /not a ddpm-wasm model: its metadata has no 'ddpm_wasm' entry/);
});

test.run();
