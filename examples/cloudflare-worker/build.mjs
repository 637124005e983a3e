// Bundles worker.js with esbuild into build/, beside the two files it imports as modules (the WebAssembly core
// and the model), under the names config.capnp declares: `npm run build`, then `npx workerd serve config.capnp`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * Builds the Worker into `outdir` (default build/). `nodePaths`: extra folders to find packages in (the
 * repository's test uses it to point 'ddpm-wasm' at the checkout).
 */
export async function buildWorker({ outdir = join(here, 'build'), nodePaths = [] } = {}) {
  mkdirSync(outdir, { recursive: true });
  // The .wasm and .safetensors imports stay imports (workerd links them as modules), renamed to the file
  // copied next to the bundle.
  const modulesBeside = {
    name: 'modules-beside',
    setup(build) {
      build.onResolve({ filter: /\.(wasm|safetensors)$/ }, async (args) => {
        if (args.pluginData === 'resolving') return undefined;
        const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
        if (found.errors.length > 0) return { errors: found.errors };
        copyFileSync(found.path, join(outdir, basename(found.path)));
        return { path: `./${basename(found.path)}`, external: true };
      });
    },
  };
  await esbuild.build({
    entryPoints: [join(here, 'worker.js')], outfile: join(outdir, 'worker.js'), bundle: true, format: 'esm',
    platform: 'browser', minify: true, nodePaths, plugins: [modulesBeside], logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWorker();
