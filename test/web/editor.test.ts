/**
 * The sampler page's drawing pad in headless Chromium: strokes drawn with simulated pointer events (the mouse,
 * and a finger on the touchscreen), then Edit, completing the drawing (RePaint inpainting) or cleaning it up
 * (img2img). The page's pad and result canvases are compared, by SHA-256, with what Node computes from the same
 * strokes with the same built library: the pad's rasterisation (web/strokes.js), and the edit done with the
 * library's pipelines and the settings of web/edit.js, drawn with io/pixels.ts's toRGBA and web/layout.js's grid.
 *
 * The models are a tiny untrained U-Net served from memory ('mnist', padded to 32x32 as digit models may be) and
 * the shipped models/mnist.safetensors. Needs `npm run build` (dist/) and /usr/bin/chromium: without Chromium the
 * tests are skipped, unless CI=true, where they fail.
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
const TIMEOUT = 60_000;

if (!existsSync(join(ROOT, 'dist/bindings/index.js'))) throw new Error('test/web: dist/ is missing: run `npm run build` first');
const lib = await import('../../dist/bindings/index.js');
const { toRGBA } = await import('../../dist/bindings/io/pixels.js');
// @ts-expect-error: plain JavaScript without declarations
const { gridOptions } = await import('../../web/layout.js') as { gridOptions: (n: number, data: object) => object };
// @ts-expect-error: plain JavaScript without declarations
const strokesModule = await import('../../web/strokes.js');
const { rasterize, editInputs, inkToRGBA, GRID } = strokesModule as {
  rasterize: (s: number[][][]) => Float32Array; editInputs: (ink: Float32Array, shape: readonly number[]) => { image: Float32Array; mask: Float32Array };
  inkToRGBA: (ink: Float32Array) => { data: Uint8ClampedArray }; GRID: number;
};
// @ts-expect-error: plain JavaScript without declarations
const { EDIT_SETTINGS } = await import('../../web/edit.js') as { EDIT_SETTINGS: { steps: number; jumpLength: number; jumpNSample: number; eta: number } };
await lib.init();

type Metadata = ReturnType<typeof lib.decodeModel>['metadata'];
interface Edit { mode: 'complete' | 'clean'; strength: number; batchSize: number; seed: number; classLabel: number; guidance: number }

/** An untrained class-conditional U-Net on 32x32 (digits padded), as `ddpm train` writes it. */
const GREY_MODEL = (() => {
  const model = new lib.UNet2DModel({
    sampleSize: 32, inChannels: 1, blockOutChannels: [8, 16], layersPerBlock: 1, attentionResolutions: [16], numHeads: 2,
    normNumGroups: 4, resnetTimeScaleShift: 'scale_shift', numClassEmbeds: 10,
  }, 9);
  return lib.encodeModel(model, {
    scheduler: { numTrainTimesteps: 1000, betaSchedule: 'linear', predictionType: 'v_prediction', clipSample: true },
    data: { name: 'mnist', sampleShape: [1, 32, 32], classNames: Array.from({ length: 10 }, (_, d) => String(d)) },
    training: { steps: 0 },
  });
})();

/** The strokes, in cells of the 28x28 pad: a mouse stroke (a 7's bar and stem) and a finger stroke (its cross). */
const MOUSE_STROKE = [[7, 7.5], [13, 7.25], [20.5, 7], [18, 12], [15.125, 17], [13, 22.5]];
const TOUCH_STROKE = [[11, 15], [14.5, 15], [19, 15.25]];

const sha256 = (bytes: Uint8Array | Uint8ClampedArray) => createHash('sha256').update(bytes).digest('hex');

