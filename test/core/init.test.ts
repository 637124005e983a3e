// init(): every accepted source (nothing, a WebAssembly.Module, bytes, a Response or a promise of one, a URL), the
// same source twice, another source after the first (an error, never a swap), and the one-line errors for a value
// of another kind, bytes that do not compile, a failed download, a runtime that refuses to compile bytes, and a
// module that is not the core. Each test loads a fresh copy of core/instance.ts (a query string makes a new module
// instance), so the other test files' core is never touched.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const WASM = readFileSync(new URL('../../build/ddpm.wasm', import.meta.url));
const bytes = () => new Uint8Array(WASM);
const compiled = await WebAssembly.compile(bytes());

let fresh = 0;
type Instance = typeof import('../../bindings/core/instance.ts');
/** A new, unloaded copy of the loading module. */
const instance = (): Promise<Instance> => import(`../../bindings/core/instance.ts?fresh=${fresh++}`);

/** Loads, then checks that the core works: a kernel call through `wasm()`. */
async function loadsAndRuns(source: Parameters<Instance['init']>[0]): Promise<Instance> {
  const core = await instance();
  await core.init(source);
  assert.ok(core.wasm().memory.buffer.byteLength > 0);
  assert.is(core.wasm().mathExp(0), 1);
  return core;
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const message = (error as Error).message;
    assert.match(message, pattern);
    assert.not.match(message, /\n/, 'one line');
    return message;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
  return '';
}

/** A minimal module exporting a function `foo` (not the core). */
const FOO_MODULE = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
  7, 7, 1, 3, 0x66, 0x6f, 0x6f, 0, 0, 0x0a, 4, 1, 2, 0, 0x0b);
/** A minimal module importing env.seed (the loader would hand it Date.now), exporting nothing. */
const SEED_MODULE = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7c,
  2, 0x0c, 1, 3, 0x65, 0x6e, 0x76, 4, 0x73, 0x65, 0x65, 0x64, 0, 0);

test('wasm() before init() says to call init() first', async () => {
  const core = await instance();
  assert.throws(() => core.wasm(), /call `await init\(\)` first/);
});

test('no argument: the embedded module; again with no argument: the same promise', async () => {
  const core = await instance();
  const first = core.init();
  assert.is(core.init(), first);
  await first;
  assert.is(core.wasm().mathExp(0), 1);
});

test('a WebAssembly.Module; the same module again, or no argument, is fine', async () => {
  const core = await loadsAndRuns(compiled);
  await core.init(compiled);
  await core.init();
});

test('another module after the first: an error naming both, and the first stays loaded', async () => {
  const core = await loadsAndRuns(compiled);
  const before = core.wasm();
  const other = await WebAssembly.compile(bytes());
  await rejects(core.init(other), /already called with a WebAssembly\.Module; calling it again with a WebAssembly\.Module would swap/);
  await rejects(core.init(bytes()), new RegExp(`already called with a WebAssembly\\.Module; calling it again with a Uint8Array of ${WASM.length} bytes`));
  assert.is(core.wasm(), before);
});

test('the embedded module first, then a given one: an error', async () => {
  const core = await loadsAndRuns(undefined);
  await rejects(core.init(compiled), /already called with no argument \(the module embedded in the library\); calling it again with a WebAssembly\.Module/);
});

test('bytes: a Uint8Array, an ArrayBuffer; equal bytes in another array count as the same source', async () => {
  const core = await loadsAndRuns(bytes());
  await core.init(bytes());
  await core.init(bytes().buffer);
  await loadsAndRuns(bytes().buffer);
  const changed = bytes();
  changed[changed.length - 1] ^= 1;
  await rejects(core.init(changed), /would swap/);
});

test('a Response (application/wasm, streamed), a Response of another type, a promise of a Response', async () => {
  await loadsAndRuns(new Response(bytes(), { headers: { 'content-type': 'application/wasm' } }));
  await loadsAndRuns(new Response(bytes(), { headers: { 'content-type': 'application/octet-stream' } }));
  await loadsAndRuns(Promise.resolve(new Response(bytes())));
});

