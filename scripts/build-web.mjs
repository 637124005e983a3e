// `npm run web:build [-- --out FOLDER]`: the pages of web/ as a static site a user can host anywhere (default
// build/site/): the sampler, the benchmark-and-verify page and the training page, each page's script and worker
// bundled by esbuild with the library (its WebAssembly core embedded), the shipped models beside them. Every path
// in the site is relative, so it works from any folder of any static host; the self-test needs a secure context
// (https, or http on localhost). Needs dist/ (`npm run build`).
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Each page's scripts: its module and its worker (bundled as entry points of their own, same names). */
const SCRIPTS = ['main', 'worker', 'bench', 'bench-worker', 'train', 'train-worker'];
const MODELS = ['mnist', 'colored-mnist'];

/** Builds the site into `out` (emptied first); returns the files written with their sizes. */
export async function buildSite(out) {
  if (!existsSync(join(ROOT, 'dist/bindings/index.js')) || !existsSync(join(ROOT, 'dist/bench/engine.js'))) {
    throw new Error('dist/ is not built: run `npm run build` first');
  }
  rmSync(out, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: Object.fromEntries(SCRIPTS.map((name) => [`web/${name}`, join(ROOT, 'web', `${name}.js`)])),
    outdir: out, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', splitting: true, minify: true,
    chunkNames: 'web/chunks/[name]-[hash]', logLevel: 'warning', legalComments: 'eof',
  });
  for (const file of readdirSync(join(ROOT, 'web')).filter((f) => /\.(html|css)$/.test(f))) {
    cpSync(join(ROOT, 'web', file), join(out, 'web', file));
  }
  mkdirSync(join(out, 'models'), { recursive: true });
  for (const name of MODELS) {
    const file = join(ROOT, 'models', `${name}.safetensors`);
    if (existsSync(file)) cpSync(file, join(out, 'models', `${name}.safetensors`));
  }
  writeFileSync(join(out, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>ddpm-wasm</title>\n' +
    '<meta http-equiv="refresh" content="0; url=web/">\n<a href="web/">ddpm-wasm: the pages</a>\n');
  return list(out).map((path) => ({ path: relative(out, path), bytes: statSync(path).size }));
}

function list(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? list(join(folder, entry.name)) : [join(folder, entry.name)]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'build/site') } } });
  const out = resolve(values.out);
  try {
    const files = await buildSite(out);
    const total = files.reduce((sum, f) => sum + f.bytes, 0);
    console.log(`web:build: ${files.length} files, ${(total / 1e6).toFixed(1)} MB in ${relative(process.cwd(), out) || '.'}/`);
    console.log('  serve it from any static host (https), e.g. `node web/server.js --root ' + (relative(process.cwd(), out) || '.') + '`, and open /web/');
  } catch (error) {
    console.error(`web:build: ${error.message}`);
    process.exit(1);
  }
}