/** What Node computes for an edit of `strokes`: the SHA-256 of the final sample's and predicted x0's grids. */
async function nodeEdit(bytes: Uint8Array, strokes: number[][][], e: Edit): Promise<{ sample: string; x0: string; values: Float32Array; ink: Float32Array }> {
  const { model, metadata } = lib.decodeModel(bytes);
  const shape = metadata.data.sampleShape as number[];
  const ink = rasterize(strokes);
  const { image, mask } = editInputs(ink, shape);
  const stored = metadata.scheduler as Metadata['scheduler'];
  const options: Record<string, unknown> = {
    batchSize: e.batchSize, seed: e.seed, numInferenceSteps: EDIT_SETTINGS.steps, classLabels: new Int32Array(e.batchSize).fill(e.classLabel),
    ...(e.guidance === 1 ? {} : { guidanceScale: e.guidance }), image: lib.Tensor.from(image, [1, ...shape]),
  };
  let pipeline;
  if (e.mode === 'complete') {
    const scheduler = new lib.RePaintScheduler({ numTrainTimesteps: 1000, betaSchedule: 'linear', predictionType: stored.predictionType, clipSample: true });
    pipeline = new lib.RePaintPipeline({ model: model as never, scheduler });
    Object.assign(options, { maskImage: lib.Tensor.from(mask, [1, 1, shape[1], shape[2]]), jumpLength: EDIT_SETTINGS.jumpLength, jumpNSample: EDIT_SETTINGS.jumpNSample, eta: EDIT_SETTINGS.eta });
  } else {
    const scheduler = new lib.DPMSolverMultistepScheduler({ predictionType: stored.predictionType, useKarrasSigmas: true, thresholding: true, sampleMaxValue: 1 });
    pipeline = new lib.DiffusionPipeline({ model: model as never, scheduler });
    options.strength = e.strength;
  }
  let x0: Float32Array = new Float32Array(0);
  options.onStep = ({ predOriginalSample }: { predOriginalSample: { toFloat32Array(): Float32Array } }) => { x0 = predOriginalSample.toFloat32Array(); };
  const out = await pipeline.generate(options as never);
  const values = out.toFloat32Array();
  out.dispose();
  (options.image as { dispose(): void }).dispose();
  (options.maskImage as { dispose(): void } | undefined)?.dispose();
  const grid = [e.batchSize, ...shape], layout = gridOptions(e.batchSize, metadata.data);
  return { sample: sha256(toRGBA(values, grid, layout).data), x0: sha256(toRGBA(x0, grid, layout).data), values, ink };
}

/** Opens the page on `model` and waits for it to load. */
async function open(page: Page, server: Server, model: string): Promise<void> {
  await page.goto(`${server.url}?model=${encodeURIComponent(model)}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), { timeout: TIMEOUT });
  assert.is(await page.$eval('body', (b) => b.dataset.state), 'ready');
}

/** Where a cell of the pad is on the page (CSS pixels). */
async function padPoint(page: Page): Promise<(p: number[]) => { x: number; y: number }> {
  await page.$eval('#pad', (pad) => pad.scrollIntoView({ block: 'center' }));
  const box = (await (await page.$('#pad'))!.boundingBox())!;
  return ([cx, cy]) => ({ x: box.x + (cx / GRID) * box.width, y: box.y + (cy / GRID) * box.height });
}

/** Draws the mouse stroke with the mouse and the touch stroke with a finger, as a visitor would. */
async function draw(page: Page): Promise<void> {
  const at = await padPoint(page);
  const [first, ...rest] = MOUSE_STROKE.map(at);
  await page.mouse.move(first.x, first.y);
  await page.mouse.down();
  for (const p of rest) await page.mouse.move(p.x, p.y);
  await page.mouse.up();
  const [start, ...moves] = TOUCH_STROKE.map(at);
  await page.touchscreen.touchStart(start.x, start.y);
  for (const p of moves) await page.touchscreen.touchMove(p.x, p.y);
  await page.touchscreen.touchEnd();
}

/** Sets the edit's controls, presses Edit and waits for the last step; returns the canvases' hashes. */
async function editThroughUI(page: Page, e: Edit): Promise<{ sample: string; x0: string; pad: string; counter: string }> {
  await page.click(`#classes input[value="${e.classLabel}"] + span`);
  await page.click(`#counts input[value="${e.batchSize}"] + span`);
  await page.$eval('#seed', (input) => { (input as HTMLInputElement).value = ''; });
  await page.type('#seed', String(e.seed));
  for (const [id, value] of [['guidance', e.guidance], ['strength', e.strength]] as const) {
    await page.$eval(`#${id}`, (input, v) => {
      (input as HTMLInputElement).value = String(v);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, value);
  }
  await page.click(`#edit-${e.mode} + span`);
  await page.click('#edit');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), { timeout: TIMEOUT });
  const status = await page.$eval('#status', (el) => el.textContent ?? '');
  assert.is(await page.$eval('body', (b) => b.dataset.state), 'done', `the page reported: ${status}`);
  return page.evaluate(HASH_CANVASES) as Promise<{ sample: string; x0: string; pad: string; counter: string }>;
}

