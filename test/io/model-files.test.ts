/**
 * Model files load strictly, and bad ones are refused early, cheaply, in one line naming the file: missing and
 * unexpected tensors (the first few named), unknown config and scheduler keys (with the nearest known key),
 * a sampleShape or class list that does not fit the model, non-finite weights, malformed metadata, a config
 * asking for a model far larger than the file (refused before any allocation), and files above the parameter
 * limit. A refused file leaves no WebAssembly memory behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, encodeModel, init, memoryStats, MLPDenoiser } from '../../bindings/index.ts';
import { editMetadata, join, setValue, split, toyFiles } from './files.ts';

await init();
const { model: MODEL } = await toyFiles();

/** Asserts that decoding `bytes` fails with `pattern`, in one line, leaving the wasm memory as it was. */
function refused(bytes: Uint8Array, pattern: RegExp, options = {}): string {
  const before = memoryStats();
  let message = '';
  try {
    decodeModel(bytes, 'm.safetensors', options);
  } catch (error) {
    message = (error as Error).message;
  }
  assert.match(message, pattern);
  assert.not.match(message, /\n/);
  assert.ok(message.includes('m.safetensors'), `the error names the file: ${message}`);
  assert.is(memoryStats().liveBytes, before.liveBytes, `wasm memory left behind by: ${message}`);
  return message;
}

test('the real file loads, and reloads identically', () => {
  const { model, metadata } = decodeModel(MODEL, 'm.safetensors');
  assert.ok(model instanceof MLPDenoiser);
  assert.equal(metadata.training.steps, 2);
  assert.equal(Array.from(decodeModel(MODEL).model.params.values.toFloat32Array()), Array.from(model.params.values.toFloat32Array()));
});

test('unexpected tensors are refused by default, naming them; strict: false ignores them', () => {
  const { header, data } = split(MODEL);
  const extra = new Uint8Array(data.length + 3 * 64);
  extra.set(data);
  for (let i = 0; i < 3; i++) {
    header[`blocks.2.linear_${i}.weight`] = { dtype: 'F32', shape: [16], data_offsets: [data.length + i * 64, data.length + (i + 1) * 64] };
  }
  const bytes = join(header, extra);
  refused(bytes, /m\.safetensors does not match its config: it holds 3 tensors the model does not have \(blocks\.2\.linear_0\.weight, blocks\.2\.linear_1\.weight, blocks\.2\.linear_2\.weight\)/);
  assert.ok(decodeModel(bytes, 'm.safetensors', { strict: false }).model instanceof MLPDenoiser);
});

