/**
 * What `init()` accepts as the WebAssembly core, and how each kind becomes a compiled module: a
 * `WebAssembly.Module` as it is (the only kind Cloudflare Workers allow: they compile no bytes, and give the
 * .wasm files a Worker imports as modules), a `Response` (or a promise of one, e.g. `fetch(...)`) or a `URL`,
 * streamed into the compiler when served as application/wasm, or the file's bytes. (Browsers compile nothing,
 * streamed or not, under a Content-Security-Policy whose script-src lacks 'wasm-unsafe-eval'.) Also the checks that make a wrong
 * source fail with one line naming what was given: a value of another kind, a failed download, bytes that do not
 * compile, and a module that is not this library's core (other exports or imports).
 */
import { CORE_EXPORTS } from './wasm-exports.ts';

/** A source of the WebAssembly core (ddpm-wasm/ddpm.wasm) for `init()`. */
export type WasmSource = WebAssembly.Module | Response | PromiseLike<Response> | URL | ArrayBuffer | Uint8Array;

export const ACCEPTED = 'a WebAssembly.Module, a Response (or a promise of one), a URL, or the bytes of ddpm-wasm/ddpm.wasm ' +
  '(ArrayBuffer or Uint8Array)';

/** The imports the core may ask for: AssemblyScript's abort, which the loader gives it. */
const ALLOWED_IMPORTS = new Set(['env.abort']);

// Node defines Response lazily: the first read of the global loads its fetch implementation (about 20 ms), so
// every check below tests the other kinds first and reads Response only for a value that may be one.
const isResponse = (value: unknown): value is Response => typeof Response !== 'undefined' && value instanceof Response;
const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | null)?.then === 'function';

/** Throws when `source` is of no accepted kind (checked before anything is loaded). */
export function checkSource(source: unknown): asserts source is WasmSource {
  if (source instanceof WebAssembly.Module || source instanceof ArrayBuffer || source instanceof Uint8Array ||
    source instanceof URL || isThenable(source) || isResponse(source)) return;
  const hint = typeof source === 'string' ? ` (for a file or an address, pass new URL(${JSON.stringify(source)}, base) or the file's bytes)` : '';
  throw new Error(`ddpm-wasm: init() takes ${ACCEPTED}; got ${describeSource(source)}${hint}`);
}

/** `source` in a few words, for messages: "a WebAssembly.Module", "the URL https://…", "a Uint8Array of 52883 bytes". */
export function describeSource(source: unknown): string {
  if (source === undefined) return 'no argument (the module embedded in the library)';
  if (source === null) return 'null';
  if (source instanceof WebAssembly.Module) return 'a WebAssembly.Module';
  if (source instanceof URL) return `the URL ${source.href}`;
  if (source instanceof ArrayBuffer) return `an ArrayBuffer of ${source.byteLength} bytes`;
  if (ArrayBuffer.isView(source)) return `${article(source.constructor.name)} of ${source.byteLength} bytes`;
  if (isThenable(source)) return 'a promise';
  if (typeof source === 'string') return `the string ${JSON.stringify(source.length > 60 ? `${source.slice(0, 57)}...` : source)}`;
  if (isResponse(source)) return source.url ? `the response from ${source.url}` : 'a Response';
  if (typeof source === 'object') {
    const name = Object.getPrototypeOf(source)?.constructor?.name;
    return name && name !== 'Object' ? `${article(name)} object` : 'a plain object';
  }
  return `the ${typeof source} ${String(source)}`;
}

const article = (word: string) => `${/^[AEIO]/.test(word) ? 'an' : 'a'} ${word}`;

