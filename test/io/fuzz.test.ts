/**
 * A seeded fuzz test of the file readers: 300 mutations of a real model file and 300 of a real training state
 * (bit flips in the header and in the data, truncations, appended bytes, edits of the JSON header and of the
 * ddpm_wasm metadata inside it: values replaced by others of every type, keys deleted, renamed or misspelt),
 * each read as `decodeModel`, `restoreTrainingState` and `ddpm info` would. Each must load a valid model (finite
 * weights, consistent with its metadata) or fail with one clean line that names the file, never a raw
 * JavaScript error (TypeError, "Cannot read properties of undefined", ...), and memory must stay bounded: no
 * WebAssembly memory left behind by a refused file, the heap never grown by more than a few megabytes.
 * Mutations come from a tiny integer PRNG (mulberry32) with a fixed seed, so every run tries the same files.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel, init, memoryStats, restoreTrainingState, type Trainer } from '../../bindings/index.ts';
import { disposeModel } from '../../bindings/models/model-file.ts';
import { describeBytes } from '../../cli/info.ts';
import { join, split, toyFiles, toyTrainer } from './files.ts';

await init();
const { model: MODEL, state: STATE } = await toyFiles();
const SOURCE = 'fuzzed.safetensors';
const MUTATIONS = 300;

/** mulberry32: a 32-bit state, integer arithmetic only. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of every JSON type, and numbers at the edges. */
const ODD_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53, 1e308, -1e9, '', 'x', '1', [], [0], [-3, 2], [1e9, 1e9], {}, { a: 1 }, [null]];

/** A random path to a value inside a JSON value (object keys and array indices), or [] for the value itself. */
function randomPath(value: unknown, random: () => number): (string | number)[] {
  const path: (string | number)[] = [];
  let at = value;
  while (at !== null && typeof at === 'object' && random() < 0.7) {
    const keys = Array.isArray(at) ? at.map((_, i) => i) : Object.keys(at);
    if (keys.length === 0) break;
    const key = keys[Math.floor(random() * keys.length)];
    path.push(key);
    at = (at as Record<string | number, unknown>)[key];
  }
  return path;
}

/** Applies one random edit at a random place of a JSON value (in place when it is a container); returns the result. */
function editJson(root: unknown, random: () => number): unknown {
  const path = randomPath(root, random);
  if (path.length === 0) return ODD_VALUES[Math.floor(random() * ODD_VALUES.length)];
  const key = path.pop()!;
  const parent = path.reduce<any>((at, k) => at[k], root);
  const choice = random();
  if (choice < 0.55) parent[key] = ODD_VALUES[Math.floor(random() * ODD_VALUES.length)];
  else if (choice < 0.7 && !Array.isArray(parent)) delete parent[key];
  else if (choice < 0.85 && !Array.isArray(parent)) { parent[`${String(key).slice(0, -1)}`] = parent[key]; delete parent[key]; }
  else if (typeof parent[key] === 'number') parent[key] = parent[key] * (random() < 0.5 ? -1 : 3) + 1;
  else parent[key] = JSON.parse(JSON.stringify(parent));
  return root;
}

/** One mutation of `bytes`. */
function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const kind = Math.floor(random() * 6);
  const { header, data } = split(bytes);
  const headerEnd = bytes.length - data.length;
  switch (kind) {
    case 0: case 1: { // bit flips: in the header (kind 0) or anywhere (kind 1)
      const out = bytes.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(random() * (kind === 0 ? headerEnd : out.length));
        out[at] ^= 1 << Math.floor(random() * 8);
      }
      return out;
    }
    case 2: return bytes.slice(0, Math.floor(random() * bytes.length)); // truncation
    case 3: { // appended bytes
      const out = new Uint8Array(bytes.length + 1 + Math.floor(random() * 64));
      out.set(bytes);
      return out;
    }
    case 4: return join(editJson(header, random) as Record<string, unknown>, data); // the safetensors header
    default: { // the ddpm_wasm metadata
      const meta = editJson(JSON.parse(header.__metadata__.ddpm_wasm), random);
      header.__metadata__.ddpm_wasm = random() < 0.05 ? String(meta).slice(0, 5) : JSON.stringify(meta);
      return join(header, data);
    }
  }
}

