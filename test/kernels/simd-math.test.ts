/**
 * assembly/simd-math.ts: the vectorised e^x, sigmoid and SiLU, through the test build's `vectorExp` / `vectorSigmoid`
 * (assembly/test-hooks.ts), against float64 Math.exp. Errors are in ulps of the float32 binade holding the exact
 * value (a subnormal result counts in units of 2^-149, and +Inf counts as 2^128).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededFloats } from '../helpers.ts';
import { hooks, onHeap } from './test-hooks.ts';

const bitsOf = (v: number): number => new Int32Array(Float32Array.of(v).buffer)[0];
/** Distance in representable float32 steps (bit patterns ordered as integers; -0 and +0 are one value). */
const ulpDistance = (a: number, b: number): number => {
  const ord = (v: number) => { const b = bitsOf(v); return b < 0 ? -(b & 0x7fffffff) : b; };
  return Math.abs(ord(a) - ord(b));
};
/** The ulp of the float32 binade holding |v| (v exact, float64). */
function ulpOf(v: number): number {
  v = Math.abs(v);
  if (v < 2 ** -126) return 2 ** -149;
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  if (2 ** (e + 1) <= v) e++;
  return 2 ** (Math.min(e, 127) - 23);
}
/** Error of a float32 result y against the exact value ref, in ulps (y = +Inf counts as 2^128). */
const ulpError = (y: number, ref: number): number =>
  y === Infinity ? (ref >= 2 ** 128 ? 0 : (2 ** 128 - ref) / 2 ** 104) : Math.abs(y - ref) / ulpOf(ref);

/** Runs a test hook on xs; returns its float32 outputs. */
function apply(name: 'vectorExp' | 'vectorExpScalar' | 'vectorSigmoid' | 'vectorSigmoidScalar' | 'vectorSilu' | 'vectorSilu4',
  xs: Float32Array): Float32Array {
  const ys = onHeap(xs.length, (y, x) => hooks[name](y, x, xs.length), xs);
  return new Float32Array(ys.buffer);
}

/** Worst error of `ys` against `ref` in ulps, with the argument where it happens. */
function worstError(xs: Float32Array, ys: Float32Array, ref: (x: number) => number): { ulps: number; at: number } {
  let ulps = 0, at = NaN;
  for (let i = 0; i < xs.length; i++) {
    const e = ulpError(ys[i], ref(xs[i]));
    if (!(e <= ulps)) { ulps = e; at = xs[i]; }
  }
  return { ulps, at };
}

/** Every float32 from `from` upwards (count of them, by bit pattern: negative `from` walks towards -0). */
function consecutive(from: number, count: number): Float32Array {
  const bits = new Int32Array(count), b0 = bitsOf(from);
  for (let i = 0; i < count; i++) bits[i] = b0 < 0 ? b0 - i : b0 + i;
  return new Float32Array(bits.buffer);
}

/** A dense sweep of [lo, hi] plus random float32 bit patterns inside it. */
function sweep(lo: number, hi: number, steps: number, randoms: number, seed: number): Float32Array {
  const xs = new Float32Array(steps + randoms);
  for (let i = 0; i < steps; i++) xs[i] = lo + ((hi - lo) * i) / (steps - 1);
  // Random bit patterns: uniform over the float32 values (so tiny |x| are well represented), rejected if outside.
  const u = seededFloats(4 * randoms, seed), view = new Int32Array(1), f = new Float32Array(view.buffer);
  for (let i = 0, j = 0; i < randoms; j++) {
    view[0] = Math.floor((u[j % u.length] + 1) * 2 ** 31) | 0;
    if (f[0] >= lo && f[0] <= hi) xs[steps + i++] = f[0];
  }
  return xs;
}

// ---------------------------------------------------------------- e^x

test('expf32x4 is within 1 ulp of float64 exp over [-104, 89] (dense sweep and random float32 values)', () => {
  const xs = sweep(-104, 89, 400_001, 200_000, 1);
  const { ulps, at } = worstError(xs, apply('vectorExp', xs), Math.exp);
  assert.ok(ulps <= 1, `worst ${ulps.toFixed(3)} ulp at x = ${at}`);
  // The scalar twin is AssemblyScript's Mathf.exp (correctly rounded but for rare cases): the two stay 1 step apart.
  const ys = apply('vectorExp', xs), zs = apply('vectorExpScalar', xs);
  let far = 0;
  for (let i = 0; i < xs.length; i++) far = Math.max(far, ulpDistance(ys[i], zs[i]));
  assert.ok(far <= 1, `SIMD and Mathf.exp ${far} steps apart`);
});

