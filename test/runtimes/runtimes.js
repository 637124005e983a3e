/**
 * The eight runtimes and how to run the scenarios in each. Node, Deno and Bun (and Deno on arm64 under qemu:
 * arm64.js) run test/runtimes/entry-cli.js and print their results; Chromium and Firefox (puppeteer-core, Firefox over WebDriver BiDi) and WebKit
 * (WebKitGTK's MiniBrowser under a private Xvfb) load page.html from the harness's server, which POSTs its
 * results back; workerd (Cloudflare Workers' runtime) serves a bundled Worker that answers them (workerd.js).
 * Nothing is downloaded. Every process started here is ended in `finally`, and once more by
 * `killAll` on exit; every wait has a timeout. Node only.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESULT_MARKER } from './report.js';
import { arm64Runtime } from './arm64.js';
import { stopAllWorkerd, workerdRuntime } from './workerd.js';

const CHROMIUM = '/usr/bin/chromium';
const FIREFOX = '/usr/bin/firefox-esr';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB = '/usr/bin/Xvfb';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// Keep the runtimes off the network and quiet (no update checks, no telemetry).
const QUIET_ENV = { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', DO_NOT_TRACK: '1', NO_COLOR: '1' };

/** Processes started here, killed by `killAll` if a run is interrupted; `groups`: those that lead a group. */
const live = new Set();
const groups = new WeakSet();

/** puppeteer.launch calls not yet returned. */
let launchesInFlight = 0;

/** Temporary profile directories, removed on close, or by `killAll`. */
const tempDirs = new Set();

/** Kills every process (group) still running and removes the temporary profiles. Synchronous (works on 'exit'). */
export function killAll() {
  for (const child of live) stop(child);
  live.clear();
  stopAllWorkerd();
  // A browser that puppeteer is still launching has no handle yet, and puppeteer's own exit hook kills only
  // one of several: then end the process groups led by children of this process, by their ids.
  for (const group of launchesInFlight > 0 ? childGroups() : []) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) {
    try {
      removeDir(dir);
    } catch (error) {
      // Never throw here: on 'exit', a throwing listener would stop puppeteer's own from killing its browsers.
      console.error(`could not remove ${dir}: ${error.message}`);
    }
  }
}

function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  tempDirs.delete(dir);
}

/**
 * The runtimes, in the order they are reported. `check(root)` returns null when the runtime is installed, or
 * why not; `run(ctx)` returns the report ({ engine, results, ms } or { engine, error }).
 */
/** Deno's flags: the import map resolves the built code's npm imports to node_modules, with npm off. */
const denoFlags = (root) => ['run', '--no-prompt', '--no-config', '--no-lock', '--no-npm', '--no-remote', `--allow-read=${root}`,
  `--import-map=${join(root, 'test/runtimes/deno-import-map.json')}`];

export const RUNTIMES = [
  cliRuntime('node', () => process.execPath, () => []),
  cliRuntime('deno', (root) => join(root, 'node_modules/.bin/deno'), denoFlags),
  cliRuntime('bun', (root) => join(root, 'node_modules/.bin/bun'), () => ['--no-install']),
  { name: 'chromium', check: () => missing(CHROMIUM, 'apt-get install chromium'), run: (ctx) => runPage(ctx, 'chromium') },
  { name: 'firefox', check: () => missing(FIREFOX, 'apt-get install firefox-esr'), run: (ctx) => runPage(ctx, 'firefox') },
  {
    name: 'webkit',
    check: () => missing(MINIBROWSER, 'apt-get install webkit2gtk-driver') ?? missing(XVFB, 'apt-get install xvfb'),
    run: (ctx) => runPage(ctx, 'webkit'),
  },
  workerdRuntime,
  withRun(arm64Runtime(denoFlags)),
];

/**
 * A command-line runtime described by `command` (arm64.js) run like the others, its reports labelled; emulated,
 * it gets ten times the others' time (about 30 s against 1 s natively; 180 s on this machine under heavy load).
 */
function withRun(runtime) {
  return {
    ...runtime,
    async run({ root, filter, scenarios, timeoutMs }) {
      const report = await runEntry(runtime.name, {
        root, entry: join(root, 'test/runtimes/entry-cli.js'), args: [filter, scenarios], timeoutMs: 10 * timeoutMs,
      });
      return { ...report, engine: `${report.engine} ${runtime.label()}` };
    },
  };
}

