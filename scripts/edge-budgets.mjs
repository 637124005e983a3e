// The budgets of a sampler embedded at the edge, measured on the built package (dist/; run `npm run build` first)
// and printed as the Markdown table of the README's "At the edge" section:
//
// - size: a minimal sampler (init with the precompiled module, loadModel, DDIM, toRGBA, from 'ddpm-wasm/sampler')
//   bundled by esbuild (browser, ESM, minified, code splitting): the gzipped JavaScript it loads, and the gzipped
//   ddpm.wasm; the zero-configuration variant (init() with the embedded copy) for comparison; and what the
//   JavaScript holds, by part of the library (minified bytes before gzip);
// - cold start to the first digit (batch 1, DDIM with each of --steps, the shipped digit model): a fresh Node process
//   per run (from the library's import, and from the process's start; the package as installed through
//   'ddpm-wasm/sampler' and through the main entry, and the sampler bundled into one file), where its CPU time
//   goes (import, compiling ddpm.wasm, instantiating it, loadModel, sampling, toRGBA), and a fresh `workerd serve` of
//   examples/cloudflare-worker per run (from the server's start to the PNG, and the first request alone), with the
//   CPU time each process used (on a shared machine, wall-clock time also counts other processes' slices);
// - memory: the WebAssembly memory after sampling (a fresh process each) with both shipped models, batch 1 and 16.
//
//   npm run budgets [-- --runs N] [-- --steps S,S...] [-- --only size,node,workerd,memory]
//     (defaults: 5 runs; 5 and 10 steps, whose digits a classifier of real digits reads 96.5% and 95.5% right;
//     every part)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { buildWorker } from '../examples/cloudflare-worker/build.mjs';
import { startWorkerd } from '../test/runtimes/workerd.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, steps: { type: 'string', default: '5,10' }, only: { type: 'string', default: 'size,node,workerd,memory' } },
});
const RUNS = Number(values.runs), STEPS = values.steps.split(',').map(Number), ONLY = new Set(values.only.split(','));
for (const part of ONLY) {
  if (!['size', 'node', 'workerd', 'memory'].includes(part)) throw new Error(`--only: unknown part '${part}'; parts are size, node, workerd, memory`);
}
const BUDGET = { js: 25_000, wasm: 45_000, coldNodeMs: 150, batch1MiB: 32 };
const MiB = 2 ** 20;

const work = mkdtempSync(join(tmpdir(), 'ddpm-budgets-'));
mkdirSync(join(work, 'node_modules'));
symlinkSync(ROOT, join(work, 'node_modules', 'ddpm-wasm'), 'dir');  // 'ddpm-wasm' as an installed package
const log = (message) => process.stderr.write(`budgets: ${message}\n`);

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kB = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The sampler entry: with `wasmModule` the caller's precompiled module, without it the embedded copy. */
const samplerEntry = (withModule, steps = 5) => `
import { init, loadModel, DDIMPipeline, DDIMScheduler, toRGBA } from 'ddpm-wasm/sampler';
export async function firstDigit(${withModule ? 'wasmModule, ' : ''}modelBytes) {
  await init(${withModule ? 'wasmModule' : ''});
  const { model, metadata } = loadModel(modelBytes);
  const pipeline = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
  const images = await pipeline.generate({ batchSize: 1, numInferenceSteps: ${steps}, seed: 1, classLabels: Int32Array.of(7) });
  return toRGBA(images.toFloat32Array(), images.shape);
}`;

/**
 * esbuild's bundle of an entry; returns the gzipped bytes of the chunks loaded eagerly, and of the chunks a run of
 * the sampler loads: those and the embedded copy's chunk, which init() without an argument imports. (Other lazy
 * chunks, such as the self-test's scenarios and golden outputs, are emitted but never loaded by a sampler.)
 */
async function bundleSize(name, source) {
  const outdir = join(work, name);
  const result = await esbuild.build({
    stdin: { contents: source, resolveDir: work, sourcefile: `${name}.js` }, bundle: true, platform: 'browser',
    format: 'esm', splitting: true, minify: true, outdir, metafile: true, nodePaths: [join(work, 'node_modules')], logLevel: 'silent',
  });
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((path) => outputs[path].entryPoint);
  // The chunks reached from `path` by static imports (and by the dynamic ones `follow` accepts).
  const reached = (path, follow, seen = new Set()) => {
    if (seen.has(path)) return seen;
    seen.add(path);
    for (const { path: next, kind } of outputs[path].imports) {
      if (outputs[next] && (kind === 'import-statement' || (kind === 'dynamic-import' && follow(next)))) reached(next, follow, seen);
    }
    return seen;
  };
  // The entry chunk and what it imports statically: what a page or Worker loads before calling init().
  const eager = reached(entry, () => false);
  const embeddedCopy = (path) => Object.keys(outputs[path].inputs).some((input) => input.endsWith('core/wasm-bytes.js'));
  // The metafile's paths are relative to the working directory.
  const sizeOf = (paths) => [...paths].reduce((sum, path) => sum + gz(readFileSync(resolve(path))), 0);
  const parts = {};
  for (const path of eager) {
    for (const [input, { bytesInOutput }] of Object.entries(outputs[path].inputs)) {
      const part = partOf(input);
      parts[part] = (parts[part] ?? 0) + bytesInOutput;
    }
  }
  return { eager: sizeOf(eager), loaded: sizeOf(reached(entry, embeddedCopy)), parts };
}

