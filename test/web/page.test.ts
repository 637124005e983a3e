/**
 * The sampler page (web/) end to end in headless Chromium: the page is served by web/server.js, driven through
 * its controls (digit, color, number of images, seed, steps, guidance, Sample), and the pixels it draws are
 * compared, by SHA-256, with the pixels Node computes from the same model file, seed, class and steps with the
 * same built library (dist/) and the same pixel function (io/pixels.ts's toRGBA with web/layout.js's grid).
 *
 * The models are tiny untrained U-Nets built here and served from memory (a 'mnist' one padded to 32x32, which
 * the page crops to 28x28, and a 'colored-mnist' one whose classes are named '7 red' ...); the shipped
 * models/mnist.safetensors is checked too when it exists. Needs `npm run build` (dist/) and /usr/bin/chromium
 * (apt-get install chromium): without Chromium the tests are skipped, unless CI=true, where they fail.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'puppeteer-core';
import { chromiumSession, chromiumTest, type Server } from './chromium-session.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHIPPED = 'models/mnist.safetensors';
const TIMEOUT = 30_000;

const missingDist = ['dist/bindings/index.js', 'dist/bindings/io/pixels.js'].find((file) => !existsSync(join(ROOT, file)));
if (missingDist) throw new Error(`test/web: ${missingDist} is missing: run \`npm run build\` first`);
const lib = await import('../../dist/bindings/index.js');
const { toRGBA } = await import('../../dist/bindings/io/pixels.js');
const { PALETTE } = await import('../../dist/bindings/data/mnist.js');
// @ts-expect-error: plain JavaScript without declarations
const { gridOptions } = await import('../../web/layout.js') as { gridOptions: (n: number, data: object) => object };
await lib.init();

type Metadata = ReturnType<typeof lib.decodeModel>['metadata'];
interface Request { batchSize: number; steps: number; seed: number; classLabel: number; guidance: number; convolutions?: 'winograd' | 'direct' }

const COLORS = PALETTE.map((color) => color.name);
const GREY_MODEL = tinyModel('mnist', 1, 32, Array.from({ length: 10 }, (_, d) => String(d)));
const COLOR_MODEL = tinyModel('colored-mnist', 3, 16, Array.from({ length: 60 }, (_, k) => `${Math.floor(k / COLORS.length)} ${COLORS[k % COLORS.length]}`));

/** An untrained class-conditional U-Net as a model file, with the metadata `ddpm train` writes for digits. */
function tinyModel(name: string, channels: number, side: number, classNames: string[]): Uint8Array {
  const model = new lib.UNet2DModel({
    sampleSize: side, inChannels: channels, blockOutChannels: [8, 16], layersPerBlock: 1, attentionResolutions: [side / 2],
    numHeads: 2, normNumGroups: 4, resnetTimeScaleShift: 'scale_shift', numClassEmbeds: classNames.length,
  }, 7);
  return lib.encodeModel(model, {
    scheduler: { numTrainTimesteps: 1000, betaSchedule: 'linear', predictionType: 'epsilon', clipSample: true },
    data: { name, sampleShape: [channels, side, side], classNames },
    training: { steps: 0 },
  });
}

/** What Node draws for a request: the SHA-256 of the final sample's and the final predicted x0's RGBA grids. */
async function nodePixels(bytes: Uint8Array, r: Request): Promise<{ sample: string; x0: string; distinct: number }> {
  const { model, metadata } = lib.decodeModel(bytes);
  const { varianceType: _ddpmOnly, ...scheduler } = metadata.scheduler as Metadata['scheduler'] & { varianceType?: string };
  const pipeline = new lib.DDIMPipeline({ model: model as InstanceType<typeof lib.UNet2DModel>, scheduler: new lib.DDIMScheduler(scheduler) });
  const shape = [r.batchSize, ...metadata.data.sampleShape];
  const layout = gridOptions(r.batchSize, metadata.data);
  let x0: Float32Array = new Float32Array(0);
  const out = await pipeline.generate({
    batchSize: r.batchSize, numInferenceSteps: r.steps, seed: r.seed, classLabels: new Int32Array(r.batchSize).fill(r.classLabel),
    ...(r.guidance === 1 ? {} : { guidanceScale: r.guidance }), ...(r.convolutions && { convolutions: r.convolutions }),
    onStep: ({ predOriginalSample }) => { x0 = predOriginalSample.toFloat32Array(); },
  });
  const sample = toRGBA(out.toFloat32Array(), shape, layout);
  out.dispose();
  return { sample: sha256(sample.data), x0: sha256(toRGBA(x0, shape, layout).data), distinct: new Set(sample.data).size };
}

