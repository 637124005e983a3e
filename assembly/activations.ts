// The other activations diffusers' resnets accept (act_fn; SiLU is in elementwise.ts), forward and backward:
//
//   relu(x) = x > 0 ? x : 0                     relu'(x) = x > 0 ? 1 : 0   (PyTorch's gradient at 0 is 0 too)
//   gelu(x) = x Φ(x), Φ(x) = (1 + erf(x / √2)) / 2   (exact GELU, PyTorch's default; Hendrycks & Gimpel 2016)
//             gelu'(x) = Φ(x) + x φ(x),  φ(x) = e^(-x²/2) / √(2π)
//   mish(x) = x tanh(softplus(x)) = x n / (n + 2),  n = e (e + 2),  e = e^x   (Misra 2019)
//             mish'(x) = n / (n + 2) + x σ(x) sech²(softplus(x)) = n / (n + 2) + x · 4 e (n + 1) / ((n + 2)² (1 + e))
//
// Φ uses c = erfc(z) / 2 with z = |x| / √2: Φ(x) = 1 - c for x >= 0 and c for x < 0, so neither tail cancels.
// erfc(z) = t e^(-z² + P(t)), t = 1 / (1 + z / 2), with P a degree-9 least-squares fit in t made for this file by
// scripts/fit-erfc.py (the form of Numerical Recipes' erfcc, with its own coefficients). The exponent -z² = -x²/2
// is formed from x (exact in float32) by splitting x into two 12-bit halves, and the rounding of the exponent's
// sum is compensated, so e^(...) does not inherit an error of z²·2^-24 (which reached 2e-6 relative at x = -4.5);
// φ(x) = e^(-x²/2) / √(2π) is formed the same way. Measured on a dense sweep of [-12, 12] against float64: gelu
// within 6.0 ulp (4.1e-7 relative), gelu' within 6.2 ulp of the size of its terms; mish 4.0 ulp, mish' 5.2.
// mish clamps e at x = 20, where n / (n + 2) is 1 in float32, so nothing overflows: the terms stay finite and
// mish(x) = x above 20, mish'(x) = 1 (the true slope differs from 1 by less than 1e-15 there).
//
// The SIMD kernels use simd-math.ts's `expf32x4` (within 1 ulp; tails through the same function on a splat) and
// their scalar twins Mathf.exp, as SiLU's do, so the two agree to a few ulp. relu has no exp: its twins agree bit
// for bit. Legend: n element count. Backward kernels add into dx.
import { expf32x4, onef32x4 } from './simd-math';
import { at } from './reduce';

// erfc's P(t) = P0 + P1 t + ... + P9 t^9 (scripts/fit-erfc.py), and constants.
// @ts-ignore: decorator
@inline const P0: f32 = -1.2654479969017314;
// @ts-ignore: decorator
@inline const P1: f32 = 0.9986327833396812;
// @ts-ignore: decorator
@inline const P2: f32 = 0.3866404121358783;
// @ts-ignore: decorator
@inline const P3: f32 = 0.03460280007381639;
// @ts-ignore: decorator
@inline const P4: f32 = 0.001267586146422833;
// @ts-ignore: decorator
@inline const P5: f32 = -0.08028043173779012;
// @ts-ignore: decorator
@inline const P6: f32 = -0.6962518994693402;
// @ts-ignore: decorator
@inline const P7: f32 = 1.1567337575584529;
// @ts-ignore: decorator
@inline const P8: f32 = -0.6808271779699251;
// @ts-ignore: decorator
@inline const P9: f32 = 0.14493021375582268;
// @ts-ignore: decorator
@inline const SQRT1_2: f32 = 0.7071067811865476;
// @ts-ignore: decorator
@inline const INV_SQRT_2PI: f32 = 0.3989422804014327;
// @ts-ignore: decorator
@inline const MISH_CLAMP: f32 = 20;
/** |x| beyond which e^(-x²/2) is 0 in float32 (e^-162): GELU clamps |x| there, so x² never overflows. */
// @ts-ignore: decorator
@inline const ABS_CLAMP: f32 = 18;
/** Keeps the sign, the exponent and the leading 12 bits of a float32 (11 stored and the implicit one). */
// @ts-ignore: decorator
@inline const SPLIT_MASK: u32 = 0xfffff000;

// ---------------------------------------------------------------------------------------------------------
// ReLU

