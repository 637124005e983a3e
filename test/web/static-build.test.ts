/**
 * `npm run web:build`'s static site (scripts/build-web.mjs), hosted under a sub-folder of a plain static server,
 * in headless Chromium: the benchmark-and-verify page passes its self-test and benchmarks (quick), the training
 * page trains, and the sampler loads the shipped model and samples: every path in the site is relative, and the
 * bundles carry the library (no dist/ and no node_modules/ on the host). Needs dist/ and /usr/bin/chromium.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, Page } from 'puppeteer-core';
import { ensureBuilt } from '../cli/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 90_000;

ensureBuilt();
// @ts-expect-error: plain JavaScript without declarations
const { buildSite } = await import('../../scripts/build-web.mjs') as { buildSite: (out: string) => Promise<{ path: string; bytes: number }[]> };
// @ts-expect-error: plain JavaScript without declarations
const { startServer } = await import('../../web/server.js') as { startServer: (o: object) => Promise<{ origin: string; close(): Promise<void> }> };

const work = mkdtempSync(join(tmpdir(), 'ddpm-site-'));
const chromiumMissing = !existsSync(CHROMIUM);
const it = chromiumMissing && process.env.CI !== 'true' ? test.skip : test;
if (it === test.skip) console.log(`test/web: skipping the static site test: ${CHROMIUM} is not installed (apt-get install chromium)`);

test('the site holds the pages, their bundles and the models, and nothing of dist/ or node_modules/', async () => {
  const files = (await buildSite(join(work, 'site', 'sub'))).map((f) => f.path);
  for (const file of ['index.html', 'web/index.html', 'web/bench.html', 'web/train.html', 'web/bench.js', 'web/bench-worker.js',
    'web/train-worker.js', 'web/worker.js', 'web/tools.css', 'models/mnist.safetensors']) {
    assert.ok(files.includes(file), `${file} in ${files.join(', ')}`);
  }
  assert.not.ok(files.some((f) => f.startsWith('dist/') || f.includes('node_modules')), files.join(', '));
});

it('served from a sub-folder: the benchmark page verifies and benchmarks, training trains, the sampler samples', async () => {
  if (chromiumMissing) throw new Error(`${CHROMIUM} is not installed (CI=true): apt-get install chromium`);
  const server = await startServer({ root: join(work, 'site') });
  let browser: Browser | null = null;
  try {
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, userDataDir: join(work, 'profile'), timeout: TIMEOUT,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    });
    const page: Page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push((error as Error).message));
    const base = `${server.origin}/sub/web`;

    await page.goto(`${base}/bench.html?quick=1&run=1`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.bench ?? '') || document.body.dataset.verify === 'error');
    assert.equal(await page.$eval('body', (b) => [b.dataset.verify, b.dataset.bench]), ['passed', 'done'],
      await page.$eval('#verify-verdict', (e) => e.textContent ?? ''));
    assert.is((await page.$$('#kernels tbody tr')).length, 3);

    await page.goto(`${base}/train.html?steps=30&sampleEvery=10&train=1`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''));
    assert.equal(await page.$eval('body', (b) => [b.dataset.state, b.dataset.step]), ['done', '30'], await page.$eval('#status', (e) => e.textContent ?? ''));

    await page.goto(`${base}/?steps=2&n=1`);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''));
    assert.is(await page.$eval('body', (b) => b.dataset.state), 'ready', await page.$eval('#status', (e) => e.textContent ?? ''));
    await page.click('#sample');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''));
    assert.is(await page.$eval('#counter', (e) => e.textContent), 'step 2 / 2 · t = 0');
    assert.equal(errors, []);
  } finally {
    await browser?.close().catch(() => browser?.process()?.kill('SIGKILL'));
    await server.close();
  }
});

test.after(() => rmSync(work, { recursive: true, force: true, maxRetries: 2 }));

test.run();