test('a URL is fetched; a missing file, a file: URL in Node and a promise of something else fail in one line', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/ddpm.wasm') res.writeHead(200, { 'content-type': 'application/wasm' }).end(WASM);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    await loadsAndRuns(new URL(`http://127.0.0.1:${port}/ddpm.wasm`));
    await rejects((await instance()).init(fetch(`http://127.0.0.1:${port}/missing.wasm`)),
      /could not load the response from http:\/\/127\.0\.0\.1:\d+\/missing\.wasm: HTTP 404/);
    await rejects((await instance()).init(new URL(`http://127.0.0.1:${port}/missing.wasm`)),
      /could not load the URL http:\/\/127\.0\.0\.1:\d+\/missing\.wasm: HTTP 404/);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await rejects((await instance()).init(new URL('../../build/ddpm.wasm', import.meta.url)), /could not fetch file:.*pass the file's bytes instead/);
  await rejects((await instance()).init(Promise.resolve(bytes()) as unknown as Promise<Response>), /was given a promise of a Uint8Array of \d+ bytes, not of a Response/);
});

test('a value of another kind: names it and what is accepted; the next call starts afresh', async () => {
  const core = await instance();
  const accepted = 'takes a WebAssembly\\.Module, a Response \\(or a promise of one\\), a URL, or the bytes of ddpm-wasm/ddpm\\.wasm \\(ArrayBuffer or Uint8Array\\)';
  const cases: [unknown, string][] = [
    ['ddpm.wasm', 'got the string "ddpm\\.wasm" \\(for a file or an address, pass new URL\\("ddpm\\.wasm", base\\)'],
    [42, 'got the number 42'],
    [null, 'got null'],
    [{ wasm: true }, 'got a plain object'],
    [new Int32Array(4), 'got an Int32Array of 16 bytes'],
  ];
  for (const [value, given] of cases) {
    await rejects(core.init(value as Uint8Array), new RegExp(`^ddpm-wasm: init\\(\\) ${accepted}; ${given}`));
  }
  await core.init(compiled);
  assert.is(core.wasm().mathExp(0), 1);
});

test('bytes that are not WebAssembly: the compiler\'s message, then a retry with good bytes loads', async () => {
  const core = await instance();
  await rejects(core.init(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)), /^ddpm-wasm: init\(\) could not compile a Uint8Array of 8 bytes: WebAssembly\.compile\(\): expected magic word/);
  await core.init(bytes());
  assert.is(core.wasm().mathExp(0), 1);
});

test('a module that is not the core: names what it lacks, what it exports or imports instead', async () => {
  const message = await rejects((await instance()).init(await WebAssembly.compile(FOO_MODULE)),
    /^ddpm-wasm: init\(\) was given a WebAssembly\.Module, which is not this version's core: it lacks \d+ of the core's \d+ exports \(.+\) and exports foo instead; pass ddpm-wasm\/ddpm\.wasm from the same version/);
  assert.match(message, /\(\d+ in all\)/);
  await rejects((await instance()).init(SEED_MODULE), /not this version's core: it lacks .* and imports env\.seed, which the core does not/);
});

test('a runtime that refuses to compile bytes (workerd; a browser under a CSP): what to do in each', async () => {
  const original = WebAssembly.compile;
  const refusals = [
    'WebAssembly.compile(): Wasm code generation disallowed by embedder',  // workerd
    'call to WebAssembly.compile() blocked by CSP',  // Firefox
    "WebAssembly.compile(): Compiling or instantiating WebAssembly module violates the following Content Security policy directive because 'unsafe-eval' is not an allowed source of script in the following Content Security Policy directive: \"script-src 'self'\".",  // Chromium
  ];
  try {
    for (const refusal of refusals) {
      WebAssembly.compile = () => Promise.reject(new WebAssembly.CompileError(refusal));
      const message = await rejects((await instance()).init(), /^ddpm-wasm: init\(\) could not compile the module embedded in the library: /);
      assert.ok(message.endsWith(`${refusal.replace(/\.$/, '')}; in Cloudflare Workers, import ddpm-wasm/ddpm.wasm as a module and pass it, ` +
        "init(wasmModule); in a page, allow 'wasm-unsafe-eval' in the script-src of its Content-Security-Policy"), message);
    }
  } finally {
    WebAssembly.compile = original;
  }
});

test.run();