function sha256(bytes: Uint8Array | Uint8ClampedArray): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Opens the page on `model` and waits for it to load (or fail). */
async function open(page: Page, server: Server, model: string): Promise<string> {
  await page.goto(`${server.url}?model=${encodeURIComponent(model)}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), { timeout: TIMEOUT });
  return page.$eval('body', (body) => body.dataset.state!);
}

/** Sets the controls as a person would, presses Sample, waits for the last step; returns the canvases' hashes. */
async function sampleThroughUI(page: Page, r: { digit: string; color?: string; count: number; seed: number; steps: number; guidance: number; direct?: boolean }) {
  await page.click(`#classes input[value="${r.digit}"] + span`);
  if (r.color) await page.click(`#colors input[value="${r.color}"] + span`);
  await page.click(`#counts input[value="${r.count}"] + span`);
  for (const [id, value] of [['seed', r.seed], ['steps', r.steps]] as const) {
    await page.$eval(`#${id}`, (input) => { (input as HTMLInputElement).value = ''; });
    await page.type(`#${id}`, String(value));
  }
  await page.$eval('#guidance', (input, v) => {
    (input as HTMLInputElement).value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, r.guidance);
  if (r.direct) await page.click('#winograd'); // ticked by default
  await page.click('#sample');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), { timeout: TIMEOUT });
  const status = await page.$eval('#status', (e) => e.textContent ?? '');
  assert.is(await page.$eval('body', (b) => b.dataset.state), 'done', `the page reported: ${status}`);
  return page.evaluate(HASH_CANVASES) as Promise<{ sample: string; x0: string; counter: string }>;
}

// Sent as source text: tsx would wrap named functions in a helper (__name) that the page does not have.
const HASH_CANVASES = `(async () => {
  const hash = async (id) => {
    const canvas = document.getElementById(id);
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  };
  return { sample: await hash('canvas-sample'), x0: await hash('canvas-x0'), counter: document.getElementById('counter').textContent };
})()`;

const it = chromiumTest('the page tests');
{
  const start = chromiumSession({ files: { '/test/grey.safetensors': GREY_MODEL, '/test/colored.safetensors': COLOR_MODEL }, timeout: TIMEOUT, profilePrefix: 'ddpm-web-test-' });

  it('grey digits: the canvases hold exactly the pixels Node computes (4 images, guidance 2, cropped to 28x28)', async () => {
    const { page, server } = await start();
    assert.is(await open(page, server, 'test/grey.safetensors'), 'ready');
    const browserHashes = await sampleThroughUI(page, { digit: '3', count: 4, seed: 11, steps: 6, guidance: 2 });
    const node = await nodePixels(GREY_MODEL, { batchSize: 4, steps: 6, seed: 11, classLabel: 3, guidance: 2 });
    assert.ok(node.distinct > 16, `the reference image is nearly flat (${node.distinct} distinct bytes): the comparison would prove little`);
    assert.is(browserHashes.counter, 'step 6 / 6 · t = 0');
    assert.is(browserHashes.sample, node.sample, 'final sample x_0');
    assert.is(browserHashes.x0, node.x0, 'final predicted x0');
    assert.is(await page.$eval('#canvas-sample', (c) => `${(c as HTMLCanvasElement).width}x${(c as HTMLCanvasElement).height}`), '59x59');
  });

  it('colored digits: digit and color pick the class named "7 blue"; same pixels as Node', async () => {
    const { page, server } = await start();
    assert.is(await open(page, server, 'test/colored.safetensors'), 'ready');
    const browserHashes = await sampleThroughUI(page, { digit: '7', color: 'blue', count: 1, seed: 3, steps: 4, guidance: 1 });
    const node = await nodePixels(COLOR_MODEL, { batchSize: 1, steps: 4, seed: 3, classLabel: 7 * COLORS.length + COLORS.indexOf('blue'), guidance: 1 });
    assert.is(browserHashes.sample, node.sample, 'final sample x_0');
    assert.is(browserHashes.x0, node.x0, 'final predicted x0');
    const query = new URL(page.url()).searchParams;
    assert.equal([query.get('class'), query.get('color'), query.get('n'), query.get('seed')], ['7', 'blue', '1', '3']);
  });

  it('a missing model file is reported in the status line', async () => {
    const { page, server } = await start();
    assert.is(await open(page, server, 'test/no-such-model.safetensors'), 'error');
    assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), 'test/no-such-model.safetensors was not found on the server');
  });

  it(`the shipped ${SHIPPED}: same pixels as Node`, async () => {
    const { page, server } = await start();
    assert.is(await open(page, server, SHIPPED), 'ready');
    const browserHashes = await sampleThroughUI(page, { digit: '5', count: 1, seed: 2, steps: 3, guidance: 2 });
    const node = await nodePixels(readFileSync(join(ROOT, SHIPPED)), { batchSize: 1, steps: 3, seed: 2, classLabel: 5, guidance: 2 });
    assert.is(browserHashes.sample, node.sample);
    assert.is(browserHashes.x0, node.x0);
    assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /^done: 3 steps in .* ms per step, Winograd convolutions\)$/, "the pipelines' default");
  });

  it(`the shipped ${SHIPPED} with Winograd's convolutions unticked: Node's pixels with convolutions 'direct', and the worker ran them`, async () => {
    const { page, server } = await start();
    assert.is(await open(page, server, SHIPPED), 'ready');
    const browserHashes = await sampleThroughUI(page, { digit: '5', count: 1, seed: 2, steps: 3, guidance: 2, direct: true });
    const request = { batchSize: 1, steps: 3, seed: 2, classLabel: 5, guidance: 2 };
    const bytes = readFileSync(join(ROOT, SHIPPED));
    const direct = await nodePixels(bytes, { ...request, convolutions: 'direct' });
    assert.is(browserHashes.sample, direct.sample);
    assert.is(browserHashes.x0, direct.x0);
    // The two kinds of convolution differ by about 1e-6, below a pixel's 1/255 here: the worker says which it ran.
    assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /^done: 3 steps in .*, direct convolutions\)$/);
    assert.is(new URL(page.url()).searchParams.get('convolutions'), 'direct');
  });
}

test.run();