// Sent as source text: tsx would wrap named functions in a helper (__name) that the page does not have.
const HASH_CANVASES = `(async () => {
  const hash = async (id) => {
    const canvas = document.getElementById(id);
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  };
  return { sample: await hash('canvas-sample'), x0: await hash('canvas-x0'), pad: await hash('pad'), counter: document.getElementById('counter').textContent };
})()`;

/** The strokes the page recorded: the ones drawn, each point within the 1/8-cell quantisation. */
async function recordedStrokes(page: Page): Promise<number[][][]> {
  const strokes = await page.evaluate('window.ddpm.strokes()') as number[][][];
  assert.is(strokes.length, 2, 'one mouse stroke and one finger stroke');
  [MOUSE_STROKE, TOUCH_STROKE].forEach((drawn, s) => {
    assert.is(strokes[s].length, drawn.length, `stroke ${s}: every point recorded`);
    strokes[s].forEach(([x, y], k) => {
      assert.ok(Math.abs(x - drawn[k][0]) <= 0.07 && Math.abs(y - drawn[k][1]) <= 0.07, `stroke ${s} point ${k}: [${x}, ${y}] for [${drawn[k]}]`);
    });
  });
  return strokes;
}

const it = chromiumTest('the drawing pad tests');
{
  const start = chromiumSession({ files: { '/test/grey.safetensors': GREY_MODEL }, timeout: TIMEOUT, profilePrefix: 'ddpm-web-editor-', viewport: { width: 1200, height: 1000 } });

  it('mouse and finger strokes: the pad shows Node\'s rasterisation; Complete inpaints with Node\'s pixels (padded 32x32 model, 4 images)', async () => {
    const { page, server } = await start();
    await open(page, server, 'test/grey.safetensors');
    assert.ok(await page.$eval('#edit', (b) => (b as HTMLButtonElement).disabled), 'Edit waits for a drawing');
    await draw(page);
    const strokes = await recordedStrokes(page);
    const e: Edit = { mode: 'complete', strength: 0.5, batchSize: 4, seed: 7, classLabel: 7, guidance: 2 };
    const browser = await editThroughUI(page, e);
    const node = await nodeEdit(GREY_MODEL, strokes, e);
    assert.is(browser.pad, sha256(inkToRGBA(node.ink).data), 'the pad: the strokes as the model reads them');
    assert.ok(node.ink.some((v) => v === 1) && node.ink.some((v) => v > 0 && v < 1), 'the drawing has full and soft ink');
    assert.ok(new Set(node.values).size > 100, 'the reference images are not flat: the comparison proves something');
    assert.is(browser.sample, node.sample, 'final sample');
    assert.is(browser.x0, node.x0, 'final predicted x0');
    assert.match(browser.counter, /^step \d+ \/ \d+ · t = 0$/);
  });

  it('Clean it up (img2img, strength 0.6) and the shipped models/mnist.safetensors: same pixels as Node; the strokes survive Complete', async () => {
    const { page, server } = await start();
    await open(page, server, 'test/grey.safetensors');
    await draw(page);
    const strokes = await recordedStrokes(page);
    const clean: Edit = { mode: 'clean', strength: 0.6, batchSize: 1, seed: 3, classLabel: 1, guidance: 1 };
    const browser = await editThroughUI(page, clean);
    const node = await nodeEdit(GREY_MODEL, strokes, clean);
    assert.is(browser.sample, node.sample, 'img2img: final sample');
    assert.is(browser.x0, node.x0, 'img2img: final predicted x0');

    const shipped = join(ROOT, 'models/mnist.safetensors');
    await open(page, server, 'models/mnist.safetensors');
    await draw(page);
    const again = await recordedStrokes(page);
    const complete: Edit = { mode: 'complete', strength: 0.5, batchSize: 1, seed: 11, classLabel: 7, guidance: 1 };
    const real = await editThroughUI(page, complete);
    const reference = await nodeEdit(readFileSync(shipped), again, complete);
    assert.is(real.sample, reference.sample, 'shipped model: final sample');
    assert.is(real.x0, reference.x0, 'shipped model: final predicted x0');
    // Inpainting keeps the drawn cells: where the ink is at least 0.5, the result is the drawing itself.
    reference.ink.forEach((v, i) => { if (v >= 0.5) assert.is(reference.values[i], Math.fround(2 * v - 1), `drawn cell ${i}`); });
  });
}

test.run();
