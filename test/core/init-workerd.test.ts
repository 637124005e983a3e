// init() in Cloudflare's workerd, which compiles no WebAssembly from bytes: with no argument (the embedded copy) it
// fails in one line saying what to do; with the ddpm.wasm module the config declares, it loads and computes what
// Node computes.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, ops } from '../../bindings/index.ts';
import { ensureBuilt, ROOT } from '../cli/helpers.ts';
// @ts-expect-error: plain JavaScript, untyped
import { startWorkerd, workerConfig } from '../runtimes/workerd.js';

ensureBuilt();
const dir = mkdtempSync(join(tmpdir(), 'ddpm-init-workerd-'));
await esbuild.build({
  stdin: {
    resolveDir: ROOT, sourcefile: 'probe.js', contents: `
      import { init, ops } from './dist/bindings/index.js';
      import wasm from './ddpm.wasm';
      export default {
        async fetch(request) {
          const withModule = new URL(request.url).searchParams.has('module');
          try {
            await init(withModule ? wasm : undefined);
            return Response.json({ randn: Array.from(ops.randn([4], { seed: 7 }).toFloat32Array()) });
          } catch (error) {
            return Response.json({ error: error.message });
          }
        },
      };`,
  },
  bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'probe.js'), external: ['./ddpm.wasm'], logLevel: 'silent',
});
copyFileSync(join(ROOT, 'dist/ddpm.wasm'), join(dir, 'ddpm.wasm'));
writeFileSync(join(dir, 'config.capnp'), workerConfig({ entry: 'probe.js', wasm: ['ddpm.wasm'] }));
const server = await startWorkerd('config.capnp', { cwd: dir });
await init();

test('no argument: workerd refuses to compile the embedded bytes, and the error says to pass the module', async () => {
  const { error } = await (await fetch(`${server.origin}/`)).json();
  assert.match(error, /^ddpm-wasm: init\(\) could not compile the module embedded in the library: .*disallowed by embedder; in Cloudflare Workers, import ddpm-wasm\/ddpm\.wasm as a module and pass it, init\(wasmModule\)/);
});

test('the module declared in the config: loads (after the failed attempt) and draws the numbers Node draws', async () => {
  const { randn, error } = await (await fetch(`${server.origin}/?module`)).json();
  assert.is(error, undefined);
  assert.equal(randn, Array.from(ops.randn([4], { seed: 7 }).toFloat32Array()));
});

test.after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.run();
