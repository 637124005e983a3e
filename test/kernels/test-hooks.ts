// The test build (build/test-hooks.wasm, from assembly/test-hooks.ts): kernels' internals that only tests call,
// in a module of their own, so the library's module does not ship them.
import { readFileSync } from 'node:fs';

type Fill = (out: number, n: number, seedLo: number, seedHi: number, offset: number, stream: number) => void;
type Map = (y: number, x: number, n: number) => void;
type Softmax = (p: number, rows: number, T: number, scale: number) => void;

export interface TestHooks {
  memory: WebAssembly.Memory;
  heapBase(): number;
  philox4x32(out: number, c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void;
  randBitsFill: Fill;
  randBitsFillScalar: Fill;
  vectorExp: Map;
  vectorExpScalar: Map;
  vectorSigmoid: Map;
  vectorSigmoidScalar: Map;
  softmaxRowsFour: Softmax;
  softmaxRowsEach: Softmax;
  vectorSilu: Map;
  vectorSilu4: Map;
}

const bytes = readFileSync(new URL('../../build/test-hooks.wasm', import.meta.url));
export const hooks = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as TestHooks;

/**
 * Runs `fn(out, input)` on the module's heap: `outWords` words zeroed for the output, `input`'s 32-bit words copied
 * in; returns the output words.
 */
export function onHeap(outWords: number, fn: (out: number, input: number) => void, input: Uint32Array | Float32Array = new Uint32Array(0)): Uint32Array {
  const inputAt = hooks.heapBase(), outAt = inputAt + input.byteLength;
  const end = outAt + 4 * outWords, size = hooks.memory.buffer.byteLength;
  if (end > size) hooks.memory.grow(Math.ceil((end - size) / 65536));
  new Uint8Array(hooks.memory.buffer, inputAt, input.byteLength).set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  new Uint32Array(hooks.memory.buffer, outAt, outWords).fill(0);
  fn(outAt, inputAt);
  return new Uint32Array(hooks.memory.buffer, outAt, outWords).slice();
}
