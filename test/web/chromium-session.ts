/**
 * One headless Chromium for a page test file: the development server (web/server.js) serving extra files, the
 * browser and one page, started by the first test that needs them (a failure fails each test) and closed after
 * the file's tests. Without Chromium the tests are registered as skipped (test/run.mjs reports them), except on
 * CI, where they fail.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import type { Browser, Page } from 'puppeteer-core';
// @ts-expect-error: plain JavaScript without declarations
const { startServer } = await import('../../web/server.js') as { startServer: (o: object) => Promise<Server> };

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Server { origin: string; url: string; close(): Promise<void> }
export interface ChromiumSession { server: Server; browser: Browser; page: Page }

/** `test`, or `test.skip` (said once, naming `what`) where Chromium is missing outside CI. */
export function chromiumTest(what: string): typeof test.skip {
  if (existsSync(CHROMIUM) || process.env.CI === 'true') return test;
  console.log(`test/web: skipping ${what}: ${CHROMIUM} is not installed (apt-get install chromium)`);
  return test.skip;
}

/**
 * The session's `start()` (the same session for every call) for a server that also serves `files` (path ->
 * bytes); each page waits `timeout` ms at most. Registers its own closing with uvu's `test.after`.
 */
export function chromiumSession(options: { files: Record<string, Uint8Array>; timeout: number; profilePrefix: string; viewport?: { width: number; height: number } }): () => Promise<ChromiumSession> {
  let session: Promise<ChromiumSession> | null = null;
  let profile: string | null = null;
  test.after(async () => {
    const started = await session?.catch(() => null);
    await started?.browser.close().catch(() => started.browser.process()?.kill('SIGKILL'));
    await started?.server.close();
    if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 2 });
  });
  return () => session ??= (async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (CI=true): apt-get install chromium`);
    const server = await startServer({ files: options.files });
    profile = mkdtempSync(join(tmpdir(), options.profilePrefix));
    const { default: puppeteer } = await import('puppeteer-core');
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, userDataDir: profile, timeout: options.timeout,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    }).catch(async (error) => { await server.close(); throw error; });
    const page = await browser.newPage();
    if (options.viewport) await page.setViewport(options.viewport);
    page.setDefaultTimeout(options.timeout);
    page.on('pageerror', (error) => console.error(`page error: ${(error as Error).message}`));
    return { server, browser, page };
  })();
}
