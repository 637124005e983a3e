// Vectorised float32 math for the kernels: e^x and the logistic sigmoid on four lanes at once, built only from
// operations whose results IEEE 754 and the WebAssembly spec fix exactly (f32x4 add, sub, mul, div, pmin, pmax;
// i32x4 add, sub, shifts; bit reinterpretation). Every engine computes the same bits; nothing is fused or relaxed.
//
//   e^x = 2^k · e^r,   k = round(x · log2 e),   r = x − k·LN2_HI − k·LN2_LO   (Cody–Waite, |r| <= ln2/2 + tiny)
//   e^r = 1 + r + r² · q(r),   q a degree-4 minimax fit to (e^r − 1 − r) / r² on |r| <= 0.3466
//   2^k applied as two exact power-of-two factors 2^(k>>1) · 2^(k − (k>>1)), so that e^x rounds ONCE when it is
//   subnormal (gradual underflow, no flush to zero) and overflows to +Inf only when it really does (k = 128).
//
// Accuracy against float64 Math.exp, checked on every float32 in [−104, 89] (2.24e9 values; outside, the result
// is exactly 0 or +Inf): at most 0.977 ulp (x = −5.8606462), 99.2% correctly rounded; subnormal results count in
// units of 2^-149. test/kernels/simd-math.test.ts checks a dense sweep, random values and the edges.
// Edges: e^x = +Inf for x > 88.7228 and x = +Inf, 0 for x < −103.97 and x = −Inf, NaN stays NaN (payload not
// portable, as any NaN: see notes/runtimes.md).
//
// The lanes are independent: an element's result does not depend on its lane, its neighbours or n. Kernels
// apply `expf32x4` to the splatted value for scalar tails, so every element of a tensor gets the same bits.
// `expf32x4InRange` is `expf32x4` without its input clamp, for kernels whose inputs are in range already (the
// softmax's): the same bits there.
// `siluStore4` is `siluf32x4` on four vectors with the same steps interleaved: any change to `expf32x4` must be
// made to it too (the test compares their bits).
// These helpers take and return v128, so they are not exported to JavaScript (index.ts does not re-export this
// file); the test build's test-hooks.ts exports `vectorExp`, `vectorSigmoid`, `vectorSilu` and `vectorSilu4`, which
// map them over arrays.

// The constants sit in a static table read with v128.load32_splat rather than written as v128.const: V8 builds
// each v128.const from two immediates (three instructions per use inside a loop), which made e^x about 2x slower
// in Deno's V8; a broadcast load is one instruction. Either way the values, hence the results, are the same.
// Inputs are clamped to [EXP_MIN_X, EXP_MAX_X] first: below, e^x is under half the smallest subnormal (rounds to
// 0); above, it overflows; in between k stays in [−150, 128], so both scale factors are normal floats.
// LOG2E is log2 e rounded to float32. ln 2 = LN2_HI + LN2_LO: LN2_HI has 15 significant bits, so k · LN2_HI is
// exact for |k| <= 2^9 and x − k · LN2_HI is exact (Sterbenz); only k · LN2_LO rounds, by under 2^-36.
// Adding ROUNDER = 1.5 · 2^23 rounds a float of magnitude < 2^22 to an integer k (ties to even), and the sum's
// bits are then bits(ROUNDER) + k.
// q(r) = Q0 + r·(Q1 + r·(Q2 + r·(Q3 + r·Q4))) is a Remez fit on |r| <= 0.3466 (Taylor would be 1/2, 1/6, 1/24,
// 1/120, 1/720); with these float32 coefficients the relative error of 1 + r + r²·q(r) is under 0.07 · 2^-24.
const EXP_TABLE = memory.data<f32>([
  89.0, -104.0, //                EXP_MAX_X, EXP_MIN_X
  1.44269502, 12582912.0, //      LOG2E (0x3fb8aa3b), ROUNDER
  0.693145751953125, 1.42860677e-6, // LN2_HI (0x3f317200), LN2_LO (0x35bfbe8e)
  0.00138146023, 0.00836871564, 0.0416683890, 0.166665211, 0.499999940, // Q4..Q0 (0x3ab5121d 0x3c091cf0
  1.0, //                                                                  0x3d2aac79 0x3e2aaa49 0x3efffffe)
], 16);
// bits(ROUNDER) − 254: t_bits − EXP_BIAS_OFFSET = k + 254, so ((k + 254) >> 1) << 23 is 2^(k >> 1) as float bits.
const EXP_BIAS_OFFSET = memory.data<i32>([0x4b400000 - 254], 16);

