// The package as bundlers see it: 'ddpm-wasm' bundles for the browser with esbuild and no flag (the main entry
// reaches nothing Node-only), the package's exports map resolves every public file, and a minimal sampler bundle
// (init with a precompiled module, loadModel, DDIM, toRGBA) keeps the embedded base64 copy in a chunk it never
// loads and, run as bundled, draws the same pixels as the library run from dist/, and (from 'ddpm-wasm/sampler')
// loads no code of the schedulers, the classifier or the learned variance it does not use.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBuilt, ROOT } from '../cli/helpers.ts';

ensureBuilt();
const work = mkdtempSync(join(tmpdir(), 'ddpm-bundle-'));
// A node_modules folder holding only the package under test, as an installed dependency would be.
mkdirSync(join(work, 'node_modules'));
symlinkSync(ROOT, join(work, 'node_modules', 'ddpm-wasm'), 'dir');

/** Bundles `source` (an entry module's text) for the browser; returns esbuild's result, its files in `outdir`. */
function bundle(name: string, source: string, options: esbuild.BuildOptions = {}): esbuild.BuildResult & { outdir: string } {
  const outdir = join(work, name);
  const result = esbuild.buildSync({
    stdin: { contents: source, resolveDir: work, sourcefile: `${name}.js` },
    bundle: true, platform: 'browser', format: 'esm', outdir, write: true, logLevel: 'silent', metafile: true,
    nodePaths: [join(work, 'node_modules')], ...options,
  });
  return Object.assign(result, { outdir });
}

const SAMPLER = `
import { init, loadModel, DDIMPipeline, DDIMScheduler, toRGBA } from 'ddpm-wasm';
export async function sample(wasmModule, modelBytes) {
  await init(wasmModule);
  const { model, metadata } = loadModel(modelBytes);
  const pipeline = new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) });
  const images = await pipeline.generate({ batchSize: 2, numInferenceSteps: 4, seed: 1, classLabels: Int32Array.of(7, 3) });
  const rgba = toRGBA(images.toFloat32Array(), images.shape);
  images.dispose();
  return rgba;
}`;

test("import { toRGBA } from 'ddpm-wasm' bundles for the browser with no flag, and nothing Node-only comes along", () => {
  const result = bundle('to-rgba', "import { toRGBA } from 'ddpm-wasm'; console.log(toRGBA);");
  assert.equal(result.errors, []);
  assert.equal(result.warnings, []);
  // Modules that put code into the bundle (the metafile's inputs list every module parsed, kept or not).
  const inputs = Object.values(result.metafile!.outputs).flatMap((output) =>
    Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path));
  assert.ok(inputs.some((path) => path.endsWith('io/pixels.js')), 'toRGBA is in the bundle');
  assert.not.ok(inputs.some((path) => path.includes('/train/') || path.includes('wasm-bytes')), `tree-shaken: ${inputs.join(', ')}`);
});

test('the whole main entry bundles for the browser with no flag (every export kept)', () => {
  const result = bundle('everything', "export * from 'ddpm-wasm';");
  assert.equal(result.errors, []);
  assert.equal(result.warnings, []);
  const code = readFileSync(join(result.outdir, 'stdin.js'), 'utf8');
  assert.not.match(code, /from ["']node:|import\(["']node:|require\(["']node:/);
});

test("the exports map resolves every public file: the entries, 'ddpm-wasm/ddpm.wasm' and the shipped models", () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const [subpath, target] of Object.entries(manifest.exports as Record<string, string | Record<string, string>>)) {
    for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
      assert.ok(existsSync(join(ROOT, file)), `${subpath} -> ${file} exists`);
    }
  }
  const result = bundle('assets', [
    "import wasm from 'ddpm-wasm/ddpm.wasm';", "import mnist from 'ddpm-wasm/models/mnist.safetensors';",
    "import colored from 'ddpm-wasm/models/colored-mnist.safetensors';", 'console.log(wasm, mnist, colored);',
  ].join('\n'), { loader: { '.wasm': 'file', '.safetensors': 'file' } });
  assert.equal(result.errors, []);
  const emitted = readdirSync(result.outdir);
  assert.ok(emitted.some((f) => f.endsWith('.wasm')) && emitted.filter((f) => f.endsWith('.safetensors')).length === 2, emitted.join(', '));
});

