/**
 * The training page (web/train.html) in headless Chromium: the 8-mode toy trains in its Web Worker, is paused and
 * resumed through the page's button, and its weights after N steps are those of `ddpm train --data gaussian8
 * --steps N --seed S` run by Node (the command as built in dist/, with 2 workers): the SHA-256 of the parameters
 * and of their EMA, and the same trainer options. Needs dist/ and /usr/bin/chromium; without Chromium the tests
 * are skipped, unless CI=true, where they fail.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, Page } from 'puppeteer-core';
import { decodeSafetensors } from '../../bindings/io/safetensors.ts';
import { ddpm, ensureBuilt } from '../cli/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 60_000;
const STEPS = 120, SEED = 3;

ensureBuilt();
// @ts-expect-error: plain JavaScript without declarations
const { startServer } = await import('../../web/server.js') as { startServer: (o: object) => Promise<{ url: string; origin: string; close(): Promise<void> }> };

const sha256 = (data: Float32Array) => createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

/** `ddpm train --data gaussian8` for STEPS steps: the SHA-256 of its parameters and EMA, and its trainer options. */
async function commandWeights(folder: string) {
  const run = await ddpm(['train', '--data', 'gaussian8', '--steps', String(STEPS), '--seed', String(SEED), '--out', 'run',
    '--workers', '2', '--sample-every', '0', '--save-every', '0', '--save-seconds', '0'], folder);
  assert.is(run.code, 0, run.stderr);
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(folder, 'run/training-state.safetensors')));
  const meta = JSON.parse(metadata.ddpm_wasm);
  return { step: meta.training.steps, params: sha256(tensors.get('params')!.data), ema: sha256(tensors.get('ema')!.data), options: meta.training.options };
}

const chromiumMissing = !existsSync(CHROMIUM);
const it = chromiumMissing && process.env.CI !== 'true' ? test.skip : test;
if (it === test.skip) console.log(`test/web: skipping the training page test: ${CHROMIUM} is not installed (apt-get install chromium)`);

let browser: Browser | null = null;
let server: Awaited<ReturnType<typeof startServer>> | null = null;
const folder = mkdtempSync(join(tmpdir(), 'ddpm-train-page-'));

const state = (page: Page) => page.$eval('body', (b) => ({ state: b.dataset.state ?? '', step: Number(b.dataset.step ?? 0) }));

it(`the page's weights after ${STEPS} steps, paused and resumed on the way, are the command's, bit for bit`, async () => {
  if (chromiumMissing) throw new Error(`${CHROMIUM} is not installed (CI=true): apt-get install chromium`);
  const expected = commandWeights(folder);
  server = await startServer({});
  const { default: puppeteer } = await import('puppeteer-core');
  browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, userDataDir: join(folder, 'profile'), timeout: TIMEOUT,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push((error as Error).message));
  await page.goto(`${server.origin}/web/train.html?steps=${STEPS}&seed=${SEED}&sampleEvery=40`);
  await page.click('#train');
  await page.waitForFunction(() => Number(document.body.dataset.step) >= 30);
  await page.click('#pause');
  await page.waitForFunction(() => document.body.dataset.state === 'paused');
  const paused = await state(page);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(await state(page), paused, 'nothing moves while paused');
  assert.ok(paused.step < STEPS, `paused before the end (step ${paused.step})`);
  await page.click('#pause');  // the same button, now "Resume"
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''));
  assert.equal(await state(page), { state: 'done', step: STEPS }, await page.$eval('#status', (e) => e.textContent ?? ''));
  const weights = await page.evaluate('window.ddpmTrain.weights()') as { step: number; params: string; ema: string; options: object };
  const node = await expected;
  assert.is(weights.step, node.step);
  assert.equal(weights.options, node.options, 'the same recipe');
  assert.is(weights.params, node.params, 'parameters');
  assert.is(weights.ema, node.ema, 'EMA of the parameters');
  // The samples and the loss curve were drawn: the canvases are not blank.
  const inked = await page.evaluate(`['scatter', 'curve'].map((id) => {
    const c = document.getElementById(id);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > d[i] + 40) n++;
    return n;
  })`) as number[];
  assert.ok(inked.every((n) => n > 200), `blue pixels in the scatter plot and the curve: ${inked}`);
  assert.equal(errors, []);
});

test.after(async () => {
  await browser?.close().catch(() => browser?.process()?.kill('SIGKILL'));
  await server?.close();
  rmSync(folder, { recursive: true, force: true, maxRetries: 2 });
});

test.run();