/** Whether a second `init(b)` asks for what `init(a)` loaded: the same object, URL or bytes. */
export function sameSource(a: WasmSource | undefined, b: WasmSource | undefined): boolean {
  if (a === b) return true;
  if (a instanceof URL && b instanceof URL) return a.href === b.href;
  const bytes = (s: unknown) => (s instanceof ArrayBuffer ? new Uint8Array(s) : s instanceof Uint8Array ? s : null);
  const x = bytes(a), y = bytes(b);
  if (!x || !y || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Compiles `source` (fetching a URL, reading a response); errors name the source and, where it helps, what to do. */
export async function compileSource(source: WasmSource, what: string): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return compileBytes(source, what);
  if (source instanceof URL) return compileResponse(await download(source), what);
  // A Response, or a promise of one.
  const response = await source;
  if (!isResponse(response)) throw new Error(`ddpm-wasm: init() was given a promise of ${describeSource(response)}, not of a Response (accepted: ${ACCEPTED})`);
  return compileResponse(response, response === source ? what : describeSource(response));
}

async function download(url: URL): Promise<Response> {
  try {
    return await fetch(url);
  } catch (error) {
    const hint = url.protocol === 'file:' ? '; this runtime cannot fetch file: URLs (Node cannot), so pass the file\'s bytes instead' : '';
    throw new Error(`ddpm-wasm: init() could not fetch ${url.href}: ${(error as Error).message}${hint}`);
  }
}

async function compileResponse(response: Response, what: string): Promise<WebAssembly.Module> {
  if (!response.ok) throw new Error(`ddpm-wasm: init() could not load ${what}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  // Streaming compilation needs the application/wasm type; many servers send another, so fall back to bytes.
  const streams = typeof WebAssembly.compileStreaming === 'function' && response.headers.get('content-type')?.split(';')[0].trim() === 'application/wasm';
  if (!streams) return compileBytes(await response.arrayBuffer(), what);
  try {
    return await WebAssembly.compileStreaming(response);
  } catch (error) {
    throw compileError(error, what);
  }
}

export async function compileBytes(bytes: ArrayBuffer | Uint8Array, what: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (error) {
    throw compileError(error, what);
  }
}

function compileError(error: unknown, what: string): Error {
  const message = String((error as Error).message ?? error).replace(/[.\s]+$/, '');
  // workerd: "Wasm code generation disallowed by embedder"; Chromium under a Content-Security-Policy: "... violates
  // the following Content Security policy directive because 'unsafe-eval' is not an allowed source ..."; Firefox:
  // "call to WebAssembly.compile() blocked by CSP". Browsers refuse streamed compilation too.
  const refused = /disallowed|blocked by CSP|content security/i.test(message);
  const hint = refused
    ? '; in Cloudflare Workers, import ddpm-wasm/ddpm.wasm as a module and pass it, init(wasmModule); in a page, ' +
      "allow 'wasm-unsafe-eval' in the script-src of its Content-Security-Policy"
    : '';
  return new Error(`ddpm-wasm: init() could not compile ${what}: ${message}${hint}`);
}

/** Throws unless `module` has every export the library calls and imports nothing but AssemblyScript's abort. */
export function checkModule(module: WebAssembly.Module, what: string): void {
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = CORE_EXPORTS.filter((name) => !exports.has(name));
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`).filter((name) => !ALLOWED_IMPORTS.has(name));
  if (missing.length === 0 && imports.length === 0) return;
  const list = (names: readonly string[]) => names.slice(0, 4).join(', ') + (names.length > 4 ? `, ... (${names.length} in all)` : '');
  const others = [...exports].filter((name) => !CORE_EXPORTS.includes(name));
  const problems = [
    missing.length > 0 ? `it lacks ${missing.length} of the core's ${CORE_EXPORTS.length} exports (${list(missing)})` : '',
    missing.length > 0 && others.length > 0 ? `and exports ${list(others)} instead` : '',
    imports.length > 0 ? `${missing.length > 0 ? 'and ' : 'it '}imports ${list(imports)}, which the core does not` : '',
  ].filter(Boolean).join(' ');
  throw new Error(`ddpm-wasm: init() was given ${what}, which is not this version's core: ${problems}; ` +
    'pass ddpm-wasm/ddpm.wasm from the same version of the package');
}
