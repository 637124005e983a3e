/**
 * Loading the WebAssembly core, instantiated by @assemblyscript/loader. With no argument, `init()` compiles the
 * copy of build/ddpm.wasm embedded in the library (bindings/core/wasm-bytes.ts, generated at build time), which
 * needs no file system, network or bundler: it works unchanged in Node, Deno, Bun and browsers. That copy is
 * imported only by such a call, so a bundle whose code passes its own module (see core/wasm-source.ts: Cloudflare
 * Workers must) leaves the base64 copy (a third larger than the .wasm) in a chunk that is never loaded.
 */
import { instantiateSync } from '@assemblyscript/loader';
import type { CoreExports } from './abi.ts';
import { checkModule, checkSource, compileBytes, compileSource, describeSource, sameSource, type WasmSource } from './wasm-source.ts';

export type { WasmSource } from './wasm-source.ts';

let core: CoreExports | null = null;
let loading: { source: WasmSource | undefined; promise: Promise<void> } | null = null;

/**
 * Loads and instantiates the WebAssembly core; every other function needs it done. `source` (default: the
 * module embedded in the library) is a `WebAssembly.Module`, a `Response` or a promise of one, a `URL`, or the
 * bytes of ddpm-wasm/ddpm.wasm (`ArrayBuffer` or `Uint8Array`).
 *
 * Called again with no argument or the same source (the same object, URL or bytes), it returns the first call's
 * promise. Called again with another source, it rejects: the tensors already made live in the first module's
 * memory. After a failed call, the next one starts afresh.
 */
export function init(source?: WasmSource): Promise<void> {
  if (loading !== null) {
    if (source === undefined || sameSource(loading.source, source)) return loading.promise;
    return Promise.reject(new Error(`ddpm-wasm: init() was already called with ${describeSource(loading.source)}; ` +
      `calling it again with ${describeSource(source)} would swap the WebAssembly core under the tensors that live in it ` +
      '(call init() once, or again with the same source)'));
  }
  try {
    if (source !== undefined) checkSource(source);
  } catch (error) {
    return Promise.reject(error);
  }
  const attempt = {
    source,
    promise: load(source).then(
      (exports) => { core = exports; },
      (error) => {
        if (loading === attempt) loading = null;
        throw error;
      },
    ),
  };
  loading = attempt;
  return attempt.promise;
}

/** The instantiated core; throws when `init()` has not finished. */
export function wasm(): CoreExports {
  if (core === null) throw new Error('ddpm-wasm: the WebAssembly core is not loaded: call `await init()` first');
  return core;
}

async function load(source: WasmSource | undefined): Promise<CoreExports> {
  const what = describeSource(source);
  const module = source === undefined
    ? await compileBytes(decodeBase64((await import('./wasm-bytes.ts')).WASM_BASE64), 'the module embedded in the library')
    : await compileSource(source, what);
  checkModule(module, what);
  let getString: ((ptr: number) => string | null) | null = null;
  const imports = {
    env: {
      // AssemblyScript calls abort(message, file, line, column) on a failed assertion or an unreachable.
      abort(message: number, file: number, line: number, column: number): never {
        const text = (ptr: number) => (getString && ptr ? getString(ptr) ?? '' : '');
        throw new Error(`ddpm-wasm: the WebAssembly core aborted: ${text(message)} at ${text(file)}:${line}:${column}`);
      },
    },
  };
  // The module is compiled already, so instantiating it is quick (the loader's async form would also read the
  // global Response, which Node loads lazily at a cost of about 20 ms).
  const { instance, exports } = instantiateSync(module, imports);
  getString = exports.__getString;
  // The raw exports, not the loader's wrappers (which set an argument count on every call): the kernels are hot.
  return instance.exports as unknown as CoreExports;
}

/** Decodes base64 with a plain loop: Node 20 has no Uint8Array.fromBase64, and Buffer is Node-only. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
