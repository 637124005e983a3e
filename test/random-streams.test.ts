// The random-stream table: every use of randomness has its own stream, so no two uses can draw the same numbers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { decodeSafetensors } from '../bindings/index.ts';
import { dropoutStream, STREAMS } from '../bindings/random-streams.ts';

/** Names of the dropout layers of a U-Net: one per resnet, `<resnet>.dropout`. */
function dropoutLayers(modelFile: string): string[] {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(new URL(`../models/${modelFile}`, import.meta.url))), modelFile);
  return [...tensors.keys()].filter((name) => name.endsWith('.conv1.weight')).map((name) => name.replace('.conv1.weight', '.dropout'));
}

test('every stream of the table has its own id', () => {
  const seen = new Map<number, string>();
  for (const [name, id] of Object.entries(STREAMS)) {
    assert.ok(Number.isInteger(id) && id >= 0 && id < 2 ** 32, `${name}: ${id} is not a u32`);
    assert.not.ok(seen.has(id), `streams ${seen.get(id)} and ${name} share the id 0x${id.toString(16)}`);
    seen.set(id, name);
  }
});

test("dropout layers' streams collide neither with each other nor with the table", () => {
  const layers = [...new Set(['mnist.safetensors', 'colored-mnist.safetensors'].flatMap(dropoutLayers))];
  assert.ok(layers.length >= 11, `found only ${layers.length} dropout layers`);
  const table = new Set<number>(Object.values(STREAMS));
  const seen = new Map<number, string>();
  for (const layer of layers) {
    const id = dropoutStream(layer);
    assert.not.ok(table.has(id), `${layer}'s stream 0x${id.toString(16)} is in the table`);
    assert.not.ok(seen.has(id), `${layer} and ${seen.get(id)} share the stream 0x${id.toString(16)}`);
    seen.set(id, layer);
  }
});

test('dropoutStream is FNV-1a (32 bits) of the layer name', () => {
  // Reference values of FNV-1a 32: '' -> 0x811c9dc5, 'a' -> 0xe40c292c, 'foobar' -> 0xbf9cf968.
  assert.is(dropoutStream(''), 0x811c9dc5);
  assert.is(dropoutStream('a'), 0xe40c292c);
  assert.is(dropoutStream('foobar'), 0xbf9cf968);
});

test.run();
