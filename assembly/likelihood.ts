// The likelihood terms of a diffusion model's variational bound (Ho et al. 2020, eq. 5; Nichol & Dhariwal 2021,
// improved-diffusion's losses.py), each reduced per batch item to its mean over the item's M elements:
//
//   normalKL                          KL(N(m1, e^lv1) || N(m2, e^lv2))
//                                     = 0.5 * (-1 + lv2 - lv1 + e^(lv1 - lv2) + (m1 - m2)^2 * e^-lv2)
//   discretizedGaussianLogLikelihood  log P(x's 8-bit bin) under N(m, e^(2 ls)): log(Φ(p) - Φ(q)) with
//                                     p = (x - m + 1/255) e^-ls, q = (x - m - 1/255) e^-ls; log Φ(p) at the bottom
//                                     bin (x < -0.999), log(1 - Φ(q)) at the top one (x > 0.999); every argument of
//                                     log clamped below at 1e-12; Φ(z) ≈ 0.5 (1 + tanh(sqrt(2/π) (z + 0.044715 z³)))
//   gaussianLogLikelihood             log N(x; m, e^(2 ls)) = -0.5 log(2π) - ls - 0.5 ((x - m) e^-ls)^2
//
// and the backward of each with respect to the model's side (m2 and lv2; m and ls), which the hybrid loss of
// improved DDPM needs to learn the variance: given dOut[n] = dL / d out[n], they ADD dOut[n] / M * d term / d input
// into the gradient buffers (a null pointer skips that gradient).
//
// Legend: N batch items, M elements per item; out and dOut hold N f64, every other buffer N * M f32.
//
// Precision and order: every element is promoted to f64 and its term computed in f64, in the order written above,
// with AssemblyScript's own Math.exp / log / tanh (compiled in, so the same everywhere). The SIMD kernels do the
// arithmetic two lanes at a time in f64x2 (the same IEEE operations, so each element's term has the same bits as
// in the scalar twin) and call the transcendental functions lane by lane. Sums, in f64: the SIMD kernels take the
// first M - M % 4 elements four at a time, element i going into accumulator A(i % 4) (held as the f64x2 pairs
// (A0, A1) and (A2, A3)), then add (A0 + A2) + (A1 + A3) and the last M % 4 terms in index order; their scalar
// twins sum in index order. The two agree to f64 rounding; each is a function of M alone, never of N or the batch.

import { at } from './reduce';

// @ts-ignore: decorator
@inline const HALF_LOG_TWO_PI: f64 = 0.9189385332046728; // 0.5 * ln(2π)
// @ts-ignore: decorator
@inline const SQRT_TWO_OVER_PI: f64 = 0.7978845608028654; // sqrt(2 / π)
// @ts-ignore: decorator
@inline const BIN: f64 = 1.0 / 255.0; // half the width of an 8-bit bin of [-1, 1]
// @ts-ignore: decorator
@inline const LOG_FLOOR: f64 = 1e-12;

// @ts-ignore: decorator
@inline function lane(p: usize, i: i32): f64 { return <f64>load<f32>(at(p, i)); }

/** Two f32 at element i as f64x2 (elements i, i + 1). */
// @ts-ignore: decorator
@inline function pair(p: usize, i: i32): v128 { return f64x2.promote_low_f32x4(v128.load64_zero(at(p, i))); }

/** f(lane) for both lanes of an f64x2. */
// @ts-ignore: decorator
@inline function expLanes(v: v128): v128 {
  return f64x2.replace_lane(f64x2.splat(Math.exp(f64x2.extract_lane(v, 0))), 1, Math.exp(f64x2.extract_lane(v, 1)));
}