// @ts-ignore: decorator
@inline const EXP_MAX_X = 0;
// @ts-ignore: decorator
@inline const EXP_MIN_X = 1;
// @ts-ignore: decorator
@inline const LOG2E = 2;
// @ts-ignore: decorator
@inline const ROUNDER = 3;
// @ts-ignore: decorator
@inline const LN2_HI = 4;
// @ts-ignore: decorator
@inline const LN2_LO = 5;
// @ts-ignore: decorator
@inline const Q4 = 6;
// @ts-ignore: decorator
@inline const Q3 = 7;
// @ts-ignore: decorator
@inline const Q2 = 8;
// @ts-ignore: decorator
@inline const Q1 = 9;
// @ts-ignore: decorator
@inline const Q0 = 10;
// @ts-ignore: decorator
@inline const ONE = 11;

/** Entry `index` of EXP_TABLE in all four lanes. */
// @ts-ignore: decorator
@inline function constant(index: i32): v128 { return v128.load32_splat(EXP_TABLE + (<usize>index << 2)); }

/** 1.0 in all four lanes, read like the other constants (cheaper than a v128.const in V8 loops). */
// @ts-ignore: decorator
@inline export function onef32x4(): v128 { return constant(ONE); }

/** e^x in each lane, within 1 ulp of the correctly rounded result; see the top of the file for the edges. */
// @ts-ignore: decorator
@inline export function expf32x4(x: v128): v128 {
  // pmin/pmax (b < a ? b : a) let a NaN through untouched, and are single instructions on x86 and ARM.
  return expf32x4InRange(f32x4.pmax(f32x4.pmin(x, constant(EXP_MAX_X)), constant(EXP_MIN_X)));
}

/**
 * `expf32x4` for lanes already in [−104, 89] (or NaN), where its clamp changes nothing: the same bits, two
 * operations fewer.
 */
// @ts-ignore: decorator
@inline export function expf32x4InRange(x: v128): v128 {
  const t = f32x4.add(f32x4.mul(x, constant(LOG2E)), constant(ROUNDER));
  const kf = f32x4.sub(t, constant(ROUNDER));
  let r = f32x4.sub(x, f32x4.mul(kf, constant(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(kf, constant(LN2_LO)));
  let q = f32x4.add(f32x4.mul(constant(Q4), r), constant(Q3));
  q = f32x4.add(f32x4.mul(q, r), constant(Q2));
  q = f32x4.add(f32x4.mul(q, r), constant(Q1));
  q = f32x4.add(f32x4.mul(q, r), constant(Q0));
  const er = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r, r), q), r), constant(ONE));
  // 2^k as two normal factors built in the exponent bits, 2^k1 and 2^(k − k1) with k1 = k >> 1 (both in
  // [−75, 64]), so a subnormal or overflowing result is rounded once, by the last multiply. k − k1 is k1 + (k & 1),
  // and k's parity is t's lowest bit (bits(ROUNDER) is even).
  const scale1 = i32x4.shl(i32x4.shr_s(i32x4.sub(t, v128.load32_splat(EXP_BIAS_OFFSET)), 1), 23);
  const scale2 = i32x4.add(scale1, i32x4.shr_u(i32x4.shl(t, 31), 8));
  return f32x4.mul(f32x4.mul(er, scale1), scale2);
}

/** 1 / (1 + e^-x) in each lane: exactly 0 for x < −88.72 (e^-x = +Inf), exactly 1 for x > 16.64 (e^-x < 2^-24). */
// @ts-ignore: decorator
@inline export function sigmoidf32x4(x: v128): v128 {
  const one = onef32x4();
  return f32x4.div(one, f32x4.add(one, expf32x4(f32x4.neg(x))));
}

/** x / (1 + e^-x) in each lane (SiLU): e^-x = +Inf gives -0 for x < −88.72, never NaN. */
// @ts-ignore: decorator
@inline export function siluf32x4(x: v128): v128 {
  return f32x4.div(x, f32x4.add(onef32x4(), expf32x4(f32x4.neg(x))));
}

/**
 * `siluf32x4` of u0..u3, stored at q, q + 16, q + 32 and q + 48. Each vector goes through exactly the operations of
 * `siluf32x4` and `expf32x4`, in their order and with their operands (the same bits: test/kernels/simd-math.test.ts
 * compares them); only the four chains are interleaved step by step. V8 emits the instructions in about this
 * order, so four independent chains are in flight where one chain at a time left the processor waiting on each
 * step's latency (1.3-1.5x faster in groupNormSiluForward), and each constant is read once for the four.
 */
