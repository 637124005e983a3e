// examples/cloudflare-worker: built with its own build script, served by `workerd serve` (the npm package's
// binary) on a loopback port workerd picks; its PNGs decode to exactly the pixels the library draws in Node for
// the same query, bad queries get 400 and one line, and the test stops the server itself.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decode } from 'fast-png';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error: plain JavaScript, untyped
import { buildWorker } from '../../examples/cloudflare-worker/build.mjs';
// @ts-expect-error: plain JavaScript, untyped
import { startWorkerd } from '../runtimes/workerd.js';
import { ensureBuilt, ROOT } from '../cli/helpers.ts';

ensureBuilt();
const work = mkdtempSync(join(tmpdir(), 'ddpm-cf-worker-'));
mkdirSync(join(work, 'node_modules'));
symlinkSync(ROOT, join(work, 'node_modules', 'ddpm-wasm'), 'dir');  // 'ddpm-wasm' as an installed package
await buildWorker({ outdir: join(work, 'build'), nodePaths: [join(work, 'node_modules')] });
copyFileSync(join(ROOT, 'examples/cloudflare-worker/config.capnp'), join(work, 'config.capnp'));

const server = await startWorkerd('config.capnp', { cwd: work });
const get = (query: string) => fetch(`${server.origin}/${query}`, { signal: AbortSignal.timeout(60_000) });

const lib = await import(pathToFileURL(join(ROOT, 'dist/bindings/index.js')).href);
await lib.init();
const { model, metadata } = lib.loadModel(readFileSync(join(ROOT, 'models/mnist.safetensors')));

/** What the Worker should draw, computed by the library in Node: DDIM, the query's digit, the Worker's grid. */
async function drawInNode(digit: number, seed: number, count: number, steps: number) {
  const pipeline = new lib.DDIMPipeline({ model, scheduler: lib.DDIMScheduler.fromConfig(metadata.scheduler) });
  const images = await pipeline.generate({ batchSize: count, numInferenceSteps: steps, seed, classLabels: new Int32Array(count).fill(digit) });
  const rgba = lib.toRGBA(images.toFloat32Array(), images.shape, { columns: 8, scale: 2, gap: 2 });
  images.dispose();
  return rgba;
}

async function assertSamePixels(query: string, digit: number, seed: number, count: number, steps: number) {
  const response = await get(query);
  assert.is(response.status, 200, await response.clone().text());
  assert.is(response.headers.get('content-type'), 'image/png');
  const png = decode(new Uint8Array(await response.arrayBuffer()));
  const expected = await drawInNode(digit, seed, count, steps);
  assert.is(png.width, expected.width);
  assert.is(png.height, expected.height);
  assert.is(png.channels, 4);
  assert.ok(Buffer.from(png.data as Uint8Array).equals(Buffer.from(expected.data)), `${query}: the same pixels as Node`);
}

test('GET /?digit=7&seed=1: one digit, the pixels Node draws (default 20 DDIM steps)', async () => {
  await assertSamePixels('?digit=7&seed=1', 7, 1, 1, 20);
});

test('a grid: count 10 of digit 3, seed 5, 6 steps; and the same query again (model kept) gives the same bytes', async () => {
  await assertSamePixels('?digit=3&seed=5&count=10&steps=6', 3, 5, 10, 6);
  const [a, b] = await Promise.all(['?digit=0&seed=2&steps=3', '?digit=0&seed=2&steps=3'].map(async (q) => Buffer.from(await (await get(q)).arrayBuffer())));
  assert.ok(a.equals(b));
});

test('bad queries: 400 and one line naming the parameter, the value and what is allowed', async () => {
  const cases: [string, string][] = [
    ['?digit=12', "digit must be an integer from 0 to 9, got '12'"],
    ['?digit=7&seed=-1', "seed must be an integer from 0 to 9007199254740991, got '-1'"],
    ['?digit=7&count=65', "count must be an integer from 1 to 64, got '65'"],
    ['?digit=7&steps=0', "steps must be an integer from 1 to 100, got '0'"],
    ['?digit=7.5', "digit must be an integer from 0 to 9, got '7.5'"],
    ['?seed=1', 'digit is required: an integer from 0 to 9, as in /?digit=7'],
    ['?digit=7&color=red', "unknown parameter 'color' (known: digit, seed, count, steps)"],
  ];
  for (const [query, reason] of cases) {
    const response = await get(query);
    assert.is(response.status, 400, query);
    assert.is(await response.text(), `${reason}\n`, query);
  }
  const post = await fetch(`${server.origin}/?digit=7`, { method: 'POST' });
  assert.is(post.status, 405);
  await post.text();
});

test.after(async () => {
  await server.stop();
  model.params.values.dispose();
  model.params.grads.dispose();
  rmSync(work, { recursive: true, force: true });
});

test.run();