/** Adds (A0 + A2) + (A1 + A3) of the accumulator pairs (A0, A1) and (A2, A3). */
// @ts-ignore: decorator
@inline function combine(a01: v128, a23: v128): f64 {
  const s = f64x2.add(a01, a23);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

// @ts-ignore: decorator
@inline function storeGradient(p: usize, i: i32, value: f64): void {
  store<f32>(at(p, i), <f32>(<f64>load<f32>(at(p, i)) + value));
}

// ---------------------------------------------------------------------------------------------------------
// KL divergence between diagonal Gaussians

// @ts-ignore: decorator
@inline function klTerm(m1: f64, lv1: f64, m2: f64, lv2: f64): f64 {
  const d = m1 - m2;
  return 0.5 * ((((-1.0 + lv2) - lv1) + Math.exp(lv1 - lv2)) + (d * d) * Math.exp(-lv2));
}

/** The same as klTerm on two lanes: the same operations in the same order. */
// @ts-ignore: decorator
@inline function klLanes(m1: v128, lv1: v128, m2: v128, lv2: v128): v128 {
  const d = f64x2.sub(m1, m2);
  const variance = f64x2.add(f64x2.sub(f64x2.add(f64x2.splat(-1.0), lv2), lv1), expLanes(f64x2.sub(lv1, lv2)));
  return f64x2.mul(f64x2.splat(0.5), f64x2.add(variance, f64x2.mul(f64x2.mul(d, d), expLanes(f64x2.neg(lv2)))));
}

/** out[n] = mean over the item's M elements of KL(N(mean1, e^logVar1) || N(mean2, e^logVar2)), in nats. */
export function normalKL(out: usize, mean1: usize, logVar1: usize, mean2: usize, logVar2: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const base = n * M;
    let a01 = f64x2.splat(0), a23 = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const j = base + i;
      a01 = f64x2.add(a01, klLanes(pair(mean1, j), pair(logVar1, j), pair(mean2, j), pair(logVar2, j)));
      a23 = f64x2.add(a23, klLanes(pair(mean1, j + 2), pair(logVar1, j + 2), pair(mean2, j + 2), pair(logVar2, j + 2)));
    }
    let total = combine(a01, a23);
    for (; i < M; i++) {
      const j = base + i;
      total += klTerm(lane(mean1, j), lane(logVar1, j), lane(mean2, j), lane(logVar2, j));
    }
    store<f64>(out + (<usize>n << 3), M > 0 ? total / <f64>M : 0);
  }
}

export function normalKLScalar(out: usize, mean1: usize, logVar1: usize, mean2: usize, logVar2: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    let total: f64 = 0;
    for (let i = 0; i < M; i++) {
      const j = n * M + i;
      total += klTerm(lane(mean1, j), lane(logVar1, j), lane(mean2, j), lane(logVar2, j));
    }
    store<f64>(out + (<usize>n << 3), M > 0 ? total / <f64>M : 0);
  }
}

/**
 * dMean2 += dOut[n] / M * (m2 - m1) e^-lv2 and dLogVar2 += dOut[n] / M * 0.5 (1 - e^(lv1 - lv2) - (m1 - m2)^2 e^-lv2),
 * the gradients of `normalKL` with respect to the second Gaussian (the model's); either pointer may be 0.
 */
export function normalKLBackward(
  dMean2: usize, dLogVar2: usize, dOut: usize, mean1: usize, logVar1: usize, mean2: usize, logVar2: usize, N: i32, M: i32,
): void {
  for (let n = 0; n < N; n++) {
    const g = f64x2.splat(load<f64>(dOut + (<usize>n << 3)) / <f64>M);
    const base = n * M;
    let i = 0;
    for (; i + 2 <= M; i += 2) {
      const j = base + i;
      const m1 = pair(mean1, j), lv1 = pair(logVar1, j), m2 = pair(mean2, j), lv2 = pair(logVar2, j);
      const d = f64x2.sub(m1, m2), precision = expLanes(f64x2.neg(lv2));
      if (dMean2 != 0) {
        const grad = f64x2.mul(g, f64x2.mul(f64x2.neg(d), precision));
        storeGradient(dMean2, j, f64x2.extract_lane(grad, 0));
        storeGradient(dMean2, j + 1, f64x2.extract_lane(grad, 1));
      }
      if (dLogVar2 != 0) {
        const inner = f64x2.sub(f64x2.sub(f64x2.splat(1.0), expLanes(f64x2.sub(lv1, lv2))), f64x2.mul(f64x2.mul(d, d), precision));
        const grad = f64x2.mul(g, f64x2.mul(f64x2.splat(0.5), inner));
        storeGradient(dLogVar2, j, f64x2.extract_lane(grad, 0));
        storeGradient(dLogVar2, j + 1, f64x2.extract_lane(grad, 1));
      }
    }
    for (; i < M; i++) klGradients(dMean2, dLogVar2, f64x2.extract_lane(g, 0), mean1, logVar1, mean2, logVar2, base + i);
  }
}

export function normalKLBackwardScalar(
  dMean2: usize, dLogVar2: usize, dOut: usize, mean1: usize, logVar1: usize, mean2: usize, logVar2: usize, N: i32, M: i32,
): void {
  for (let n = 0; n < N; n++) {
    const g = load<f64>(dOut + (<usize>n << 3)) / <f64>M;
    for (let i = 0; i < M; i++) klGradients(dMean2, dLogVar2, g, mean1, logVar1, mean2, logVar2, n * M + i);
  }
}