test('a minimal sampler: the embedded copy stays in its own chunk, and the bundle draws what dist/ draws', async () => {
  const result = bundle('sampler', SAMPLER, { splitting: true, minify: true });
  assert.equal(result.errors, []);
  const main = readFileSync(join(result.outdir, 'stdin.js'), 'utf8');
  const embedded = readFileSync(join(ROOT, 'bindings/core/wasm-bytes.ts'), 'utf8').match(/'([A-Za-z0-9+/=]{64})/)![1];
  assert.not.ok(main.includes(embedded), 'the base64 copy is not in the main chunk');
  assert.ok(readdirSync(result.outdir).some((f) => f !== 'stdin.js' && readFileSync(join(result.outdir, f), 'utf8').includes(embedded)),
    'it is in a chunk of its own, loaded only by init() without an argument');

  const wasmModule = await WebAssembly.compile(readFileSync(join(ROOT, 'dist/ddpm.wasm')));
  const modelBytes = readFileSync(join(ROOT, 'models/mnist.safetensors'));
  const bundled = await import(pathToFileURL(join(result.outdir, 'stdin.js')).href);
  const fromBundle = await bundled.sample(wasmModule, modelBytes);
  const fromDist = await (await referenceSampler())(modelBytes);
  assert.is(fromBundle.width, fromDist.width);
  assert.is(fromBundle.height, fromDist.height);
  assert.ok(Buffer.from(fromBundle.data).equals(Buffer.from(fromDist.data)), 'the same pixels');
});

test('a minimal DDIM sampler loads no other scheduler, no classifier and no learned-variance code', () => {
  const result = bundle('ddim-only', SAMPLER.replace("from 'ddpm-wasm'", "from 'ddpm-wasm/sampler'"), { splitting: true, minify: true });
  assert.equal(result.errors, []);
  const outputs = result.metafile!.outputs;
  // The entry chunk and the chunks it imports statically: what a page loads before calling init().
  const eager = new Set<string>();
  const visit = (path: string) => {
    if (eager.has(path)) return;
    eager.add(path);
    for (const { path: next, kind } of outputs[path].imports) if (kind === 'import-statement' && outputs[next]) visit(next);
  };
  visit(Object.keys(outputs).find((path) => outputs[path].entryPoint)!);
  const kept = [...eager].flatMap((path) => Object.entries(outputs[path].inputs).filter(([, input]) => input.bytesInOutput > 0).map(([input]) => input));
  assert.ok(kept.some((path) => path.endsWith('schedulers/ddim.js')), 'DDIM is in the bundle');
  const foreign = kept.filter((path) => /schedulers\/(repaint|ddim-inverse|sigma-scheduler|discrete|dpm-solver|unipc|euler|heun|score-sde|classes)|models\/classifier|ops\/learned-variance/.test(path));
  assert.equal(foreign, [], 'modules DDIM sampling does not need');
});

/** The same sampler from dist/ as Node loads it (the embedded module), in this process. */
async function referenceSampler(): Promise<(bytes: Uint8Array) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>> {
  const lib = await import(pathToFileURL(join(ROOT, 'dist/bindings/index.js')).href);
  return async (bytes) => {
    await lib.init();
    const { model, metadata } = lib.loadModel(bytes);
    const pipeline = new lib.DDIMPipeline({ model, scheduler: lib.DDIMScheduler.fromConfig(metadata.scheduler) });
    const images = await pipeline.generate({ batchSize: 2, numInferenceSteps: 4, seed: 1, classLabels: Int32Array.of(7, 3) });
    const rgba = lib.toRGBA(images.toFloat32Array(), images.shape);
    images.dispose();
    return rgba;
  };
}

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