test('missing tensors are refused, the first few named and the rest counted', () => {
  const { header, data } = split(MODEL);
  // Declare the missing tensors' bytes as one filler tensor, so that the header stays valid.
  let filler = 0;
  for (const name of Object.keys(header).filter((n) => n.startsWith('blocks.1.'))) {
    filler += header[name].data_offsets[1] - header[name].data_offsets[0];
    delete header[name];
  }
  const remaining = Object.entries(header).filter(([n]) => n !== '__metadata__').sort((a: any, b: any) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let at = 0;
  const bytes = new Uint8Array(data.length);
  const rebuilt: Record<string, unknown> = { __metadata__: header.__metadata__ };
  for (const [name, entry] of remaining as [string, any][]) {
    const [b, e] = entry.data_offsets;
    bytes.set(data.subarray(b, e), at);
    rebuilt[name] = { ...entry, data_offsets: [at, at + e - b] };
    at += e - b;
  }
  rebuilt.filler = { dtype: 'F32', shape: [filler / 4], data_offsets: [at, at + filler] };
  refused(join(rebuilt, bytes), /does not match its config: 4 tensors missing \(blocks\.1\.linear_1\.weight, blocks\.1\.linear_1\.bias, blocks\.1\.linear_2\.weight, and 1 more\)/);
});

test('unknown keys in the config, the scheduler, the data and the metadata name the nearest known key', () => {
  refused(editMetadata(MODEL, (m) => { m.config.numBlock = m.config.numBlocks; delete m.config.numBlocks; }),
    /its model config is invalid: MLPDenoiser: unknown option 'numBlock' \(did you mean 'numBlocks'\?\)/);
  refused(editMetadata(MODEL, (m) => { m.scheduler.numTrainTimestep = 100; delete m.scheduler.numTrainTimesteps; }),
    /the scheduler config: unknown key 'numTrainTimestep' \(did you mean 'numTrainTimesteps'\?\)/);
  refused(editMetadata(MODEL, (m) => { m.data.sampleShap = m.data.sampleShape; }), /the data description: unknown key 'sampleShap' \(did you mean 'sampleShape'\?\)/);
  refused(editMetadata(MODEL, (m) => { m.kind = 'mpl'; }), /it holds an unknown model kind "mpl" \(did you mean 'mlp'\?\)/);
  refused(editMetadata(MODEL, (m) => { m.extra = 1; }), /the ddpm_wasm metadata: unknown key 'extra'/);
});

test('the data\'s sampleShape and class names must fit the model', () => {
  refused(editMetadata(MODEL, (m) => { m.data.sampleShape = [3]; }), /its data has samples \[3\], but its model takes \[2\]/);
  const conditional = encodeModel(new MLPDenoiser({ hiddenSize: 8, numClassEmbeds: 3 }), { scheduler: {}, data: { name: 'toy', sampleShape: [2], classNames: ['a', 'b'] }, training: { steps: 0 } });
  refused(conditional, /m\.safetensors: its model has 3 classes but its data names 2/);
});

test('malformed metadata: every entry checked, each error one line naming the file', () => {
  const cases: [(m: any) => unknown, RegExp][] = [
    [(m) => { m.version = '1'; }, /its format version is "1"; this library reads version 1/],
    [(m) => { m.version = 2; }, /its format version is 2; this library reads version 1 \(a newer ddpm-wasm wrote it\)/],
    [(m) => { delete m.scheduler; }, /the ddpm_wasm metadata has no 'scheduler' entry/],
    [(m) => { m.scheduler = null; }, /the scheduler config is null, not an object/],
    [(m) => { m.scheduler.numTrainTimesteps = -5; }, /its scheduler config is invalid: DDPMScheduler: numTrainTimesteps/],
    [(m) => { m.scheduler.betaSchedule = 'cubic'; }, /its scheduler config is invalid: DDPMScheduler: betaSchedule/],
    [(m) => { m.config = [1]; }, /the model config is \[1\], not an object/],
    [(m) => { m.config.hiddenSize = 1e12; }, /config 'hiddenSize' is 1000000000000, out of range/],
    [(m) => { m.config.hiddenSize = { a: 1 }; }, /config 'hiddenSize' is \{"a":1\}, not a number, boolean, string or list/],
    [(m) => { m.data = 'points'; }, /the data description is "points", not an object/],
    [(m) => { delete m.data.classNames; }, /the data description has no 'classNames' entry/],
    [(m) => { m.data.sampleShape = [0]; }, /the data's sampleShape is \[0\]; it is 1 to 4 sizes from 1 to 65536/],
    [(m) => { m.data.classNames = [1, 2]; }, /the data's classNames is \[1,2\]; it is a list of names/],
    [(m) => { m.training.steps = null; }, /the training record's steps is null, not a whole number of steps >= 0/],
    [(m) => { delete m.training.steps; }, /the training record's steps is missing/],
    [(m) => { m.training.options.seed = [1]; }, /the training option 'seed' is \[1\], not a plain value/],
    [() => 7, /the ddpm_wasm metadata is 7, not an object/],
  ];
  for (const [edit, pattern] of cases) refused(editMetadata(MODEL, edit), pattern);
  const { header, data } = split(MODEL);
  header.__metadata__.ddpm_wasm = '{"version": 1,';
  refused(join(header, data), /m\.safetensors: the 'ddpm_wasm' metadata is not valid JSON/);
  delete header.__metadata__.ddpm_wasm;
  refused(join(header, data), /m\.safetensors is a safetensors file but not a ddpm-wasm model/);
});

test('a config asking for a huge model is refused at once, allocating nothing', () => {
  const before = memoryStats();
  const started = performance.now();
  const message = refused(editMetadata(MODEL, (m) => { m.config.numBlocks = 1e6; }),
    /its model config is invalid: it describes a model far larger than the file: more than [\d,]+ parameters \('blocks\.\d+\.linear_\d\.(weight|bias)' takes it to [\d,]+\), where the file holds [\d,]+/);
  assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms: ${message}`);
  assert.is(memoryStats().heapBytes, before.heapBytes, 'the heap did not grow');
});

test('a file above the parameter limit needs an explicit maxParameters', () => {
  refused(MODEL, /m\.safetensors holds [\d,]+ parameters \([\d.]+ MiB as float32\), more than the limit of 1,000; pass a larger maxParameters/, { maxParameters: 1000 });
  assert.throws(() => decodeModel(MODEL, 'm', { maxParameters: 0 }), /decodeModel: maxParameters must be a positive integer, got 0/);
  assert.throws(() => decodeModel(MODEL, 'm', { strict: 'yes' } as never), /decodeModel: strict must be true or false, got yes/);
  assert.throws(() => decodeModel(MODEL, 'm', { maxParams: 5 } as never), /decodeModel: unknown option 'maxParams'/);
});

test('non-finite weights are refused, naming the tensor and the element', () => {
  refused(setValue(MODEL, 'output_proj.weight', 5, NaN), /tensor 'output_proj\.weight' holds NaN at element 5; a model's weights must be finite numbers/);
  refused(setValue(MODEL, 'input_proj.bias', 0, -Infinity), /tensor 'input_proj\.bias' holds -Infinity at element 0/);
});

test.run();