// @ts-ignore: decorator
@inline function klGradients(
  dMean2: usize, dLogVar2: usize, g: f64, mean1: usize, logVar1: usize, mean2: usize, logVar2: usize, j: i32,
): void {
  const lv1 = lane(logVar1, j), lv2 = lane(logVar2, j);
  const d = lane(mean1, j) - lane(mean2, j), precision = Math.exp(-lv2);
  if (dMean2 != 0) storeGradient(dMean2, j, g * (-d * precision));
  if (dLogVar2 != 0) storeGradient(dLogVar2, j, g * (0.5 * ((1.0 - Math.exp(lv1 - lv2)) - (d * d) * precision)));
}

// ---------------------------------------------------------------------------------------------------------
// Continuous Gaussian log-density

/** out[n] = mean over the item of log N(x; means, e^(2 logScales)), in nats (a density: may exceed 0). */
export function gaussianLogLikelihood(out: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const base = n * M;
    let a01 = f64x2.splat(0), a23 = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const j = base + i;
      a01 = f64x2.add(a01, gaussianLanes(pair(x, j), pair(means, j), pair(logScales, j)));
      a23 = f64x2.add(a23, gaussianLanes(pair(x, j + 2), pair(means, j + 2), pair(logScales, j + 2)));
    }
    let total = combine(a01, a23);
    for (; i < M; i++) total += gaussianTerm(lane(x, base + i), lane(means, base + i), lane(logScales, base + i));
    store<f64>(out + (<usize>n << 3), M > 0 ? total / <f64>M : 0);
  }
}

export function gaussianLogLikelihoodScalar(out: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    let total: f64 = 0;
    for (let i = 0; i < M; i++) {
      const j = n * M + i;
      total += gaussianTerm(lane(x, j), lane(means, j), lane(logScales, j));
    }
    store<f64>(out + (<usize>n << 3), M > 0 ? total / <f64>M : 0);
  }
}

// @ts-ignore: decorator
@inline function gaussianTerm(x: f64, m: f64, ls: f64): f64 {
  const z = (x - m) * Math.exp(-ls);
  return (-HALF_LOG_TWO_PI - ls) - 0.5 * (z * z);
}

// @ts-ignore: decorator
@inline function gaussianLanes(x: v128, m: v128, ls: v128): v128 {
  const z = f64x2.mul(f64x2.sub(x, m), expLanes(f64x2.neg(ls)));
  return f64x2.sub(f64x2.sub(f64x2.splat(-HALF_LOG_TWO_PI), ls), f64x2.mul(f64x2.splat(0.5), f64x2.mul(z, z)));
}

/**
 * dMeans += dOut[n] / M * z e^-ls and dLogScales += dOut[n] / M * (z² - 1), z = (x - m) e^-ls: the gradients of
 * `gaussianLogLikelihood`; either pointer may be 0.
 */
export function gaussianLogLikelihoodBackward(
  dMeans: usize, dLogScales: usize, dOut: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32,
): void {
  for (let n = 0; n < N; n++) {
    const g = load<f64>(dOut + (<usize>n << 3)) / <f64>M;
    const gv = f64x2.splat(g);
    const base = n * M;
    let i = 0;
    for (; i + 2 <= M; i += 2) {
      const j = base + i;
      const inverseScale = expLanes(f64x2.neg(pair(logScales, j)));
      const z = f64x2.mul(f64x2.sub(pair(x, j), pair(means, j)), inverseScale);
      if (dMeans != 0) {
        const grad = f64x2.mul(gv, f64x2.mul(z, inverseScale));
        storeGradient(dMeans, j, f64x2.extract_lane(grad, 0));
        storeGradient(dMeans, j + 1, f64x2.extract_lane(grad, 1));
      }
      if (dLogScales != 0) {
        const grad = f64x2.mul(gv, f64x2.sub(f64x2.mul(z, z), f64x2.splat(1.0)));
        storeGradient(dLogScales, j, f64x2.extract_lane(grad, 0));
        storeGradient(dLogScales, j + 1, f64x2.extract_lane(grad, 1));
      }
    }
    for (; i < M; i++) gaussianGradients(dMeans, dLogScales, g, x, means, logScales, base + i);
  }
}

export function gaussianLogLikelihoodBackwardScalar(
  dMeans: usize, dLogScales: usize, dOut: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32,
): void {
  for (let n = 0; n < N; n++) {
    const g = load<f64>(dOut + (<usize>n << 3)) / <f64>M;
    for (let i = 0; i < M; i++) gaussianGradients(dMeans, dLogScales, g, x, means, logScales, n * M + i);
  }
}

