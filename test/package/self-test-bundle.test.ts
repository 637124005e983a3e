// selfTest() in bundles: a minimal sampler bundled with code splitting loads none of the self-test up front (its
// scenarios and golden outputs sit in a lazy chunk), and an app bundled around selfTest() runs it and passes.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBuilt, ROOT } from '../cli/helpers.ts';

ensureBuilt();
const work = mkdtempSync(join(tmpdir(), 'ddpm-self-test-bundle-'));
mkdirSync(join(work, 'node_modules'));
symlinkSync(ROOT, join(work, 'node_modules', 'ddpm-wasm'), 'dir');

function bundle(name: string, source: string): esbuild.BuildResult & { outdir: string } {
  const outdir = join(work, name);
  const result = esbuild.buildSync({
    stdin: { contents: source, resolveDir: work, sourcefile: `${name}.js` }, bundle: true, platform: 'browser', format: 'esm',
    splitting: true, minify: true, outdir, write: true, logLevel: 'silent', metafile: true, nodePaths: [join(work, 'node_modules')],
  });
  return Object.assign(result, { outdir });
}

/** The inputs (source files) of the chunks the entry loads before any dynamic import. */
function eagerInputs(result: esbuild.BuildResult): string[] {
  const outputs = result.metafile!.outputs;
  const entry = Object.keys(outputs).find((path) => outputs[path].entryPoint)!;
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const { path: next, kind } of outputs[path].imports) if (kind === 'import-statement' && outputs[next]) visit(next);
  };
  visit(entry);
  return [...seen].flatMap((path) => Object.entries(outputs[path].inputs).filter(([, i]) => i.bytesInOutput > 0).map(([input]) => input));
}

test('a minimal sampler loads nothing of the self-test up front', () => {
  const result = bundle('sampler', `
    import { init, loadModel, DDIMPipeline, DDIMScheduler, toRGBA } from 'ddpm-wasm';
    export async function sample(wasmModule, bytes) {
      await init(wasmModule);
      const { model, metadata } = loadModel(bytes);
      const images = await new DDIMPipeline({ model, scheduler: DDIMScheduler.fromConfig(metadata.scheduler) }).generate({ batchSize: 1, numInferenceSteps: 2, seed: 1 });
      return toRGBA(images.toFloat32Array(), images.shape);
    }`);
  assert.equal(result.errors, []);
  const eager = eagerInputs(result);
  assert.ok(eager.some((path) => path.endsWith('schedulers/ddim.js')) && eager.some((path) => path.endsWith('pipelines/pipeline.js')), 'the sampler is there');
  assert.equal(eager.filter((path) => path.includes('/verify/') || path.includes('/train/')), [], 'no self-test, no trainer');
});

test('an app bundled around selfTest() (JSON golden table and all) runs it and passes', async () => {
  const result = bundle('verify', `import { selfTest } from 'ddpm-wasm'; export const run = (filter) => selfTest({ filter });`);
  assert.equal(result.errors, []);
  const { run } = await import(pathToFileURL(join(result.outdir, 'stdin.js')).href);
  const report = await run('matmul');
  assert.ok(report.ok, JSON.stringify(report.scenarios.filter((s: { status: string }) => s.status !== 'passed')));
  assert.ok(report.passed >= 6, `${report.passed} matmul scenarios`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
