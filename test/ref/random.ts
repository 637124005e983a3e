/**
 * Reference for the counter-based generator (assembly/random.ts), in plain TypeScript: Philox4x32-10 with BigInt
 * products (slow, obviously right), the addressing of elements (block floor(i / 4), lane i % 4), and the
 * conversions (Box-Muller in float64 with JavaScript's Math, so within an ulp or so of the kernel's; the uniform
 * and integer conversions exactly).
 */
const M0 = 0xd2511f53n, M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9, W1 = 0xbb67ae85;
const MASK = 0xffffffffn;

/** Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1): four u32 words. */
export function philoxRef(counter: readonly number[], key: readonly number[]): number[] {
  let [c0, c1, c2, c3] = counter.map(BigInt);
  let [k0, k1] = key.map((k) => k >>> 0);
  for (let round = 0; round < 10; round++) {
    if (round > 0) { k0 = (k0 + W0) >>> 0; k1 = (k1 + W1) >>> 0; }
    const p0 = M0 * c0, p1 = M1 * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ BigInt(k0), p1 & MASK, (p0 >> 32n) ^ c3 ^ BigInt(k1), p0 & MASK];
  }
  return [c0, c1, c2, c3].map(Number);
}

/** The Philox block (4 words) holding element `index` of a stream; seed below 2^53, index below 2^53. */
export function blockOf(seed: number, stream: number, index: number): number[] {
  const block = Math.floor(index / 4);
  return philoxRef([block % 2 ** 32, Math.floor(block / 2 ** 32), stream, 0], [seed % 2 ** 32, Math.floor(seed / 2 ** 32)]);
}

/** Raw 32-bit words offset .. offset+count-1 of a stream. */
export function bitsRef(seed: number, stream: number, offset: number, count: number): number[] {
  return Array.from({ length: count }, (_, j) => blockOf(seed, stream, offset + j)[(offset + j) % 4]);
}

/** Standard normals offset .. offset+count-1 of a stream, in float64 (Box-Muller on lane pairs (0, 1), (2, 3)). */
export function normalsRef(seed: number, stream: number, offset: number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const index = offset + j, words = blockOf(seed, stream, index), a = index % 4 & ~1;
    const r = Math.sqrt(-2 * Math.log((words[a] + 1) / 2 ** 32));
    const theta = 2 * Math.PI * (words[a + 1] / 2 ** 32);
    out[j] = index % 2 === 0 ? r * Math.cos(theta) : r * Math.sin(theta);
  }
  return out;
}

/** word · 2^-32 rounded toward zero to float32 (exact). */
export function uniformOfWord(word: number): number {
  const x = word / 2 ** 32;
  const f = Math.fround(x);
  if (f <= x) return f;
  // Rounded up: step one float32 down (x > 0 here, so the bit pattern minus one is the next float32 below).
  const bits = new Float32Array([f]);
  new Uint32Array(bits.buffer)[0] -= 1;
  return bits[0];
}

/** floor(word · high / 2^32), exactly (BigInt). */
export function intOfWord(word: number, high: number): number {
  return Number((BigInt(word) * BigInt(high)) >> 32n);
}