/** Raw JavaScript errors, as opposed to messages written for users. */
const RAW = /Cannot read propert|Cannot convert|undefined is not|is not a function|is not iterable|is not defined|Invalid array length|out of bounds|Maximum call stack|toLocaleString|\[object Object\]|Unexpected token/;

/** Asserts that `run` succeeds (returning true) or fails with a clean one-line error naming the file. */
function cleanly(run: () => void, label: string): 'loaded' | 'refused' {
  try {
    run();
    return 'loaded';
  } catch (error) {
    const e = error as Error;
    assert.is(e.constructor, Error, `${label}: a raw ${e.constructor.name}: ${e.message}`);
    assert.not.match(e.message, RAW, `${label}: a raw message: ${e.message}`);
    assert.not.match(e.message, /\n/, `${label}: more than one line: ${e.message}`);
    assert.ok(e.message.includes(SOURCE), `${label}: the error does not name the file: ${e.message}`);
    return 'refused';
  }
}

const tally = () => ({ loaded: 0, refused: 0 });

test(`${MUTATIONS} mutated model files: a valid model or a clean error, and no memory left behind`, () => {
  const random = prng(20240611);
  const counts = tally();
  const baseline = memoryStats();
  for (let i = 0; i < MUTATIONS; i++) {
    const bytes = mutate(MODEL, random);
    const label = `model mutation ${i}`;
    cleanly(() => describeBytes(bytes, SOURCE, bytes.length), `${label} (ddpm info)`);
    const outcome = cleanly(() => {
      const { model, metadata } = decodeModel(bytes, SOURCE);
      try {
        assert.ok(model.params.values.toFloat32Array().every(Number.isFinite), `${label}: non-finite weights loaded`);
        assert.equal(metadata.data.sampleShape, ['sampleShape' in model ? model.sampleShape : []].flat(), `${label}: sampleShape`);
      } finally {
        disposeModel(model);
      }
    }, label);
    counts[outcome]++;
    assert.is(memoryStats().liveBytes, baseline.liveBytes, `${label}: WebAssembly memory left behind`);
  }
  assert.ok(memoryStats().heapBytes - baseline.heapBytes < 16 * 2 ** 20, `the heap grew by ${((memoryStats().heapBytes - baseline.heapBytes) / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(counts.refused > MUTATIONS / 2 && counts.loaded > 0, `loaded ${counts.loaded}, refused ${counts.refused}`);
});

test(`${MUTATIONS} mutated training states: restored, or refused cleanly with the trainer unchanged`, async () => {
  const random = prng(7);
  const counts = tally();
  const trainer = toyTrainer();
  const snapshot = (t: Trainer) => JSON.stringify([t.step, ...[t.model.params.values, t.ema, t.adamM, t.adamV].map((x) => Array.from(x.toFloat32Array()))]);
  const baseline = memoryStats();
  for (let i = 0; i < MUTATIONS; i++) {
    const bytes = mutate(STATE, random);
    const label = `state mutation ${i}`;
    cleanly(() => describeBytes(bytes, SOURCE, bytes.length), `${label} (ddpm info)`);
    const before = snapshot(trainer);
    const outcome = cleanly(() => restoreTrainingState(trainer, bytes, SOURCE), label);
    counts[outcome]++;
    if (outcome === 'refused') assert.is(snapshot(trainer), before, `${label}: a refused state changed the trainer`);
    else assert.ok([trainer.ema, trainer.adamM, trainer.adamV].every((t) => t.toFloat32Array().every(Number.isFinite)), `${label}: non-finite state restored`);
    assert.is(memoryStats().liveBytes, baseline.liveBytes, `${label}: WebAssembly memory left behind`);
  }
  assert.ok(counts.refused > MUTATIONS / 2 && counts.loaded > 0, `restored ${counts.loaded}, refused ${counts.refused}`);
  await trainer.dispose();
});

test.run();
