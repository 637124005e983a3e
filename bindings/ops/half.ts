/**
 * Half-precision storage (assembly/half.ts): float32 values to and from the little-endian bytes of IEEE binary16
 * ('F16') and bfloat16 ('BF16'), as safetensors files hold them. Narrowing rounds to nearest, ties to even;
 * widening is exact. The values pass through WebAssembly memory in chunks, so converting a large model needs
 * only a few megabytes of it at a time.
 */
import { wasm } from '../core/instance.ts';
import { Tensor } from '../tensor.ts';

/** The 2-byte formats: IEEE binary16 and bfloat16 (safetensors' dtype names). */
export type HalfDtype = 'F16' | 'BF16';
export const HALF_DTYPES: readonly HalfDtype[] = ['F16', 'BF16'];

/** Values converted per kernel call (4 MiB of float32). */
const CHUNK = 1 << 20;

/** The little-endian bytes (2 per value) of `values` rounded to `dtype`. */
export function toHalfBytes(values: Float32Array, dtype: HalfDtype): Uint8Array {
  checkDtype('toHalfBytes', dtype);
  if (!(values instanceof Float32Array)) throw new Error(`toHalfBytes: values must be a Float32Array, got ${typeof values}`);
  const out = new Uint8Array(values.length * 2);
  const kernel = dtype === 'F16' ? wasm().float32ToFloat16 : wasm().float32ToBfloat16;
  chunked(values.length, (start, n, floats, halves) => {
    new Float32Array(wasm().memory.buffer, floats, n).set(values.subarray(start, start + n));
    kernel(halves, floats, n);
    out.set(new Uint8Array(wasm().memory.buffer, halves, n * 2), start * 2);
  });
  return out;
}

/** The float32 values of the `dtype` values held little-endian in `bytes` (2 bytes each). */
export function fromHalfBytes(bytes: Uint8Array, dtype: HalfDtype): Float32Array {
  checkDtype('fromHalfBytes', dtype);
  if (!(bytes instanceof Uint8Array) || bytes.length % 2 !== 0) {
    throw new Error(`fromHalfBytes: bytes must be a Uint8Array of even length (2 bytes per value), got ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes}`);
  }
  const count = bytes.length / 2;
  const out = new Float32Array(count);
  const kernel = dtype === 'F16' ? wasm().float16ToFloat32 : wasm().bfloat16ToFloat32;
  chunked(count, (start, n, floats, halves) => {
    new Uint8Array(wasm().memory.buffer, halves, n * 2).set(bytes.subarray(start * 2, (start + n) * 2));
    kernel(floats, halves, n);
    out.set(new Float32Array(wasm().memory.buffer, floats, n), start);
  });
  return out;
}

/** Calls `body` for each chunk of `count` values with wasm buffers for its float32 and 2-byte forms. */
function chunked(count: number, body: (start: number, n: number, floats: number, halves: number) => void): void {
  const size = Math.max(1, Math.min(CHUNK, count));
  const floats = new Tensor([size]), halves = new Tensor([Math.ceil(size / 2)]);
  try {
    for (let start = 0; start < count; start += size) body(start, Math.min(size, count - start), floats.ptr, halves.ptr);
  } finally {
    floats.dispose();
    halves.dispose();
  }
}

function checkDtype(op: string, dtype: unknown): void {
  if (!HALF_DTYPES.includes(dtype as HalfDtype)) throw new Error(`${op}: dtype must be one of ${HALF_DTYPES.join(', ')}, got ${String(dtype)}`);
}
