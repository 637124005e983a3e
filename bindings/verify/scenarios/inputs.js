/**
 * Scenario inputs: a tiny integer PRNG (mulberry32, as test/helpers.ts), so inputs are the same bits in every
 * runtime. It only makes inputs: the library's own randomness comes from its seeded ops.
 */

/** A deterministic stream of floats in [-scale, scale). */
export function floats(count, seed, scale = 1) {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    // Exact in every engine: an integer divided by a power of two, times 2, minus 1, times `scale`.
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** A tensor of seeded values in [-scale, scale). */
export function input(lib, shape, seed, scale = 1) {
  return lib.Tensor.from(floats(shape.reduce((a, b) => a * b, 1), seed, scale), shape);
}

/** A tensor of seeded values in [lo, hi), e.g. positive gains or variances. */
export function inputBetween(lib, shape, seed, lo, hi) {
  const values = floats(shape.reduce((a, b) => a * b, 1), seed);
  for (let i = 0; i < values.length; i++) values[i] = lo + (values[i] + 1) * 0.5 * (hi - lo);
  return lib.Tensor.from(values, shape);
}

/** `count` seeded integers in [0, high). */
export function integers(count, seed, high) {
  const values = floats(count, seed);
  return Int32Array.from(values, (v) => Math.min(high - 1, Math.floor((v + 1) * 0.5 * high)));
}

/** A scalar result (a JavaScript number, e.g. a loss) as a one-element float64 output. */
export const scalar = (...values) => Float64Array.from(values);
