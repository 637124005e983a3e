/**
 * Random numbers from the counter-based generator (assembly/random.ts: Philox4x32-10, Box-Muller normals).
 *
 * Every number has an address: (seed, stream, index). `offset` is the index of the first number an op takes,
 * so any slice of any stream can be regenerated on its own, in any runtime, bit for bit: `randn([n], { seed,
 * offset: k })` equals elements k .. k+n-1 of `randn([k + n], { seed })`. Streams separate independent uses
 * (parameter initialisation, training noise, timesteps, sampling noise); offsets separate draws within one.
 * To draw fresh numbers, advance `offset` by the number of elements taken, or change `stream`.
 */
import { wasm } from '../core/instance.ts';
import { Tensor, checkShape, type Shape } from '../tensor.ts';
import { intArg, tensorArg } from './check.ts';

/** Where the numbers come from. */
export interface RandomOptions {
  /** Required: a non-negative safe integer (0 <= seed <= 2^53 - 1). The Philox key is its low and high 32 bits. */
  seed: number;
  /** Index in the stream of the first number taken: a non-negative safe integer. Default 0. */
  offset?: number;
  /** Which stream: an integer in [0, 2^32). Default 0. */
  stream?: number;
}

/** A tensor of standard normal numbers (mean 0, variance 1), numbers offset .. offset+size-1 of the stream. */
export function randn(shape: Shape, options: RandomOptions): Tensor {
  const address = randomAddress('randn', options);
  const out = new Tensor(checkShape(shape, 'randn'));
  wasm().randnFill(out.ptr, out.size, address.seedLo, address.seedHi, address.offset, address.stream);
  return out;
}

/** Fills `tensor` in place with standard normal numbers (as `randn` of its shape would); returns it. */
export function randnInto(tensor: Tensor, options: RandomOptions): Tensor {
  tensorArg('randnInto', 'tensor', tensor);
  const address = randomAddress('randnInto', options);
  wasm().randnFill(tensor.ptr, tensor.size, address.seedLo, address.seedHi, address.offset, address.stream);
  return tensor;
}

/**
 * A tensor of uniform numbers in [0, 1): each is a 32-bit word times 2^-32, rounded toward zero to float32, so
 * the largest is 1 - 2^-24 and 1 never occurs.
 */
export function randUniform(shape: Shape, options: RandomOptions): Tensor {
  const address = randomAddress('randUniform', options);
  const out = new Tensor(checkShape(shape, 'randUniform'));
  wasm().randUniformFill(out.ptr, out.size, address.seedLo, address.seedHi, address.offset, address.stream);
  return out;
}

/**
 * `count` integers in [0, high) (e.g. diffusion timesteps): floor(word · high / 2^32) of each 32-bit word, whose
 * bias is below high / 2^32 per value. `high` is an integer in [1, 2^31].
 */
export function randInt(count: number, high: number, options: RandomOptions): Int32Array {
  intArg('randInt', 'count', count, 0);
  intArg('randInt', 'high', high, 1);
  if (high > 2 ** 31) throw new Error(`randInt: high must be at most 2^31 (the values are int32), got ${high}`);
  const address = randomAddress('randInt', options);
  // The kernel writes int32 words; a float32 tensor is just the 4-byte-per-element scratch they go through.
  const scratch = new Tensor([count]);
  try {
    wasm().randIntFill(scratch.ptr, count, address.seedLo, address.seedHi, address.offset, address.stream, high);
    return new Int32Array(wasm().memory.buffer, scratch.ptr, count).slice();
  } finally {
    scratch.dispose();
  }
}

const OPTION_NAMES = ['seed', 'offset', 'stream'];

/** Validates the options and splits the seed into two u32 words (integer arithmetic: exact below 2^53). */
function randomAddress(op: string, options: RandomOptions) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(`${op}: options must be an object { seed, offset?, stream? }, got ${options === null ? 'null' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new Error(`${op}: unknown option '${key}' (allowed: ${OPTION_NAMES.join(', ')})`);
  }
  const { seed, offset = 0, stream = 0 } = options;
  const safe = (name: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new Error(`${op}: options.${name} must be a non-negative safe integer (0 .. 2^53 - 1), got ${show(value)}`);
    }
    return value;
  };
  safe('seed', seed);
  safe('offset', offset);
  if (typeof stream !== 'number' || !Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) {
    throw new Error(`${op}: options.stream must be an integer in [0, 2^32), got ${show(stream)}`);
  }
  // Words >= 2^31 reach the kernel's i32 parameters wrapped modulo 2^32 (ToInt32): the same 32 bits.
  return { seedLo: seed % 2 ** 32, seedHi: Math.floor(seed / 2 ** 32), offset, stream };
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : typeof value === 'number' ? String(value) : value === null ? 'null' : typeof value;
}
