/**
 * The cross-runtime determinism harness: runs the library's self-test (`selfTest`: the scenarios of
 * bindings/verify/scenarios.js) in Node, Deno, Bun, Chromium, Firefox, WebKit, workerd and Deno on arm64 (under
 * qemu) against the built package (dist/, rebuilt first when older than its sources), compares every output's
 * SHA-256 with the shipped golden table (bindings/verify/golden.json), and checks that each runtime's own verdicts
 * agree. Used by test/runtimes/main.js (`npm run test:runtimes`) and by test/run.mjs (`npm test`). Node only.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareAll, NO_GOLDEN, verdictDisagreements } from './compare.js';
import { readGolden, updateGolden, writeGolden } from './golden.js';
import { killAll, RUNTIMES } from './runtimes.js';
import { startServer } from './server.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
// Started first because they take longest: the two cores stay busy while Node, Deno and Bun fill the gaps.
const START_ORDER = ['arm64', 'firefox', 'chromium', 'webkit', 'workerd', 'deno', 'bun', 'node'];
/** The shipped golden table: the one the runtimes' own self-tests compare with. */
export const SHIPPED_GOLDEN = join(ROOT, 'bindings/verify/golden.json');

/**
 * Options (all optional): update (rewrite the golden file from Node's results), runtimes (names), filter
 * (substring of scenario names), scenarios (another scenario module, its path from the repo root; default: the
 * shipped ones), golden (path, default the shipped golden.json), jobs (runtimes
 * at a time, default 2), timeoutMs (per runtime, default 60 s), build (rebuild a stale dist/, default true),
 * ci (a runtime that is not installed fails instead of being skipped; default: CI=true), log.
 * Returns { passed, failed, skipped }: scenarios, plus one failure per broken or (on CI) missing runtime.
 */
