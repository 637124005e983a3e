/**
 * The last step of the README's scale-out path in a real browser: a diffusers pipeline folder (a U-Net with
 * diffusers' other options, exported by this library as `ddpm export` exports it) is fetched file by file in
 * headless Chromium, read with `diffusersFolderToModel` from the built library (dist/), and sampled with DDIM;
 * the samples' bytes equal what Node computes from the same folder. Needs `npm run build` and /usr/bin/chromium:
 * without Chromium the test is skipped, unless CI=true, where it fails.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(join(ROOT, 'dist/bindings/index.js'))) throw new Error('test/web: dist/bindings/index.js is missing: run `npm run build` first');
const lib = await import('../../dist/bindings/index.js');
// @ts-expect-error: plain JavaScript without declarations
const { startServer } = await import('../../web/server.js') as { startServer: (o: object) => Promise<{ origin: string; close(): Promise<void> }> };
await lib.init();

/** A small U-Net with BigGAN resampling blocks, heads by size and GELU, exported as a diffusers DDPMPipeline folder. */
function folder(): Map<string, Uint8Array> {
  const model = new lib.UNet2DModel({
    sampleSize: 16, blockOutChannels: [8, 16], layersPerBlock: 1, normNumGroups: 4, actFn: 'gelu', attentionHeadDim: 4,
    downBlockTypes: ['ResnetDownsampleBlock2D', 'AttnDownBlock2D'],
  }, 3);
  const file = lib.encodeModel(model, { scheduler: { numTrainTimesteps: 1000 }, data: { name: 'x', sampleShape: [3, 16, 16], classNames: [] }, training: { steps: 0 } });
  return lib.modelFileToDiffusersFolder(file);
}

/** What the README tells browser users to write (with the folder served under /big-run/). */
const SAMPLE_IN_PAGE = `(async () => {
  const { init, diffusersFolderToModel, DDIMPipeline, DDIMScheduler } = await import('/dist/bindings/index.js');
  await init();
  const paths = ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'scheduler/scheduler_config.json'];
  const files = new Map(await Promise.all(paths.map(async (p) => [p, new Uint8Array(await (await fetch('/big-run/' + p)).arrayBuffer())])));
  const { model, scheduler } = diffusersFolderToModel(files);
  const images = await new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(scheduler.options) }).generate({ batchSize: 2, numInferenceSteps: 8, seed: 5 });
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', images.toFloat32Array()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
})()`;

const it = !existsSync(CHROMIUM) && process.env.CI !== 'true' ? test.skip : test;

it('a diffusers folder fetched and sampled in Chromium gives the bytes Node computes', async () => {
  const files = folder();
  const { model, scheduler } = lib.diffusersFolderToModel(files);
  const out = await new lib.DDIMPipeline({ model, scheduler: lib.DDIMScheduler.fromConfig(scheduler!.options) }).generate({ batchSize: 2, numInferenceSteps: 8, seed: 5 });
  const node = createHash('sha256').update(out.toFloat32Array()).digest('hex');
  out.dispose();
  const server = await startServer({ files: Object.fromEntries([...files].map(([path, bytes]) => [`/big-run/${path}`, bytes])) });
  const profile = mkdtempSync(join(tmpdir(), 'ddpm-web-test-'));
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: profile, timeout: 30_000, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/web/`);
    assert.is(await page.evaluate(SAMPLE_IN_PAGE), node);
  } finally {
    await browser.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 2 });
  }
});

test.run();