// @ts-ignore: decorator
@inline function gaussianGradients(dMeans: usize, dLogScales: usize, g: f64, x: usize, means: usize, logScales: usize, j: i32): void {
  const inverseScale = Math.exp(-lane(logScales, j));
  const z = (lane(x, j) - lane(means, j)) * inverseScale;
  if (dMeans != 0) storeGradient(dMeans, j, g * (z * inverseScale));
  if (dLogScales != 0) storeGradient(dLogScales, j, g * (z * z - 1.0));
}

// ---------------------------------------------------------------------------------------------------------
// Discretised Gaussian log-likelihood of 8-bit data in [-1, 1]

/** improved-diffusion's approx_standard_normal_cdf: 0.5 (1 + tanh(sqrt(2/π) (z + 0.044715 z³))). */
// @ts-ignore: decorator
@inline function approxCdf(z: f64): f64 {
  return 0.5 * (1.0 + Math.tanh(SQRT_TWO_OVER_PI * (z + 0.044715 * ((z * z) * z))));
}

/** d approxCdf / dz = 0.5 (1 - tanh²(u)) sqrt(2/π) (1 + 3 · 0.044715 z²). */
// @ts-ignore: decorator
@inline function approxPdf(z: f64): f64 {
  const t = Math.tanh(SQRT_TWO_OVER_PI * (z + 0.044715 * ((z * z) * z)));
  return 0.5 * (1.0 - t * t) * (SQRT_TWO_OVER_PI * (1.0 + (3.0 * 0.044715) * (z * z)));
}

// @ts-ignore: decorator
@inline function clampedLog(v: f64): f64 { return Math.log(max(v, LOG_FLOOR)); }

// @ts-ignore: decorator
@inline function discretizedTerm(x: f64, m: f64, ls: f64): f64 {
  const centered = x - m, inverseScale = Math.exp(-ls);
  if (x < -0.999) return clampedLog(approxCdf(inverseScale * (centered + BIN)));
  if (x > 0.999) return clampedLog(1.0 - approxCdf(inverseScale * (centered - BIN)));
  return clampedLog(approxCdf(inverseScale * (centered + BIN)) - approxCdf(inverseScale * (centered - BIN)));
}

/**
 * The SIMD kernel's element: the bin edges of two lanes in f64x2, the rest lane by lane (each element takes one
 * of three branches, and the work is in tanh and log).
 */
// @ts-ignore: decorator
@inline function discretizedLanes(x: v128, m: v128, ls: v128): v128 {
  const inverseScale = expLanes(f64x2.neg(ls));
  const centered = f64x2.sub(x, m);
  const plus = f64x2.mul(inverseScale, f64x2.add(centered, f64x2.splat(BIN)));
  const minus = f64x2.mul(inverseScale, f64x2.sub(centered, f64x2.splat(BIN)));
  const lo = discretizedFromEdges(f64x2.extract_lane(x, 0), f64x2.extract_lane(plus, 0), f64x2.extract_lane(minus, 0));
  return f64x2.replace_lane(f64x2.splat(lo), 1, discretizedFromEdges(f64x2.extract_lane(x, 1), f64x2.extract_lane(plus, 1), f64x2.extract_lane(minus, 1)));
}

// @ts-ignore: decorator
@inline function discretizedFromEdges(x: f64, plus: f64, minus: f64): f64 {
  if (x < -0.999) return clampedLog(approxCdf(plus));
  if (x > 0.999) return clampedLog(1.0 - approxCdf(minus));
  return clampedLog(approxCdf(plus) - approxCdf(minus));
}

/**
 * out[n] = mean over the item of the log-probability of each 8-bit value x (in [-1, 1], bins of width 2/255)
 * under N(means, e^(2 logScales)), in nats (see the top of the file; as improved-diffusion's
 * discretized_gaussian_log_likelihood, whose x < -0.999 and x > 0.999 edge bins extend to -inf and +inf).
 */
export function discretizedGaussianLogLikelihood(out: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const base = n * M;
    let a01 = f64x2.splat(0), a23 = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const j = base + i;
      a01 = f64x2.add(a01, discretizedLanes(pair(x, j), pair(means, j), pair(logScales, j)));
      a23 = f64x2.add(a23, discretizedLanes(pair(x, j + 2), pair(means, j + 2), pair(logScales, j + 2)));
    }
    let total = combine(a01, a23);
    for (; i < M; i++) total += discretizedTerm(lane(x, base + i), lane(means, base + i), lane(logScales, base + i));
    store<f64>(out + (<usize>n << 3), M > 0 ? total / <f64>M : 0);
  }
}