export async function runHarness(options = {}) {
  const o = {
    update: false, runtimes: RUNTIMES.map((r) => r.name), filter: '', scenarios: '',
    golden: SHIPPED_GOLDEN, jobs: 2, timeoutMs: 60_000, build: true,
    ci: process.env.CI === 'true', log: console.log, ...options,
  };
  const started = performance.now();
  const summary = { passed: 0, failed: 0, skipped: 0 };
  const fail = (message) => { summary.failed++; o.log(message); };
  const onExit = () => killAll();
  const onSignal = () => { killAll(); process.exit(130); };
  process.on('exit', onExit).on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let server = null;
  try {
    o.log('cross-runtime determinism harness (test/runtimes)');
    const distProblem = await ensureDist(o);
    if (distProblem) return fail(distProblem), summary;

    const unknown = o.runtimes.filter((name) => !RUNTIMES.some((r) => r.name === name));
    if (unknown.length > 0) return fail(`✗ unknown runtime ${unknown.join(', ')} (known: ${RUNTIMES.map((r) => r.name).join(', ')})`), summary;
    const selected = [];
    for (const runtime of RUNTIMES.filter((r) => o.runtimes.includes(r.name))) {
      const reason = runtime.check(ROOT);
      if (reason === null) selected.push(runtime);
      else if (o.ci) fail(`✗ ${runtime.name} is not installed (CI=true): ${reason}`);
      else { summary.skipped++; o.log(`  - ${runtime.name} skipped: ${reason}`); }
    }
    if (o.update && !selected.some((r) => r.name === 'node')) return fail('✗ --update needs the node runtime'), summary;

    if (selected.some((r) => ['chromium', 'firefox', 'webkit'].includes(r.name))) server = await startServer(ROOT);
    const runs = await runAll(selected, { root: ROOT, server, filter: o.filter, scenarios: o.scenarios, timeoutMs: o.timeoutMs }, o.jobs);
    for (const run of runs) o.log(`  ${run.runtime.padEnd(9)} ${timing(run)}  ${run.report ? engineLabel(run.report.engine) : ''}`);
    const reports = [];
    for (const run of runs) {
      if (run.failure) fail(`✗ ${run.runtime} failed: ${run.failure}`);
      else reports.push({ runtime: run.runtime, report: run.report });
    }

    let golden = readGolden(o.golden);
    if (o.update) golden = applyUpdate(o, golden, reports.find((r) => r.runtime === 'node'), fail);
    const { passed, pending, failures } = compareAll(golden, reports);
    summary.passed += passed.length;
    summary.skipped += pending.length;
    for (const { message } of failures.filter((f) => !f.noGolden)) fail(message);
    // The runtimes judged their own outputs against the golden table they ship with: they must agree with us.
    if (!o.update && o.scenarios === '' && o.golden === SHIPPED_GOLDEN) {
      for (const message of verdictDisagreements(golden, reports)) fail(message);
    }
    const unrecorded = failures.filter((f) => f.noGolden).map((f) => f.name);
    if (unrecorded.length > 0) {
      summary.failed += unrecorded.length;
      o.log(`✗ ${unrecorded.length} scenario${unrecorded.length > 1 ? 's have' : ' has'} ${NO_GOLDEN}:\n${unrecorded.map((n) => `    ${n}`).join('\n')}`);
    }
    for (const { name, missing } of pending) o.log(`  - pending: ${name} (the library has no ${missing.join(', ')} yet)`);
    o.log(`runtimes: ${passed.length} scenarios bit-identical in ${reports.map((r) => r.runtime).join(', ') || 'no runtime'}` +
      `, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''} ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return summary;
  } catch (error) {
    fail(`✗ the harness itself failed: ${error.stack ?? error}`);
    return summary;
  } finally {
    killAll();
    await server?.close();
    process.off('exit', onExit).off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

/** Runs each runtime (at most `jobs` at a time); returns [{ runtime, report | failure, wallMs }] in report order. */
async function runAll(selected, context, jobs) {
  const queue = [...selected].sort((a, b) => START_ORDER.indexOf(a.name) - START_ORDER.indexOf(b.name));
  const runs = new Map();
  const worker = async () => {
    for (let runtime = queue.shift(); runtime; runtime = queue.shift()) {
      const t0 = performance.now();
      try {
        const report = await runtime.run(context);
        runs.set(runtime.name, report.error
          ? { runtime: runtime.name, failure: `could not run the scenarios (${engineLabel(report.engine)}):\n    ${report.error}`, wallMs: performance.now() - t0 }
          : { runtime: runtime.name, report, wallMs: performance.now() - t0 });
      } catch (error) {
        runs.set(runtime.name, { runtime: runtime.name, failure: error.message, wallMs: performance.now() - t0 });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return selected.map((r) => runs.get(r.name));
}

function applyUpdate(o, golden, node, fail) {
  if (!node) return fail('✗ --update: Node did not run the scenarios, golden.json left as it was'), golden;
  const updated = updateGolden(golden, node.report, o.filter === '' && o.scenarios === '');
  writeGolden(o.golden, updated.golden);
  const where = relative(process.cwd(), o.golden);
  if (updated.changes.length === 0) o.log(`  ${where}: unchanged`);
  else o.log(`  ${where} rewritten from Node's results:\n${updated.changes.map((c) => `    ${c}`).join('\n')}`);
  return updated.golden;
}

/** Builds dist/ when a source is newer than it (when `o.build`, else warns); returns a problem to report, or null. */
async function ensureDist(o) {
  // bindings/ has JavaScript too: the self-test's scenarios (copied into dist/ by the build).
  const source = newest([join(ROOT, 'assembly'), join(ROOT, 'bindings'), join(ROOT, 'asconfig.json'), join(ROOT, 'tsconfig.json')], '.ts', '.json', '.js');
  const dist = join(ROOT, 'dist/bindings');
  const oldestDist = existsSync(join(dist, 'index.js')) ? oldest(dist, '.js') : null;
  if (oldestDist && source.mtimeMs <= oldestDist.mtimeMs) return null;
  const why = oldestDist ? `dist/ is older than ${relative(ROOT, source.path)}` : 'dist/ is not built';
  if (!o.build) {
    if (!oldestDist) return `✗ ${why}: run \`npm run build\` first`;
    o.log(`  ! ${why} (not rebuilt: testing dist/ as it is)`);
    return null;
  }
  o.log(`  ${why}: npm run build`);
  const t0 = performance.now();
  const { code, output } = await new Promise((resolve) => {
    const child = spawn('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.stdout.on('data', (c) => { text += c; });
    child.stderr.on('data', (c) => { text += c; });
    child.on('close', (status) => { clearTimeout(timer); resolve({ code: status, output: text }); });
    child.on('error', (error) => { clearTimeout(timer); resolve({ code: -1, output: error.message }); });
  });
  if (code !== 0) return `✗ npm run build failed (${code}):\n${output.trim().split('\n').slice(-20).join('\n')}`;
  o.log(`  built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return null;
}

function walk(path, extensions, visit) {
  const stat = statSync(path);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry), extensions, visit);
  else if (extensions.some((e) => path.endsWith(e))) visit(path, stat.mtimeMs);
}

function newest(paths, ...extensions) {
  let best = { path: '', mtimeMs: -Infinity };
  for (const p of paths) if (existsSync(p)) walk(p, extensions, (path, mtimeMs) => { if (mtimeMs > best.mtimeMs) best = { path, mtimeMs }; });
  return best;
}

function oldest(dir, extension) {
  let best = { path: '', mtimeMs: Infinity };
  walk(dir, [extension], (path, mtimeMs) => { if (mtimeMs < best.mtimeMs) best = { path, mtimeMs }; });
  return best;
}

function timing({ wallMs, report }) {
  const inside = report ? ` (scenarios ${(report.ms / 1000).toFixed(2)} s)` : '';
  return `${(wallMs / 1000).toFixed(1).padStart(5)} s${inside.padEnd(20)}`;
}

/** A short engine name from a user agent (Chrome/…, Firefox/…, WebKit's Version/…) or the runtime's own label. */
function engineLabel(engine) {
  const ua = /(Chrome|Firefox)\/[\d.]+/.exec(engine)?.[0]
    ?? (/AppleWebKit\/([\d.]+)/.exec(engine) ? `WebKit ${/AppleWebKit\/([\d.]+)/.exec(engine)[1]}` : null);
  return ua ?? engine;
}
