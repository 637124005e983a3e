// `npm run bench:engines [-- --quick] [--engines node,deno,...] [--out FILE]`: one run of the engine benchmark
// (dist/bench/engine.js: every kernel's GFLOP/s and its share of that engine's own SIMD128 peak, measured beside
// it) in Node, Deno, Bun, Chromium, Firefox, WebKit (the page web/bench.html, driven as the harness drives its
// pages) and workerd (timed from outside: engine-workerd.mjs), one engine at a time; prints one Markdown table
// and writes it (default bench/engines.md, with the raw reports in bench/engines.json). Needs dist/ and the
// runtimes of the harness (test/runtimes); a missing one is left out with a note.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAll, postedByPage, runEntry, RUNTIMES } from '../test/runtimes/runtimes.js';
import { startServer } from '../test/runtimes/server.js';
import { benchWorkerd } from './engine-workerd.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const ENGINES = ['node', 'deno', 'bun', 'chromium', 'firefox', 'webkit', 'workerd'];
const TIMEOUT = 300_000;

const { values } = parseArgs({ options: {
  quick: { type: 'boolean' }, engines: { type: 'string' }, out: { type: 'string', default: join(ROOT, 'bench/engines.md') },
} });
const quick = values.quick ?? false;
const wanted = values.engines ? values.engines.split(',').map((s) => s.trim()) : ENGINES;
const unknown = wanted.filter((name) => !ENGINES.includes(name));
if (unknown.length) {
  console.error(`bench:engines: --engines ${unknown.join(',')}: unknown (known: ${ENGINES.join(', ')})`);
  process.exit(2);
}

const lib = await import('../dist/bindings/index.js');
const { KERNELS } = await import('../dist/bench/kernels.js');
const { QUICK_KERNELS } = await import('../dist/bench/engine.js');
const { roughPeak, wallClock } = await import('../dist/bench/timing.js');
await lib.init();

const started = performance.now();
const load = loadavg().map((l) => l.toFixed(1)).join(', ');
const reports = [], notes = [];
const onSignal = () => { killAll(); process.exit(130); };
process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
let server = null;
try {
  for (const name of wanted) {
    const missing = RUNTIMES.find((r) => r.name === name).check(ROOT);
    if (missing) { notes.push(`${name}: not run (${missing})`); continue; }
    process.stderr.write(`bench:engines: ${name}…\n`);
    const t0 = performance.now();
    try {
      const report = await runEngine(name);
      reports.push({ name, ...report });
      process.stderr.write(`bench:engines: ${name} done in ${((performance.now() - t0) / 1000).toFixed(0)} s, peak ${report.peakGflops.toFixed(1)} GFLOP/s\n`);
    } catch (error) {
      notes.push(`${name}: failed (${error.message.split('\n')[0]})`);
    }
  }
} finally {
  killAll();
  await server?.close();
}

async function runEngine(name) {
  if (['node', 'deno', 'bun'].includes(name)) {
    return runEntry(name, { root: ROOT, entry: join(ROOT, 'scripts/engine-entry.mjs'), args: quick ? ['--quick'] : [], timeoutMs: TIMEOUT });
  }
  if (name === 'workerd') {
    const ids = quick ? QUICK_KERNELS : KERNELS.filter((k) => k.flops > 0).map((k) => k.id);
    return benchWorkerd(ROOT, ids.map((id) => KERNELS.find((k) => k.id === id)), { quick, peakPerMs: roughPeak(wallClock) });
  }
  server ??= await startServer(ROOT);
  const posted = await postedByPage(name, {
    server, path: 'web/bench.html', query: (id) => ({ run: '1', report: `/result/${id}`, ...(quick && { quick: '1' }) }), timeoutMs: TIMEOUT,
  });
  if (posted.error) throw new Error(posted.error);
  if (!posted.verify?.ok) notes.push(`${name}: the self-test did not pass (${posted.verify?.failed} scenarios differ)`);
  return posted.bench;
}

// ---------------------------------------------------------------------------------------------------------
// The table

const table = markdown();
writeFileSync(values.out, table);
writeFileSync(values.out.replace(/\.md$/, '.json'), `${JSON.stringify(reports, null, 2)}\n`);
process.stdout.write(table);
process.stderr.write(`bench:engines: wrote ${relative(process.cwd(), resolve(values.out))}\n`);
process.exit(reports.length === wanted.length ? 0 : 1);

function markdown() {
  const ids = [...new Set(reports.flatMap((r) => r.rows.map((row) => row.id)))];
  const header = ['kernel', 'shape', ...reports.map((r) => label(r))];
  const lines = [header, header.map(() => '---')];
  for (const id of ids) {
    const first = reports.flatMap((r) => r.rows).find((row) => row.id === id);
    lines.push([first.op, first.shape, ...reports.map((r) => {
      const row = r.rows.find((x) => x.id === id);
      return row ? `${row.gflops.toFixed(1)} (${row.pct.toFixed(0)}%)` : '-';
    })]);
  }
  lines.push(['**SIMD128 peak** (the probe beside the kernels, median)', '12 × f32x4 mul+add chains', ...reports.map((r) => `**${r.peakGflops.toFixed(1)}**`)]);
  lines.push(['the probe with constant / computed multipliers (first estimate)', 'GFLOP/s', ...reports.map((r) =>
    r.probe ? `${r.probe.gflops.constant.toFixed(1)} / ${r.probe.gflops.variable.toFixed(1)}` : '-')]);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return [
    `## WebAssembly SIMD128 kernels in ${reports.length} engines${quick ? ' (--quick)' : ''}`,
    '',
    `\`npm run bench:engines\` on ${cpu}, ${cpus().length} cores, load average at start ${load}; ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s. Each cell: GFLOP/s (% of that engine's own SIMD128 peak, ` +
      'measured in the same rounds as the kernel). One engine at a time, one thread each; wall-clock medians of ' +
      'batches of calls (the browsers ran the page web/bench.html in a Web Worker; workerd was timed from outside, ' +
      'by requests, as its clocks stand still while it computes).',
    '',
    ...lines.map((cells) => `| ${cells.join(' | ')} |`),
    '',
    ...reports.map((r) => `- ${label(r)}: ${r.engine}`),
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

/** A short engine name for the table's header. */
function label(report) {
  const e = report.engine;
  const v = (re) => re.exec(e)?.[1];
  switch (report.name) {
    case 'node': return `Node ${v(/^Node (\d+\.\d+)/)} (V8 ${v(/V8 (\d+\.\d+)/)})`;
    case 'deno': return `Deno ${v(/^Deno (\d+\.\d+)/)} (V8 ${v(/V8 (\d+\.\d+)/)})`;
    case 'bun': return `Bun ${v(/^Bun (\d+\.\d+)/)} (JavaScriptCore)`;
    case 'chromium': return `Chromium ${v(/Chrome\/(\d+)/)} (V8)`;
    case 'firefox': return `Firefox ${v(/Firefox\/(\d+)/)} (SpiderMonkey)`;
    case 'webkit': return `WebKitGTK ${webkitVersion()} (JavaScriptCore)`;
    case 'workerd': return `workerd ${v(/^workerd (\d+\.\d+)/)} (V8)`;
    default: return report.name;
  }
}

function webkitVersion() {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'libwebkit2gtk-4.1-0'], { encoding: 'utf8' }).split('-')[0];
  } catch {
    return '';
  }
}