export function reluForward(y: usize, x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  // pmax(0, x) = 0 < x ? x : 0, the scalar twin's choice for every x (NaN and -0 give 0).
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.pmax(zero, v128.load(at(x, i))));
  for (; i < n; i++) { const v = load<f32>(at(x, i)); store<f32>(at(y, i), v > 0 ? v : 0); }
}

export function reluForwardScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) { const v = load<f32>(at(x, i)); store<f32>(at(y, i), v > 0 ? v : 0); }
}

/** dx += x > 0 ? dy : 0. */
export function reluBackward(dx: usize, dy: usize, x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const pass = v128.bitselect(v128.load(at(dy, i)), zero, f32x4.gt(v128.load(at(x, i)), zero));
    v128.store(at(dx, i), f32x4.add(v128.load(at(dx, i)), pass));
  }
  for (; i < n; i++) store<f32>(at(dx, i), load<f32>(at(dx, i)) + (load<f32>(at(x, i)) > 0 ? load<f32>(at(dy, i)) : 0));
}

export function reluBackwardScalar(dx: usize, dy: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(dx, i), load<f32>(at(dx, i)) + (load<f32>(at(x, i)) > 0 ? load<f32>(at(dy, i)) : 0));
}

// ---------------------------------------------------------------------------------------------------------
// GELU (exact)

export function geluForward(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const v = v128.load(at(x, i)); v128.store(at(y, i), f32x4.mul(v, phiLanes(v))); }
  for (; i < n; i++) { const v = f32x4.splat(load<f32>(at(x, i))); store<f32>(at(y, i), f32x4.extract_lane(f32x4.mul(v, phiLanes(v)), 0)); }
}

export function geluForwardScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) { const v = load<f32>(at(x, i)); store<f32>(at(y, i), v * phi(v)); }
}

/** dx += dy * (Φ(x) + x φ(x)). */
export function geluBackward(dx: usize, dy: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(at(dx, i), f32x4.add(v128.load(at(dx, i)), f32x4.mul(v128.load(at(dy, i)), geluSlopeLanes(v128.load(at(x, i))))));
  }
  for (; i < n; i++) {
    const slope = f32x4.extract_lane(geluSlopeLanes(f32x4.splat(load<f32>(at(x, i)))), 0);
    store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dy, i)) * slope);
  }
}

export function geluBackwardScalar(dx: usize, dy: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(at(x, i));
    const slope = phi(v) + v * (INV_SQRT_2PI * expHalfSquare(Mathf.min(Mathf.abs(v), ABS_CLAMP), 0));
    store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dy, i)) * slope);
  }
}