function missing(path, hint) {
  return existsSync(path) ? null : `${path} not found (${hint})`;
}

// ---------------------------------------------------------------------------------------------------------
// Node, Deno, Bun

function cliRuntime(name, binary, flags) {
  return {
    name,
    check(root) {
      const bin = binary(root);
      const probe = spawnSync(bin, ['--version'], { timeout: 10_000, encoding: 'utf8', env: { ...process.env, ...QUIET_ENV } });
      return probe.status === 0 ? null : `${bin} --version failed (${probe.error?.message ?? probe.stderr.trim()}): npm install`;
    },
    /** The command line that runs `entry` (a path) with `args`. */
    command: (root, entry, args) => [binary(root), [...flags(root), entry, ...args]],
    run: ({ root, filter, scenarios, timeoutMs }) =>
      runEntry(name, { root, entry: join(root, 'test/runtimes/entry-cli.js'), args: [filter, scenarios], timeoutMs }),
  };
}

/**
 * Runs the script `entry` in the command-line runtime `name` (node, deno, bun) and returns the JSON it prints
 * after RESULT_MARKER. Used by the harness and `npm run bench:engines`.
 */
export async function runEntry(name, { root, entry, args = [], timeoutMs }) {
  const runtime = RUNTIMES.find((r) => r.name === name && r.command);
  if (!runtime) throw new Error(`${name} is not a command-line runtime`);
  const [command, commandArgs] = runtime.command(root, entry, args);
  const { stdout, stderr, code } = await runProcess(command, commandArgs, { cwd: root, timeoutMs });
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (!line) throw new Error(`exited with ${code} and no result${tail('stderr', stderr)}${tail('stdout', stdout)}`);
  return JSON.parse(line.slice(RESULT_MARKER.length));
}

function runProcess(command, args, { cwd, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...QUIET_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '', stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => {
      stop(child);
      reject(new Error(`no result within ${timeoutMs / 1000} s${tail('stderr', stderr)}`));
    }, timeoutMs);
    child.on('error', (error) => { clearTimeout(timer); live.delete(child); reject(error); });
    child.on('close', (code) => { clearTimeout(timer); live.delete(child); resolve({ stdout, stderr, code }); });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Browsers: open page.html, wait for its POST, close everything whatever happened.

function runPage({ server, filter, scenarios, timeoutMs }, name) {
  return postedByPage(name, { server, path: 'test/runtimes/page.html', query: (id) => ({ id, filter, scenarios }), timeoutMs });
}

const LAUNCHERS = { chromium: launchChromium, firefox: launchFirefox, webkit: launchWebKit };

/**
 * Opens `path` (from the server's root) in the browser `name` (chromium, firefox or webkit) with the query
 * `query(id)`, and resolves with the JSON the page POSTs to /result/<id> (the server is server.js's); closes the
 * browser whatever happens. Used by the harness, the page tests and `npm run bench:engines`.
 */
export async function postedByPage(name, { server, path, query, timeoutMs }) {
  const id = `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const result = server.waitFor(id, timeoutMs);
  result.catch(() => {});  // awaited below; this only keeps an early timeout from being "unhandled"
  const launching = LAUNCHERS[name](`${server.origin}/${path}?${new URLSearchParams(query(id))}`);
  launching.catch(() => {});
  let browser = null;
  try {
    browser = await Promise.race([launching, result.then(() => null)]);
    if (browser === null) return await result;  // reported before the launcher returned (possible for WebKit)
    // A browser that dies before reporting fails at once, with its last words.
    return await Promise.race([result, browser.exited.then(() => {
      throw new Error(`exited before reporting${tail('log', browser.log())}`);
    })]);
  } catch (error) {
    if (browser) error.message += tail('browser log', browser.log());
    throw error;
  } finally {
    // Close the browser even when it is still starting (the launcher's own timeout bounds that wait).
    const started = browser ?? (await within(launching.catch(() => null), 35_000));
    await started?.close();
  }
}

async function launchPuppeteer(url, options) {
  const { default: puppeteer } = await import('puppeteer-core');
  launchesInFlight++;
  const instance = await puppeteer.launch({
    headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, timeout: 30_000, ...options,
  }).finally(() => { launchesInFlight--; });
  const logs = [];
  const processHandle = instance.process();
  if (processHandle) {
    live.add(processHandle);
    groups.add(processHandle);  // puppeteer starts browsers detached: each leads its own process group
  }
  const exited = new Promise((resolve) => instance.once('disconnected', resolve));
  try {
    const page = await instance.newPage();
    page.on('console', (message) => logs.push(`console.${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => logs.push(`page error: ${error.message}`));
    await page.goto(url);
  } catch (error) {
    await closePuppeteer(instance, processHandle);
    throw error;
  }
  return { exited, log: () => logs.join('\n'), close: () => closePuppeteer(instance, processHandle) };
}