// @ts-ignore: decorator
@inline export function siluStore4(q: usize, u0: v128, u1: v128, u2: v128, u3: v128): void {
  let c = constant(EXP_MAX_X);
  let x0 = f32x4.pmin(f32x4.neg(u0), c), x1 = f32x4.pmin(f32x4.neg(u1), c);
  let x2 = f32x4.pmin(f32x4.neg(u2), c), x3 = f32x4.pmin(f32x4.neg(u3), c);
  c = constant(EXP_MIN_X);
  x0 = f32x4.pmax(x0, c); x1 = f32x4.pmax(x1, c); x2 = f32x4.pmax(x2, c); x3 = f32x4.pmax(x3, c);
  c = constant(LOG2E);
  const rounder = constant(ROUNDER);
  const t0 = f32x4.add(f32x4.mul(x0, c), rounder), t1 = f32x4.add(f32x4.mul(x1, c), rounder);
  const t2 = f32x4.add(f32x4.mul(x2, c), rounder), t3 = f32x4.add(f32x4.mul(x3, c), rounder);
  const k0 = f32x4.sub(t0, rounder), k1 = f32x4.sub(t1, rounder), k2 = f32x4.sub(t2, rounder), k3 = f32x4.sub(t3, rounder);
  c = constant(LN2_HI);
  let r0 = f32x4.sub(x0, f32x4.mul(k0, c)), r1 = f32x4.sub(x1, f32x4.mul(k1, c));
  let r2 = f32x4.sub(x2, f32x4.mul(k2, c)), r3 = f32x4.sub(x3, f32x4.mul(k3, c));
  c = constant(LN2_LO);
  r0 = f32x4.sub(r0, f32x4.mul(k0, c)); r1 = f32x4.sub(r1, f32x4.mul(k1, c));
  r2 = f32x4.sub(r2, f32x4.mul(k2, c)); r3 = f32x4.sub(r3, f32x4.mul(k3, c));
  c = constant(Q4);
  const q3 = constant(Q3);
  let p0 = f32x4.add(f32x4.mul(c, r0), q3), p1 = f32x4.add(f32x4.mul(c, r1), q3);
  let p2 = f32x4.add(f32x4.mul(c, r2), q3), p3 = f32x4.add(f32x4.mul(c, r3), q3);
  c = constant(Q2);
  p0 = f32x4.add(f32x4.mul(p0, r0), c); p1 = f32x4.add(f32x4.mul(p1, r1), c);
  p2 = f32x4.add(f32x4.mul(p2, r2), c); p3 = f32x4.add(f32x4.mul(p3, r3), c);
  c = constant(Q1);
  p0 = f32x4.add(f32x4.mul(p0, r0), c); p1 = f32x4.add(f32x4.mul(p1, r1), c);
  p2 = f32x4.add(f32x4.mul(p2, r2), c); p3 = f32x4.add(f32x4.mul(p3, r3), c);
  c = constant(Q0);
  p0 = f32x4.add(f32x4.mul(p0, r0), c); p1 = f32x4.add(f32x4.mul(p1, r1), c);
  p2 = f32x4.add(f32x4.mul(p2, r2), c); p3 = f32x4.add(f32x4.mul(p3, r3), c);
  const one = constant(ONE);
  const e0 = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r0, r0), p0), r0), one);
  const e1 = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r1, r1), p1), r1), one);
  const e2 = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r2, r2), p2), r2), one);
  const e3 = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r3, r3), p3), r3), one);
  const bias = v128.load32_splat(EXP_BIAS_OFFSET);
  const s0 = i32x4.shl(i32x4.shr_s(i32x4.sub(t0, bias), 1), 23), s1 = i32x4.shl(i32x4.shr_s(i32x4.sub(t1, bias), 1), 23);
  const s2 = i32x4.shl(i32x4.shr_s(i32x4.sub(t2, bias), 1), 23), s3 = i32x4.shl(i32x4.shr_s(i32x4.sub(t3, bias), 1), 23);
  const z0 = i32x4.add(s0, i32x4.shr_u(i32x4.shl(t0, 31), 8)), z1 = i32x4.add(s1, i32x4.shr_u(i32x4.shl(t1, 31), 8));
  const z2 = i32x4.add(s2, i32x4.shr_u(i32x4.shl(t2, 31), 8)), z3 = i32x4.add(s3, i32x4.shr_u(i32x4.shl(t3, 31), 8));
  v128.store(q, f32x4.div(u0, f32x4.add(one, f32x4.mul(f32x4.mul(e0, s0), z0))));
  v128.store(q, f32x4.div(u1, f32x4.add(one, f32x4.mul(f32x4.mul(e1, s1), z1))), 16);
  v128.store(q, f32x4.div(u2, f32x4.add(one, f32x4.mul(f32x4.mul(e2, s2), z2))), 32);
  v128.store(q, f32x4.div(u3, f32x4.add(one, f32x4.mul(f32x4.mul(e3, s3), z3))), 48);
}

/** `expf32x4` on one float (lane 0 of a splat): the same bits the lane would get inside a vector. */
// @ts-ignore: decorator
@inline export function expf32Lane(x: f32): f32 {
  return f32x4.extract_lane(expf32x4(f32x4.splat(x)), 0);
}
