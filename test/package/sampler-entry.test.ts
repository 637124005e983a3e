// 'ddpm-wasm/sampler', the entry of code that only samples: each of its exports is the very object the main entry
// exports, and the modules it loads (followed statically through dist/) hold no training, classifier, dataset,
// diffusers interop or worker code, nor the editing schedulers (RePaint, DDIM inversion) or the scheduler name
// table, which is what makes it load faster in Node than the main entry.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBuilt, ROOT } from '../cli/helpers.ts';

ensureBuilt();
const DIST = join(ROOT, 'dist/bindings');

/** The dist/ modules `entry` loads: every relative static import and re-export, followed. */
function moduleGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, path] of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gm)) visit(resolve(dirname(file), path));
  };
  visit(join(DIST, entry));
  return [...seen].map((file) => relative(DIST, file)).sort();
}

test("every export of 'ddpm-wasm/sampler' is the main entry's export of that name", async () => {
  const sampler = await import(pathToFileURL(join(DIST, 'sampler.js')).href);
  const main = await import(pathToFileURL(join(DIST, 'index.js')).href);
  const names = Object.keys(sampler);
  for (const name of ['init', 'loadModel', 'DDIMPipeline', 'DDIMScheduler', 'DiffusionPipeline', 'toRGBA', 'Tensor', 'tidy']) {
    assert.ok(names.includes(name), `'ddpm-wasm/sampler' exports ${name}`);
  }
  for (const name of names) assert.ok(sampler[name] === main[name], `${name} is the same object in both entries`);
});

test("'ddpm-wasm/sampler' loads no training, classifier, dataset, interop or worker module", () => {
  const sampler = moduleGraph('sampler.js');
  const main = moduleGraph('index.js');
  const foreign = sampler.filter((file) => /^(train|data|interop|likelihood)\/|classifier|worker|torch-random|adamw/.test(file));
  assert.equal(foreign, [], 'modules a sampler does not need');
  assert.ok(main.length > sampler.length, `the main entry loads ${main.length} modules, the sampler ${sampler.length}`);
  assert.ok(sampler.includes('models/load.js') && sampler.includes('pipelines/pipeline.js'), 'the graph is followed');
  // Editing's schedulers and the scheduler name table are the main entry's; the samplers come one by one.
  const editing = sampler.filter((file) => /^schedulers\/(index|classes|repaint|ddim-inverse)\.js$/.test(file));
  assert.equal(editing, [], 'scheduler modules a sampler does not load');
  assert.ok(sampler.includes('schedulers/dpm-solver.js') && sampler.includes('schedulers/score-sde-ode.js'), 'the samplers are exported');
});

test.run();
