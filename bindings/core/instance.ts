/**
 * Loading the WebAssembly core. The module's bytes are embedded (bindings/core/wasm-bytes.ts, generated at build
 * time), so `init()` needs no file system, network or bundler: it works unchanged in Node, Deno, Bun and browsers.
 */
import type { CoreExports } from './abi.ts';
import { WASM_BASE64 } from './wasm-bytes.ts';

let core: CoreExports | null = null;
let loading: Promise<void> | null = null;

/** Loads and instantiates the core once; later calls return the same promise. */
export function init(): Promise<void> {
  loading ??= instantiate().then((exports) => { core = exports; });
  return loading;
}

/** The instantiated core; throws when `init()` has not finished. */
export function wasm(): CoreExports {
  if (core === null) throw new Error('ddpm-wasm: the WebAssembly core is not loaded: call `await init()` first');
  return core;
}

async function instantiate(): Promise<CoreExports> {
  let memory: WebAssembly.Memory | null = null;
  const imports = {
    env: {
      // AssemblyScript calls abort(message, file, line, column) on a failed assertion or an unreachable.
      abort(message: number, file: number, line: number, column: number): never {
        const text = (ptr: number) => (memory && ptr ? readString(memory, ptr) : '');
        throw new Error(`ddpm-wasm: the WebAssembly core aborted: ${text(message)} at ${text(file)}:${line}:${column}`);
      },
    },
  };
  const { instance } = await WebAssembly.instantiate(decodeBase64(WASM_BASE64), imports);
  const exports = instance.exports as unknown as CoreExports;
  memory = exports.memory;
  return exports;
}

/** Decodes base64 with a plain loop: Node 20 has no Uint8Array.fromBase64, and Buffer is Node-only. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Reads an AssemblyScript string (UTF-16, its byte length stored just before it). */
function readString(memory: WebAssembly.Memory, ptr: number): string {
  const byteLength = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, byteLength >>> 1));
}