async function closePuppeteer(instance, processHandle) {
  instance.removeAllListeners('disconnected');
  await within(instance.close().catch(() => {}), 5000);
  if (processHandle) {
    stop(processHandle);
    live.delete(processHandle);
  }
}

async function launchChromium(url) {
  const userDataDir = makeTempDir('ddpm-chromium-');
  try {
    const browser = await launchPuppeteer(url, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, userDataDir });
    return { ...browser, close: () => browser.close().finally(() => removeDir(userDataDir)) };
  } catch (error) {
    removeDir(userDataDir);
    throw error;
  }
}

async function launchFirefox(url) {
  // puppeteer-core writes its prefs (no updates, no telemetry) into the fresh profile; we remove it.
  const userDataDir = makeTempDir('ddpm-firefox-');
  try {
    const browser = await launchPuppeteer(url, { browser: 'firefox', executablePath: FIREFOX, userDataDir });
    return { ...browser, close: () => browser.close().finally(() => removeDir(userDataDir)) };
  } catch (error) {
    removeDir(userDataDir);
    throw error;
  }
}

/** MiniBrowser has no headless mode: it gets its own Xvfb. Both run in their own process groups. */
async function launchWebKit(url) {
  const home = makeTempDir('ddpm-webkit-');
  let xvfb = null, browser = null;
  const close = async () => {
    for (const child of [browser, xvfb]) if (child) { stop(child); live.delete(child); }
    removeDir(home);
  };
  try {
    xvfb = spawnGroup(XVFB, ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    const display = await readDisplay(xvfb, 10_000);
    let log = '';
    browser = spawnGroup(MINIBROWSER, ['--private', '--enable-write-console-messages-to-stdout=true', url], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DISPLAY: `:${display}`, HOME: home, XDG_CACHE_HOME: join(home, 'cache'),
        XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') },
    });
    browser.stdout.on('data', (chunk) => { log += chunk; });
    browser.stderr.on('data', (chunk) => { log += chunk; });
    const exited = new Promise((resolve) => browser.on('exit', resolve));
    return { exited, log: () => log, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Xvfb writes its display number on fd 3 once it accepts connections. */
function readDisplay(xvfb, timeoutMs) {
  return new Promise((resolve, reject) => {
    let text = '', stderr = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb gave no display within ${timeoutMs / 1000} s${tail('stderr', stderr)}`)), timeoutMs);
    xvfb.stderr.on('data', (chunk) => { stderr += chunk; });
    xvfb.stdio[3].on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) { clearTimeout(timer); resolve(Number(text.trim())); }
    });
    xvfb.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Xvfb exited with ${code}${tail('stderr', stderr)}`)); });
  });
}

// ---------------------------------------------------------------------------------------------------------

/** Process groups led by direct children of this process (browsers start that way), from /proc (Linux). */
function childGroups() {
  const groups = [];
  let entries = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return groups;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after "pid (comm)": state, ppid, pgrp, ...
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      if (ppid === process.pid && pgrp === Number(entry)) groups.push(pgrp);
    } catch {
      // the process ended meanwhile
    }
  }
  return groups;
}

/** Starts a process in a new process group (its pid is the group's id), so `stop` can end its children too. */
function spawnGroup(command, args, options) {
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  groups.add(child);
  return child;
}

/** Kills a child: its whole process group when it leads one (even if the leader is gone), else itself. */
function stop(child) {
  if (!child.pid) return;
  try {
    if (groups.has(child)) process.kill(-child.pid, 'SIGKILL');
    else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

function tail(label, text, lines = 15) {
  const kept = String(text ?? '').trim().split('\n').filter(Boolean).slice(-lines);
  return kept.length ? `\n    ${label}:\n${kept.map((l) => `      ${l}`).join('\n')}` : '';
}

/** `promise`, or null after `ms` (the timer is cleared either way, so it never holds the process open). */
function within(promise, ms) {
  let timer;
  const expiry = new Promise((resolve) => { timer = setTimeout(resolve, ms, null); });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