test('expf32x4 at the edges: overflow near 88.72, the subnormal range, underflow to 0 near -103.97', () => {
  for (const [from, what] of [[88.72, 'overflow'], [-87.34, 'normal to subnormal'], [-103.96, 'underflow to 0']] as const) {
    const xs = consecutive(from, 100_000), ys = apply('vectorExp', xs);
    const { ulps, at } = worstError(xs, ys, Math.exp);
    assert.ok(ulps <= 1, `${what}: worst ${ulps.toFixed(3)} ulp at x = ${at}`);
    for (let i = 0; i < xs.length; i++) {
      const ref = Math.exp(xs[i]);
      // Clearly past the thresholds the result is exactly +Inf or exactly 0, never a huge finite or a lone subnormal.
      if (ref >= 2 ** 128 * (1 + 2 ** -20)) assert.is(ys[i], Infinity, `exp(${xs[i]})`);
      if (ref <= 2 ** -151) assert.is(ys[i], 0, `exp(${xs[i]})`);
    }
  }
  // Gradual underflow, not a flush to zero: exp(-100) = 3.72e-44 is a subnormal float32.
  assert.ok(ulpError(apply('vectorExp', Float32Array.of(-100))[0], Math.exp(-100)) <= 1);
});

test('expf32x4 special values: e^0 = 1, e^±Inf = Inf / 0, e^NaN = NaN, tiny |x| gives 1, clamped ends', () => {
  const xs = Float32Array.of(0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 2 ** -26, 89, 1e4, 3e38, -104, -1e4, -3e38, 1);
  const ys = apply('vectorExp', xs);
  assert.equal(Array.from(ys.subarray(0, 4)), [1, 1, Infinity, 0]);
  assert.ok(Number.isNaN(ys[4]), 'NaN stays NaN');
  assert.equal(Array.from(ys.subarray(5, 8)), [1, 1, 1]);
  assert.equal(Array.from(ys.subarray(8, 14)), [Infinity, Infinity, Infinity, 0, 0, 0]);
  assert.is(ys[14], Math.fround(Math.E));
});

test('expf32x4: an element\'s bits do not depend on its lane, the tail, or the array length', () => {
  const xs = sweep(-20, 20, 1031, 0, 0), whole = apply('vectorExp', xs);
  for (const offset of [1, 2, 3]) {
    const shifted = apply('vectorExp', xs.subarray(offset));
    for (let i = 0; i < shifted.length; i++) assert.is(bitsOf(shifted[i]), bitsOf(whole[i + offset]), `x = ${xs[i + offset]}`);
  }
  for (const i of [0, 1, 2, 3, 517, 1030]) assert.is(bitsOf(apply('vectorExp', xs.subarray(i, i + 1))[0]), bitsOf(whole[i]));
});

// ---------------------------------------------------------------- sigmoid

test('sigmoidf32x4 is within 3 ulp of float64 1 / (1 + e^-x) over [-88, 120]; exactly 0 and 1 at the ends', () => {
  const xs = sweep(-88, 120, 400_001, 100_000, 2), ys = apply('vectorSigmoid', xs);
  const ref = (x: number) => 1 / (1 + Math.exp(-x));
  // 1 + e^-x rounds once more, then the division: about 2.5 ulp at worst (x near -16.6, where e^-x ~ 2^24).
  const { ulps, at } = worstError(xs, ys, ref);
  assert.ok(ulps <= 3, `worst ${ulps.toFixed(3)} ulp at x = ${at}`);
  const zs = apply('vectorSigmoidScalar', xs);
  let far = 0;
  for (let i = 0; i < xs.length; i++) far = Math.max(far, ulpDistance(ys[i], zs[i]));
  assert.ok(far <= 6, `SIMD and scalar twin ${far} steps apart`);
  const ends = apply('vectorSigmoid', Float32Array.of(-88.8, -1000, -Infinity, 16.64, 17, 1000, Infinity));
  assert.equal(Array.from(ends), [0, 0, 0, 1, 1, 1, 1]);
});

// ---------------------------------------------------------------- SiLU

test('siluStore4 (four interleaved chains) has the bits of siluf32x4, over the clamps, subnormals, +-0, +-Inf and NaN', () => {
  // Every range of expf32x4's steps: both clamps (|x| past 88.7 and 104), e^-x subnormal or overflowing, tiny |x|.
  const specials = [0, -0, Infinity, -Infinity, NaN, 88.8, -88.8, 103.9, 104.5, -104.5, 1e-30, -1e-30, 1e-45, 16.64, -16.64, 1000];
  const xs = new Float32Array(16 * Math.ceil((300_001 + 100_000 + specials.length) / 16));
  xs.set(sweep(-120, 120, 300_001, 100_000, 3));
  xs.set(specials, 400_001);
  const one = apply('vectorSilu', xs), four = apply('vectorSilu4', xs);
  for (let i = 0; i < xs.length; i++) {
    // NaN's payload is not portable (notes/runtimes.md): a NaN must stay a NaN; every other result bit for bit.
    if (Number.isNaN(one[i])) assert.ok(Number.isNaN(four[i]), `x = ${xs[i]}: NaN expected, got ${four[i]}`);
    else assert.is(bitsOf(four[i]), bitsOf(one[i]), `x = ${xs[i]}: ${four[i]} vs siluf32x4's ${one[i]}`);
  }
  assert.ok(Number.isNaN(four[400_001 + 4]) && Object.is(four[400_001 + 1], -0), 'NaN stays NaN, silu(-0) = -0');
});

test.run();
