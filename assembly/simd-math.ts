// Vectorised float32 math for the kernels: e^x and the logistic sigmoid on four lanes at once, built only from
// operations whose results IEEE 754 and the WebAssembly spec fix exactly (f32x4 add, sub, mul, div, pmin, pmax;
// i32x4 add, sub, shifts; bit reinterpretation). Every engine computes the same bits; nothing is fused or relaxed.
//
//   e^x = 2^k · e^r,   k = round(x · log2 e),   r = x − k·LN2_HI − k·LN2_LO   (Cody–Waite, |r| <= ln2/2 + tiny)
//   e^r = 1 + r + r² · q(r),   q a degree-4 minimax fit to (e^r − 1 − r) / r² on |r| <= 0.3466
//   2^k applied as two exact power-of-two factors 2^(k>>1) · 2^(k − (k>>1)), so that e^x rounds ONCE when it is
//   subnormal (gradual underflow, no flush to zero) and overflows to +Inf only when it really does (k = 128).
//
// Accuracy (test/kernels/simd-math.test.ts, against float64 Math.exp): within 1 ulp of the correctly rounded
// result on the whole float32 line, subnormal results included (there within 1 unit of the subnormal spacing).
// Edges: e^x = +Inf for x > 88.7228 and x = +Inf, 0 for x < −103.97 and x = −Inf, NaN stays NaN (payload not
// portable, as any NaN: see notes/runtimes.md).
//
// The lanes are independent: an element's result does not depend on its lane, its neighbours or n. Kernels
// apply `expf32x4` to the splatted value for scalar tails, so every element of a tensor gets the same bits.
// These helpers take and return v128, so they are not exported to JavaScript (index.ts does not re-export this
// file); elementwise.ts exports test hooks (`vectorExp`, `vectorSigmoid`) that map them over arrays.

// Inputs are clamped to [EXP_MIN_X, EXP_MAX_X] first: below, e^x is under half the smallest subnormal (rounds to
// 0); above, it overflows; in between k stays in [−150, 128], so both scale factors are normal floats.
// @ts-ignore: decorator
@inline const EXP_MIN_X: f32 = -104.0;
// @ts-ignore: decorator
@inline const EXP_MAX_X: f32 = 89.0;
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269502; // 0x3fb8aa3b
// ln 2 = LN2_HI + LN2_LO; LN2_HI has 15 significant bits, so k · LN2_HI is exact for |k| <= 2^9 and
// x − k · LN2_HI is exact (Sterbenz); only k · LN2_LO rounds, by under 2^-36.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693145751953125; // 0x3f317200
// @ts-ignore: decorator
@inline const LN2_LO: f32 = 1.42860677e-6; // 0x35bfbe8e
// Adding 1.5 · 2^23 rounds a float of magnitude < 2^22 to an integer (ties to even), and the sum's low bits then
// hold that integer: bits(ROUNDER + k) = bits(ROUNDER) + k.
// @ts-ignore: decorator
@inline const ROUNDER: f32 = 12582912.0;
// @ts-ignore: decorator
@inline const ROUNDER_BITS: i32 = 0x4b400000;
// q(r) = Q0 + r·(Q1 + r·(Q2 + r·(Q3 + r·Q4))): Remez on |r| <= 0.3466, relative error of e^r under 0.07 · 2^-24
// with these float32 coefficients (scratch fit; Taylor would be 1/2, 1/6, 1/24, 1/120, 1/720).
// @ts-ignore: decorator
@inline const Q0: f32 = 0.499999940; // 0x3efffffe
// @ts-ignore: decorator
@inline const Q1: f32 = 0.166665211; // 0x3e2aaa49
// @ts-ignore: decorator
@inline const Q2: f32 = 0.0416683890; // 0x3d2aac79
// @ts-ignore: decorator
@inline const Q3: f32 = 0.00836871564; // 0x3c091cf0
// @ts-ignore: decorator
@inline const Q4: f32 = 0.00138146023; // 0x3ab5121d

/** e^x in each lane, within 1 ulp of the correctly rounded result; see the top of the file for the edges. */
// @ts-ignore: decorator
@inline export function expf32x4(x: v128): v128 {
  // pmin/pmax (b < a ? b : a) let a NaN through untouched, and are single instructions on x86 and ARM.
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_MAX_X)), f32x4.splat(EXP_MIN_X));
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(ROUNDER));
  const kf = f32x4.sub(t, f32x4.splat(ROUNDER));
  let r = f32x4.sub(x, f32x4.mul(kf, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(kf, f32x4.splat(LN2_LO)));
  let q = f32x4.add(f32x4.mul(f32x4.splat(Q4), r), f32x4.splat(Q3));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(Q2));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(Q1));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(Q0));
  const er = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r, r), q), r), f32x4.splat(1));
  // 2^k as two factors built in the exponent bits: k1 = k >> 1 and k2 = k − k1 both lie in [−75, 64].
  const k = i32x4.sub(t, i32x4.splat(ROUNDER_BITS));
  const k1 = i32x4.shr_s(k, 1);
  const scale1 = i32x4.shl(i32x4.add(k1, i32x4.splat(127)), 23);
  const scale2 = i32x4.shl(i32x4.add(i32x4.sub(k, k1), i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(er, scale1), scale2);
}

/** 1 / (1 + e^-x) in each lane: exactly 0 for x < −88.72 (e^-x = +Inf), exactly 1 for x > 16.64 (e^-x < 2^-24). */
// @ts-ignore: decorator
@inline export function sigmoidf32x4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, expf32x4(f32x4.neg(x))));
}

/** `expf32x4` on one float (lane 0 of a splat): the same bits the lane would get inside a vector. */
// @ts-ignore: decorator
@inline export function expf32Lane(x: f32): f32 {
  return f32x4.extract_lane(expf32x4(f32x4.splat(x)), 0);
}