/** Φ(x) per lane: 1 - c for x >= 0, c for x < 0, c = erfc(|x| / √2) / 2 (see the top of the file). */
// @ts-ignore: decorator
@inline function phiLanes(v: v128): v128 {
  const one = onef32x4(), half = f32x4.splat(0.5);
  const a = f32x4.min(f32x4.abs(v), f32x4.splat(ABS_CLAMP)), z = f32x4.mul(a, f32x4.splat(SQRT1_2));
  const t = f32x4.div(one, f32x4.add(one, f32x4.mul(half, z)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(P9), t), f32x4.splat(P8));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P7));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P6));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P5));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(P0));
  const c = f32x4.mul(half, f32x4.mul(t, expHalfSquareLanes(a, p)));
  return v128.bitselect(f32x4.sub(one, c), c, f32x4.ge(v, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline function geluSlopeLanes(v: v128): v128 {
  const a = f32x4.min(f32x4.abs(v), f32x4.splat(ABS_CLAMP));
  const density = f32x4.mul(f32x4.splat(INV_SQRT_2PI), expHalfSquareLanes(a, f32x4.splat(0)));
  return f32x4.add(phiLanes(v), f32x4.mul(v, density));
}

/**
 * e^(-a²/2 + b) per lane, with -a²/2 carried exactly: a = hi + lo with hi a's leading 12 bits, so hi² and
 * 2·hi·lo + lo² are exact products; the rounding of the final sum is compensated (TwoSum), e^(s + r) = e^s (1 + r).
 */
// @ts-ignore: decorator
@inline function expHalfSquareLanes(a: v128, b: v128): v128 {
  const half = f32x4.splat(0.5);
  const hi = v128.and(a, i32x4.splat(SPLIT_MASK)), lo = f32x4.sub(a, hi);
  const big = f32x4.neg(f32x4.mul(f32x4.mul(hi, hi), half));
  const small = f32x4.sub(b, f32x4.mul(f32x4.add(f32x4.mul(f32x4.add(hi, hi), lo), f32x4.mul(lo, lo)), half));
  const s = f32x4.add(big, small), bb = f32x4.sub(s, big);
  const r = f32x4.add(f32x4.sub(big, f32x4.sub(s, bb)), f32x4.sub(small, bb));
  return f32x4.mul(expf32x4(s), f32x4.add(onef32x4(), r));
}

/** `phiLanes` for one float with Mathf.exp: the same operations in the same order. */
// @ts-ignore: decorator
@inline function phi(v: f32): f32 {
  const a = Mathf.min(Mathf.abs(v), ABS_CLAMP), z = a * SQRT1_2;
  const t: f32 = 1 / (1 + 0.5 * z);
  let p = P9 * t + P8;
  p = p * t + P7;
  p = p * t + P6;
  p = p * t + P5;
  p = p * t + P4;
  p = p * t + P3;
  p = p * t + P2;
  p = p * t + P1;
  p = p * t + P0;
  const c: f32 = 0.5 * (t * expHalfSquare(a, p));
  return v >= 0 ? 1 - c : c;
}

/** `expHalfSquareLanes` for one float with Mathf.exp. */
// @ts-ignore: decorator
@inline function expHalfSquare(a: f32, b: f32): f32 {
  const hi = reinterpret<f32>(reinterpret<u32>(a) & SPLIT_MASK), lo = a - hi;
  const big = -((hi * hi) * 0.5), small = b - (((hi + hi) * lo + lo * lo) * 0.5);
  const s = big + small, bb = s - big;
  const r = (big - (s - bb)) + (small - bb);
  return Mathf.exp(s) * (1 + r);
}

// ---------------------------------------------------------------------------------------------------------
// Mish

export function mishForward(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), mishLanes(v128.load(at(x, i))));
  for (; i < n; i++) store<f32>(at(y, i), f32x4.extract_lane(mishLanes(f32x4.splat(load<f32>(at(x, i)))), 0));
}

export function mishForwardScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(at(x, i));
    const e = Mathf.exp(Mathf.min(v, MISH_CLAMP)), m = e * (e + 2);
    store<f32>(at(y, i), v * (m / (m + 2)));
  }
}

/** dx += dy * mish'(x). */
export function mishBackward(dx: usize, dy: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(at(dx, i), f32x4.add(v128.load(at(dx, i)), f32x4.mul(v128.load(at(dy, i)), mishSlopeLanes(v128.load(at(x, i))))));
  }
  for (; i < n; i++) {
    const slope = f32x4.extract_lane(mishSlopeLanes(f32x4.splat(load<f32>(at(x, i)))), 0);
    store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dy, i)) * slope);
  }
}

export function mishBackwardScalar(dx: usize, dy: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(at(x, i)), clamped = Mathf.min(v, MISH_CLAMP);
    const e = Mathf.exp(clamped), m = e * (e + 2), d = m + 2;
    const slope = m / d + clamped * ((4 * e * (m + 1)) / ((d * d) * (1 + e)));
    store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dy, i)) * slope);
  }
}

// @ts-ignore: decorator
@inline function mishLanes(v: v128): v128 {
  const two = f32x4.splat(2);
  const e = expf32x4(f32x4.pmin(v, f32x4.splat(MISH_CLAMP))), m = f32x4.mul(e, f32x4.add(e, two));
  return f32x4.mul(v, f32x4.div(m, f32x4.add(m, two)));
}

/** mish'(x), with x clamped at 20 in both places it appears (see the top of the file). */
// @ts-ignore: decorator
@inline function mishSlopeLanes(v: v128): v128 {
  const one = onef32x4(), two = f32x4.splat(2);
  const clamped = f32x4.pmin(v, f32x4.splat(MISH_CLAMP));
  const e = expf32x4(clamped), m = f32x4.mul(e, f32x4.add(e, two)), d = f32x4.add(m, two);
  const numerator = f32x4.mul(f32x4.mul(f32x4.splat(4), e), f32x4.add(m, one));
  const sech = f32x4.div(numerator, f32x4.mul(f32x4.mul(d, d), f32x4.add(one, e)));
  return f32x4.add(f32x4.div(m, d), f32x4.mul(clamped, sech));
}