export function discretizedGaussianLogLikelihoodScalar(out: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    let total: f64 = 0;
    for (let i = 0; i < M; i++) {
      const j = n * M + i;
      total += discretizedTerm(lane(x, j), lane(means, j), lane(logScales, j));
    }
    store<f64>(out + (<usize>n << 3), M > 0 ? total / <f64>M : 0);
  }
}

/**
 * The gradients of `discretizedGaussianLogLikelihood` with respect to the means and the log-scales, added into
 * dMeans and dLogScales (either may be 0). With P the bin's probability (Φ(p) - Φ(q), or an edge bin's Φ(p) or
 * 1 - Φ(q)) and φ = dΦ/dz of the same approximation: d log P / dm = -(φ(p) - φ(q)) e^-ls / P and
 * d log P / dls = -(p φ(p) - q φ(q)) / P (edge bins keep their one term); 0 where the clamp at 1e-12 holds.
 */
export function discretizedGaussianLogLikelihoodBackward(
  dMeans: usize, dLogScales: usize, dOut: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32,
): void {
  for (let n = 0; n < N; n++) {
    const g = load<f64>(dOut + (<usize>n << 3)) / <f64>M;
    const base = n * M;
    let i = 0;
    for (; i + 2 <= M; i += 2) {
      const j = base + i;
      const xv = pair(x, j), inverseScale = expLanes(f64x2.neg(pair(logScales, j)));
      const centered = f64x2.sub(xv, pair(means, j));
      const plus = f64x2.mul(inverseScale, f64x2.add(centered, f64x2.splat(BIN)));
      const minus = f64x2.mul(inverseScale, f64x2.sub(centered, f64x2.splat(BIN)));
      discretizedGradients(dMeans, dLogScales, g, j, f64x2.extract_lane(xv, 0), f64x2.extract_lane(inverseScale, 0),
        f64x2.extract_lane(plus, 0), f64x2.extract_lane(minus, 0));
      discretizedGradients(dMeans, dLogScales, g, j + 1, f64x2.extract_lane(xv, 1), f64x2.extract_lane(inverseScale, 1),
        f64x2.extract_lane(plus, 1), f64x2.extract_lane(minus, 1));
    }
    for (; i < M; i++) discretizedElementGradients(dMeans, dLogScales, g, x, means, logScales, base + i);
  }
}

export function discretizedGaussianLogLikelihoodBackwardScalar(
  dMeans: usize, dLogScales: usize, dOut: usize, x: usize, means: usize, logScales: usize, N: i32, M: i32,
): void {
  for (let n = 0; n < N; n++) {
    const g = load<f64>(dOut + (<usize>n << 3)) / <f64>M;
    for (let i = 0; i < M; i++) discretizedElementGradients(dMeans, dLogScales, g, x, means, logScales, n * M + i);
  }
}

// @ts-ignore: decorator
@inline function discretizedElementGradients(
  dMeans: usize, dLogScales: usize, g: f64, x: usize, means: usize, logScales: usize, j: i32,
): void {
  const xv = lane(x, j), inverseScale = Math.exp(-lane(logScales, j));
  const centered = xv - lane(means, j);
  discretizedGradients(dMeans, dLogScales, g, j, xv, inverseScale, inverseScale * (centered + BIN), inverseScale * (centered - BIN));
}

/** Adds element j's gradients, given its bin edges p = `plus` and q = `minus` (already scaled by e^-ls). */
// @ts-ignore: decorator
@inline function discretizedGradients(
  dMeans: usize, dLogScales: usize, g: f64, j: i32, x: f64, inverseScale: f64, plus: f64, minus: f64,
): void {
  // P, and its derivatives with respect to the two edges (0 for an edge the bin does not use).
  let probability: f64, dPlus: f64 = 0, dMinus: f64 = 0;
  if (x < -0.999) {
    probability = approxCdf(plus); dPlus = approxPdf(plus);
  } else if (x > 0.999) {
    probability = 1.0 - approxCdf(minus); dMinus = -approxPdf(minus);
  } else {
    probability = approxCdf(plus) - approxCdf(minus); dPlus = approxPdf(plus); dMinus = -approxPdf(minus);
  }
  if (!(probability > LOG_FLOOR)) return; // the clamp holds: log P is constant there
  // dp/dm = dq/dm = -e^-ls; dp/dls = -p, dq/dls = -q.
  if (dMeans != 0) storeGradient(dMeans, j, g * (-(dPlus + dMinus) * inverseScale / probability));
  if (dLogScales != 0) storeGradient(dLogScales, j, g * (-(dPlus * plus + dMinus * minus) / probability));
}