/** The part of the library a bundled module belongs to, for the size breakdown. */
function partOf(input) {
  const path = input.replace(/^.*dist\/bindings\//, '');
  if (/^core\//.test(path)) return 'loading the core (core/: init, the checks of a given module, the allocator)';
  if (/^models\/(load|model-loading|model-metadata|denoisers)\.js|^io\/safetensors|^ops\/half|^nn\/parameter-limit/.test(path)) return 'reading a model file (models/ loading and metadata, io/safetensors)';
  if (/^models\/|^nn\//.test(path)) return 'the models and their layers (models/, nn/)';
  if (/^ops\//.test(path)) return 'the ops (ops/: argument checks and wasm calls)';
  if (/^schedulers\//.test(path)) return 'the schedulers (schedulers/)';
  if (/^pipelines\//.test(path)) return 'the pipeline (pipelines/)';
  return 'the rest (tensor.ts, io/pixels.ts, random streams, @assemblyscript/loader, the entry)';
}

async function measureSize() {
  log('size: bundling the minimal sampler with esbuild');
  const withModule = await bundleSize('with-module', samplerEntry(true));
  const embedded = await bundleSize('embedded', samplerEntry(false));
  return { js: withModule.eager, parts: withModule.parts, wasm: gz(readFileSync(join(ROOT, 'dist/ddpm.wasm'))), embeddedLoaded: embedded.loaded };
}

/** Runs `script` (an ES module's text) in a fresh Node process; returns its last line of output as JSON. */
function nodeChild(script) {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0) throw new Error(`child process failed: ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

const LIB = JSON.stringify(pathToFileURL(join(ROOT, 'dist/bindings/index.js')).href);
const SAMPLER = JSON.stringify(pathToFileURL(join(ROOT, 'dist/bindings/sampler.js')).href);
const ENTRY = { sampler: { url: SAMPLER, name: "'ddpm-wasm/sampler'" }, main: { url: LIB, name: "the main entry 'ddpm-wasm'" } };
const modelPath = (name) => JSON.stringify(join(ROOT, `models/${name}.safetensors`));

/**
 * Cold start in fresh Node processes: the package as installed (dist/, one ES module per source file) imported
 * through `entry` ('sampler' or 'main'), or (`bundled`) the sampler entry bundled by esbuild into one file, as an
 * application would ship it.
 */
async function measureNodeColdStart(steps, bundled, entry = 'sampler') {
  let load = `const lib = await import(${ENTRY[entry].url});
    const firstDigit = async (bytes) => {
      await lib.init();
      const { model, metadata } = lib.loadModel(bytes);
      const pipeline = new lib.DDIMPipeline({ model, scheduler: lib.DDIMScheduler.fromConfig(metadata.scheduler) });
      const images = await pipeline.generate({ batchSize: 1, numInferenceSteps: ${steps}, seed: 1, classLabels: Int32Array.of(7) });
      return lib.toRGBA(images.toFloat32Array(), images.shape);
    };`;
  if (bundled) {
    const outfile = join(work, `node-bundle-${steps}.mjs`);
    await esbuild.build({
      stdin: { contents: samplerEntry(false, steps), resolveDir: work, sourcefile: 'sampler.js' }, bundle: true, platform: 'node',
      format: 'esm', minify: true, outfile, nodePaths: [join(work, 'node_modules')], logLevel: 'silent',
    });
    load = `const { firstDigit } = await import(${JSON.stringify(pathToFileURL(outfile).href)});`;
  }
  const script = `
    const t0 = performance.now(), c0 = process.cpuUsage();
    const { readFile } = await import('node:fs/promises');
    ${load}
    await firstDigit(await readFile(${modelPath('mnist')}));
    const t1 = performance.now(), cpu = process.cpuUsage(c0);
    console.log(JSON.stringify({ library: t1 - t0, process: t1, cpu: (cpu.user + cpu.system) / 1000 }));`;
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    log(`cold start in Node (${bundled ? 'bundled' : entry}), DDIM-${steps}: run ${r + 1} of ${RUNS}`);
    runs.push(nodeChild(script));
  }
  return {
    steps, bundled, entry, library: median(runs.map((r) => r.library)), process: median(runs.map((r) => r.process)), cpu: median(runs.map((r) => r.cpu)),
  };
}

const PHASES = ['import', 'compile', 'instantiate', 'loadModel', 'sample', 'toRGBA'];

/**
 * Where a cold start's CPU time goes, in fresh Node processes (the installed package through 'ddpm-wasm/sampler',
 * DDIM-`steps`): importing the library, compiling ddpm.wasm (read from dist/), init() with the compiled module
 * (instantiating it, with the checks of a given module), loadModel, sampling, toRGBA. Medians per phase.
 */
function measureNodePhases(steps) {
  const script = `
    const { readFile } = await import('node:fs/promises');
    const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
    const marks = [cpu()];
    const lib = await import(${SAMPLER});
    marks.push(cpu());
    const module = await WebAssembly.compile(await readFile(${JSON.stringify(join(ROOT, 'dist/ddpm.wasm'))}));
    marks.push(cpu());
    await lib.init(module);
    marks.push(cpu());
    const { model, metadata } = lib.loadModel(await readFile(${modelPath('mnist')}));
    marks.push(cpu());
    const pipeline = new lib.DDIMPipeline({ model, scheduler: lib.DDIMScheduler.fromConfig(metadata.scheduler) });
    const images = await pipeline.generate({ batchSize: 1, numInferenceSteps: ${steps}, seed: 1, classLabels: Int32Array.of(7) });
    marks.push(cpu());
    lib.toRGBA(images.toFloat32Array(), images.shape);
    marks.push(cpu());
    console.log(JSON.stringify(marks.slice(1).map((m, i) => m - marks[i])));`;
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    log(`cold start phases in Node, DDIM-${steps}: run ${r + 1} of ${RUNS}`);
    runs.push(nodeChild(script));
  }
  return { steps, phases: PHASES.map((_, i) => median(runs.map((r) => r[i]))) };
}

/** CPU time (user + system, ms) a process has used, from /proc (Linux). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);  // utime, stime
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (ticks * 1000) / hz;
}

/** examples/cloudflare-worker built into a folder of its own, with its config; returns the folder. */
async function buildExampleWorker() {
  const dir = join(work, 'worker');
  await buildWorker({ outdir: join(dir, 'build'), nodePaths: [join(work, 'node_modules')] });
  writeFileSync(join(dir, 'config.capnp'), readFileSync(join(ROOT, 'examples/cloudflare-worker/config.capnp')));
  return dir;
}

async function measureWorkerdColdStart(dir, steps) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    log(`cold start in workerd, DDIM-${steps}: run ${r + 1} of ${RUNS}`);
    const t0 = performance.now();
    const server = await startWorkerd('config.capnp', { cwd: dir });
    try {
      const t1 = performance.now();
      const response = await fetch(`${server.origin}/?digit=7&seed=1&steps=${steps}`);
      if (response.status !== 200) throw new Error(`workerd answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      const t2 = performance.now();
      runs.push({ total: t2 - t0, request: t2 - t1, cpu: cpuMs(server.pid), version: server.version });
    } finally {
      await server.stop();
    }
  }
  return {
    steps, total: median(runs.map((r) => r.total)), request: median(runs.map((r) => r.request)), cpu: median(runs.map((r) => r.cpu)), version: runs[0].version,
  };
}

function measureMemory() {
  const rows = [];
  for (const name of ['mnist', 'colored-mnist']) {
    for (const [batch, guidance] of [[1, 1], [1, 3], [16, 1], [16, 3]]) {
      log(`memory: ${name}, batch ${batch}, guidance ${guidance}`);
      rows.push({ name, batch, guidance, ...nodeChild(`
        const [lib, { readFile }] = await Promise.all([import(${LIB}), import('node:fs/promises')]);
        await lib.init();
        const { model, metadata } = lib.loadModel(await readFile(${modelPath(name)}));
        const pipeline = new lib.DDIMPipeline({ model, scheduler: lib.DDIMScheduler.fromConfig(metadata.scheduler) });
        const classLabels = Int32Array.from({ length: ${batch} }, (_, i) => i % model.numClasses);
        const images = await pipeline.generate({ batchSize: ${batch}, numInferenceSteps: 2, seed: 1, classLabels, guidanceScale: ${guidance} });
        images.dispose();
        console.log(JSON.stringify(lib.memoryStats()));`) });
    }
  }
  return rows;
}

function report(size, nodeRuns, phaseRuns, workerdRuns, memory) {
  const yes = (ok) => (ok ? 'yes' : '**no**');
  const ms = (x) => `${x.toFixed(0)} ms`;
  const lines = ['| budget | measured | target | met |', '| --- | --- | --- | --- |'];
  if (size) {
    lines.push(
      `| minimal sampler bundle (init with the module, loadModel, DDIM, toRGBA from 'ddpm-wasm/sampler'; esbuild --minify, gzip -9): JavaScript | ${kB(size.js)} | <= 25 KB | ${yes(size.js <= BUDGET.js)} |`,
      `| the same: ddpm.wasm | ${kB(size.wasm)} | <= 45 KB | ${yes(size.wasm <= BUDGET.wasm)} |`,
      `| the same with init() and the embedded copy (the JavaScript it loads; no .wasm file) | ${kB(size.embeddedLoaded)} | - | - |`,
    );
  }
  const how = (node) => (node.bundled ? 'the sampler bundled into one file' : `the package as installed, through ${ENTRY[node.entry].name}`);
  lines.push(
    ...nodeRuns.map((node) => `| cold start to the first digit in Node, ${how(node)}: import, init, loadModel, DDIM-${node.steps} batch 1, toRGBA (median of ${RUNS} fresh processes) | ${ms(node.library)} (CPU ${ms(node.cpu)}; ${ms(node.process)} from the process's start) | <= 150 ms | ${yes(node.library <= BUDGET.coldNodeMs)} |`),
    ...workerdRuns.map((workerd) => `| cold start to the first digit in workerd ${workerd.version}: \`workerd serve\` of examples/cloudflare-worker to its first PNG, DDIM-${workerd.steps} (median of ${RUNS}) | ${ms(workerd.total)} (the request alone ${ms(workerd.request)}; workerd's CPU ${ms(workerd.cpu)}) | measured | - |`),
  );
  const batch1 = memory.filter((r) => r.batch === 1);
  if (batch1.length > 0) {
    const worst1 = Math.max(...batch1.map((r) => r.heapBytes));
    lines.push(`| WebAssembly memory after sampling batch 1 (both shipped models, guidance 1 and 3; the largest) | ${(worst1 / MiB).toFixed(1)} MiB | <= 32 MiB | ${yes(worst1 <= BUDGET.batch1MiB * MiB)} |`);
  }
  if (size) {
    lines.push('', '| the sampler bundle\'s JavaScript, by part of the library | minified bytes (before gzip) |', '| --- | --- |');
    for (const [part, bytes] of Object.entries(size.parts).sort((a, b) => b[1] - a[1])) lines.push(`| ${part} | ${kB(bytes)} |`);
  }
  if (phaseRuns.length > 0) {
    lines.push('', `| Node's CPU time to the first digit, by phase (installed, 'ddpm-wasm/sampler', median of ${RUNS} fresh processes) | ${PHASES.join(' | ')} |`,
      `| --- | ${PHASES.map(() => '---').join(' | ')} |`);
    for (const run of phaseRuns) lines.push(`| DDIM-${run.steps} | ${run.phases.map(ms).join(' | ')} |`);
  }
  if (memory.length === 0) return lines.join('\n');
  lines.push('', '| WebAssembly memory after sampling (fresh process each) | batch 1 | batch 1, guidance 3 | batch 16 | batch 16, guidance 3 |',
    '| --- | --- | --- | --- | --- |');
  for (const name of ['mnist', 'colored-mnist']) {
    const cell = (batch, guidance) => {
      const r = memory.find((m) => m.name === name && m.batch === batch && m.guidance === guidance);
      return `${(r.heapBytes / MiB).toFixed(1)} MiB (peak live ${(r.peakBytes / MiB).toFixed(1)})`;
    };
    lines.push(`| models/${name}.safetensors | ${cell(1, 1)} | ${cell(1, 3)} | ${cell(16, 1)} | ${cell(16, 3)} |`);
  }
  return lines.join('\n');
}

try {
  const size = ONLY.has('size') ? await measureSize() : null;
  const node = [], phases = [], workerd = [];
  if (ONLY.has('node')) {
    for (const steps of STEPS) {
      node.push(await measureNodeColdStart(steps, false, 'sampler'), await measureNodeColdStart(steps, false, 'main'), await measureNodeColdStart(steps, true));
      phases.push(measureNodePhases(steps));
    }
  }
  if (ONLY.has('workerd')) {
    const worker = await buildExampleWorker();
    for (const steps of STEPS) workerd.push(await measureWorkerdColdStart(worker, steps));
  }
  const memory = ONLY.has('memory') ? measureMemory() : [];
  console.log(report(size, node, phases, workerd, memory));
} finally {
  rmSync(work, { recursive: true, force: true });
}
