// The development servers resolve the library's one bare import (@assemblyscript/loader) for browsers and module
// workers: the rewrite itself, and web/server.js serving the rewritten library, the package file, and no other
// file of node_modules/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error: plain JavaScript, untyped
import { BARE_IMPORTS, rewriteBareImports } from '../../web/bare-imports.js';
// @ts-expect-error: plain JavaScript, untyped
import { startServer } from '../../web/server.js';
import { ensureBuilt } from '../cli/helpers.ts';

const LOADER = BARE_IMPORTS['@assemblyscript/loader'];

test('static, dynamic and side-effect imports of the loader are rewritten; other specifiers are not', () => {
  const source = [
    "import { instantiate } from '@assemblyscript/loader';", 'const m = await import("@assemblyscript/loader");',
    "import '@assemblyscript/loader';", "import x from './local.js';", "import y from '@assemblyscript/loader-extra';",
    "const text = 'from @assemblyscript/loader';",
  ].join('\n');
  assert.is(rewriteBareImports(source), [
    `import { instantiate } from '${LOADER}';`, `const m = await import("${LOADER}");`, `import '${LOADER}';`,
    "import x from './local.js';", "import y from '@assemblyscript/loader-extra';", "const text = 'from @assemblyscript/loader';",
  ].join('\n'));
});

test('web/server.js serves the library with the import resolved, the loader file, and nothing else of node_modules', async () => {
  ensureBuilt();
  const server = await startServer();
  try {
    const instance = await (await fetch(`${server.origin}/dist/bindings/core/instance.js`)).text();
    assert.ok(instance.includes(`from '${LOADER}'`), 'rewritten');
    assert.not.ok(instance.includes("from '@assemblyscript/loader'"), 'no bare import left');
    const loader = await fetch(`${server.origin}${LOADER}`);
    assert.is(loader.status, 200);
    assert.match(await loader.text(), /export async function instantiate/);
    const other = await fetch(`${server.origin}/node_modules/uvu/package.json`);
    assert.is(other.status, 403);
    await other.text();
  } finally {
    await server.close();
  }
});

test('the benchmark\'s tinybench is resolved and served the same way', async () => {
  ensureBuilt();
  const rewritten = rewriteBareImports("import { Bench } from 'tinybench';\nimport z from 'tinybench-extra';");
  assert.is(rewritten, `import { Bench } from '${BARE_IMPORTS.tinybench}';\nimport z from 'tinybench-extra';`);
  const server = await startServer();
  try {
    const timing = await (await fetch(`${server.origin}/dist/bench/timing.js`)).text();
    assert.ok(timing.includes(`from '${BARE_IMPORTS.tinybench}'`), 'rewritten');
    const file = await fetch(`${server.origin}${BARE_IMPORTS.tinybench}`);
    assert.is(file.status, 200);
    assert.match(await file.text(), /Bench/);
  } finally {
    await server.close();
  }
});

test.run();
