/**
 * The benchmark-and-verify page (web/bench.html), quick run, in headless Chromium (through its buttons: the self-test
 * verdict, the kernel table, the copy button and what lands on the clipboard), and in headless Firefox and WebKit
 * (WebKitGTK's MiniBrowser under Xvfb), where the page POSTs its reports to the harness's server: every engine
 * passes the self-test and measures every kernel and its own peak. Needs dist/ and the browsers; a missing browser
 * skips its test, unless CI=true, where it fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser } from 'puppeteer-core';
import { ensureBuilt, ROOT } from '../cli/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 90_000;
// Firefox and WebKit report once, at the end: launch, self-test and quick benchmark in one wait. On the shared
// 2-core machine at load average 15-40 that took 90 s for Firefox (its launch alone about 50 s), so the wait is
// longer than each of Chromium's steps. A wait only: nothing here asserts a speed.
const PAGE_REPORT_TIMEOUT = 240_000;
const QUICK_KERNELS = ['matmul256', 'conv3x3', 'attention'];

ensureBuilt();
// @ts-expect-error: plain JavaScript without declarations
const web = await import('../../web/server.js') as { startServer: (o: object) => Promise<{ url: string; close(): Promise<void> }> };
// @ts-expect-error: plain JavaScript without declarations
const harness = await import('../runtimes/server.js') as { startServer: (root: string) => Promise<object & { close(): Promise<void> }> };
// @ts-expect-error: plain JavaScript without declarations
const runtimes = await import('../runtimes/runtimes.js') as {
  RUNTIMES: { name: string; check(root: string): string | null }[];
  postedByPage(name: string, o: object): Promise<Posted>;
  killAll(): void;
};

interface Row { id: string; gflops: number; peakGflops: number; pct: number; ms: number }
interface Posted { verify?: { ok: boolean; passed: number; total: number; engine: string }; bench?: { rows: Row[]; peakGflops: number }; error?: string }

/** A test that is skipped (or fails on CI) when the runtime is not installed. */
function browserTest(name: string, title: string, fn: () => Promise<void>) {
  const missing = runtimes.RUNTIMES.find((r) => r.name === name)!.check(ROOT);
  if (missing && process.env.CI !== 'true') {
    console.log(`test/web: skipping the ${name} page test: ${missing}`);
    test.skip(title, fn);
  } else {
    test(title, async () => {
      if (missing) throw new Error(`${name} is not installed (CI=true): ${missing}`);
      await fn();
    });
  }
}

function checkRows(rows: Row[] | undefined, where: string) {
  assert.equal(rows?.map((r) => r.id), QUICK_KERNELS, where);
  for (const r of rows!) {
    assert.ok(r.gflops > 0.5 && r.peakGflops > 0.5 && r.ms > 0, `${where} ${r.id}: ${JSON.stringify(r)}`);
    assert.ok(Math.abs(r.pct - (100 * r.gflops) / r.peakGflops) < 1e-6, `${where} ${r.id}: % of peak is GFLOP/s over the peak`);
  }
}

let browser: Browser | null = null;
const profile = mkdtempSync(join(tmpdir(), 'ddpm-bench-page-'));

browserTest('chromium', 'Chromium: the self-test passes, Run fills the table, Copy puts the report on the clipboard', async () => {
  const server = await web.startServer({});
  try {
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, userDataDir: profile, timeout: TIMEOUT,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    });
    const origin = new URL(server.url).origin;
    await browser.defaultBrowserContext().overridePermissions(origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
    const page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push((error as Error).message));
    await page.goto(`${server.url}bench.html?quick=1`);
    await page.waitForFunction(() => ['passed', 'failed', 'error'].includes(document.body.dataset.verify ?? ''));
    const verdict = await page.$eval('#verify-verdict', (e) => e.textContent ?? '');
    assert.is(await page.$eval('body', (b) => b.dataset.verify), 'passed', verdict);
    assert.match(verdict, /^✓ (\d+) of \1 scenarios bit-identical to the golden outputs/);
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.bench ?? ''));
    assert.is(await page.$eval('body', (b) => b.dataset.bench), 'done', await page.$eval('#bench-status', (e) => e.textContent ?? ''));
    const cells = await page.$$eval('#kernels tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent ?? '')));
    assert.equal(cells.map((r) => r[0]), ['matmul', 'conv2d 3x3 forward', 'attention core fwd+bwd (probabilities kept, as the U-Net)']);
    assert.ok(cells.every((r) => Number(r[3]) > 0 && /^\d+%$/.test(r[5])), JSON.stringify(cells));
    assert.match(await page.$eval('#peak', (e) => e.textContent ?? ''), /This engine's SIMD128 peak: \d+\.\d GFLOP\/s/);
    await page.click('#copy');
    await page.waitForFunction(() => document.getElementById('copied')?.textContent === 'copied');
    const clipboard = await page.evaluate('navigator.clipboard.readText()') as string;
    const shown = await page.$eval('#report', (e) => e.textContent ?? '');
    assert.is(clipboard.split('\n').slice(0, -1).join('\n'), shown.split('\n').slice(0, -1).join('\n'), 'the clipboard holds the report shown');
    assert.match(clipboard, /^ddpm-wasm: benchmark and verify\nEngine: Mozilla\/5\.0 .*HeadlessChrome/);
    assert.match(clipboard, /\nDeterminism: ✓ \d+ of \d+ scenarios bit-identical/);
    assert.match(clipboard, /\n\| kernel \| shape \| ms \| GFLOP\/s \| peak beside it \| % of peak \|\n/);
    assert.match(clipboard, /\n\| matmul \| 256×256·256×256 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+% \|\n/);
    assert.equal(errors, []);
  } finally {
    await browser?.close().catch(() => browser?.process()?.kill('SIGKILL'));
    browser = null;
    await server.close();
  }
});

for (const name of ['firefox', 'webkit']) {
  browserTest(name, `${name}: the page's self-test passes and it measures every kernel and its peak (quick)`, async () => {
    const server = await harness.startServer(ROOT);
    try {
      const posted = await runtimes.postedByPage(name, {
        server, path: 'web/bench.html', query: (id: string) => ({ quick: '1', run: '1', report: `/result/${id}` }), timeoutMs: PAGE_REPORT_TIMEOUT,
      });
      assert.is(posted.error, undefined);
      assert.ok(posted.verify?.ok, JSON.stringify(posted.verify));
      assert.is(posted.verify!.passed, posted.verify!.total);
      assert.match(posted.verify!.engine, name === 'firefox' ? /Firefox\// : /AppleWebKit\/605/);
      checkRows(posted.bench?.rows, name);
      assert.ok(posted.bench!.peakGflops > 0.5);
    } finally {
      runtimes.killAll();
      await server.close();
    }
  });
}

test.after(() => rmSync(profile, { recursive: true, force: true, maxRetries: 2 }));

test.run();
