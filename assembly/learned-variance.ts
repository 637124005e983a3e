// Learned reverse-process variances (Nichol & Dhariwal 2021, "Improved Denoising Diffusion Probabilistic Models",
// eq. 15; improved-diffusion's p_mean_variance, diffusers' DDPMScheduler with variance_type 'learned_range'):
//
//   learnedRangeLogVariance          frac = (v + 1) / 2;  out = frac * maxLog + (1 - frac) * minLog
//                                    (the model's output v interpolates log sigma^2 between minLog = log beta~_t
//                                    and maxLog = log beta_t, one pair per batch item: items may sit at different t)
//   learnedRangeLogVarianceBackward  dv += dLogVar * (maxLog - minLog) / 2
//   varianceNoise                    out = mean + exp(0.5 * logVar) * noise     (a reverse step's noise with a
//                                    variance per element)
//
// Legend: N batch items, M elements per item, n elements in all; `bounds` holds N pairs of f64 (minLog, maxLog),
// interleaved; every other buffer is f32.
//
// Precision: each element is promoted to f64, computed in f64 in the order written above and rounded to f32 once,
// when stored. The SIMD kernels do the same IEEE operations two lanes at a time (f64x2) and call Math.exp lane by
// lane, so they agree with their scalar twins bit for bit.

import { at } from './reduce';

/** Two f32 at element i as f64x2 (elements i, i + 1). */
// @ts-ignore: decorator
@inline function pair(p: usize, i: i32): v128 { return f64x2.promote_low_f32x4(v128.load64_zero(at(p, i))); }

/** Stores the two lanes of an f64x2, rounded to f32, at elements i and i + 1. */
// @ts-ignore: decorator
@inline function storePair(p: usize, i: i32, v: v128): void {
  v128.store64_lane(at(p, i), f32x4.demote_f64x2_zero(v), 0);
}

// @ts-ignore: decorator
@inline function minLogOf(bounds: usize, n: i32): f64 { return load<f64>(bounds + (<usize>n << 4)); }
// @ts-ignore: decorator
@inline function maxLogOf(bounds: usize, n: i32): f64 { return load<f64>(bounds + (<usize>n << 4), 8); }

// @ts-ignore: decorator
@inline function interpolate(v: f64, minLog: f64, maxLog: f64): f64 {
  const frac = (v + 1.0) / 2.0;
  return frac * maxLog + (1.0 - frac) * minLog;
}

// ---------------------------------------------------------------------------------------------------------
// The learned-range interpolation

/** out[n, i] = frac * maxLog[n] + (1 - frac) * minLog[n], frac = (v[n, i] + 1) / 2. `out` may alias `v`. */
export function learnedRangeLogVariance(out: usize, v: usize, bounds: usize, N: i32, M: i32): void {
  const one = f64x2.splat(1.0), two = f64x2.splat(2.0);
  for (let n = 0; n < N; n++) {
    const lo = minLogOf(bounds, n), hi = maxLogOf(bounds, n);
    const lov = f64x2.splat(lo), hiv = f64x2.splat(hi);
    const base = n * M;
    let i = 0;
    for (; i + 2 <= M; i += 2) {
      const frac = f64x2.div(f64x2.add(pair(v, base + i), one), two);
      storePair(out, base + i, f64x2.add(f64x2.mul(frac, hiv), f64x2.mul(f64x2.sub(one, frac), lov)));
    }
    for (; i < M; i++) store<f32>(at(out, base + i), <f32>interpolate(<f64>load<f32>(at(v, base + i)), lo, hi));
  }
}

export function learnedRangeLogVarianceScalar(out: usize, v: usize, bounds: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const lo = minLogOf(bounds, n), hi = maxLogOf(bounds, n);
    for (let i = 0; i < M; i++) {
      const j = n * M + i;
      store<f32>(at(out, j), <f32>interpolate(<f64>load<f32>(at(v, j)), lo, hi));
    }
  }
}

/** dv[n, i] += dLogVar[n, i] * (maxLog[n] - minLog[n]) / 2, the gradient of `learnedRangeLogVariance`. */
export function learnedRangeLogVarianceBackward(dv: usize, dLogVar: usize, bounds: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const slope = (maxLogOf(bounds, n) - minLogOf(bounds, n)) / 2.0;
    const sv = f64x2.splat(slope);
    const base = n * M;
    let i = 0;
    for (; i + 2 <= M; i += 2) storePair(dv, base + i, f64x2.add(pair(dv, base + i), f64x2.mul(pair(dLogVar, base + i), sv)));
    for (; i < M; i++) accumulate(dv, dLogVar, base + i, slope);
  }
}

export function learnedRangeLogVarianceBackwardScalar(dv: usize, dLogVar: usize, bounds: usize, N: i32, M: i32): void {
  for (let n = 0; n < N; n++) {
    const slope = (maxLogOf(bounds, n) - minLogOf(bounds, n)) / 2.0;
    for (let i = 0; i < M; i++) accumulate(dv, dLogVar, n * M + i, slope);
  }
}

// @ts-ignore: decorator
@inline function accumulate(dv: usize, dLogVar: usize, j: i32, slope: f64): void {
  store<f32>(at(dv, j), <f32>(<f64>load<f32>(at(dv, j)) + <f64>load<f32>(at(dLogVar, j)) * slope));
}

// ---------------------------------------------------------------------------------------------------------
// Noise with a variance per element

/** out[i] = mean[i] + exp(0.5 * logVar[i]) * noise[i] over n elements. `out` may alias `mean`. */
export function varianceNoise(out: usize, mean: usize, logVar: usize, noise: usize, n: i32): void {
  const half = f64x2.splat(0.5);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const scaled = f64x2.mul(half, pair(logVar, i));
    const std = f64x2.replace_lane(f64x2.splat(Math.exp(f64x2.extract_lane(scaled, 0))), 1, Math.exp(f64x2.extract_lane(scaled, 1)));
    storePair(out, i, f64x2.add(pair(mean, i), f64x2.mul(std, pair(noise, i))));
  }
  for (; i < n; i++) noiseElement(out, mean, logVar, noise, i);
}

export function varianceNoiseScalar(out: usize, mean: usize, logVar: usize, noise: usize, n: i32): void {
  for (let i = 0; i < n; i++) noiseElement(out, mean, logVar, noise, i);
}

// @ts-ignore: decorator
@inline function noiseElement(out: usize, mean: usize, logVar: usize, noise: usize, i: i32): void {
  const std = Math.exp(0.5 * <f64>load<f32>(at(logVar, i)));
  store<f32>(at(out, i), <f32>(<f64>load<f32>(at(mean, i)) + std * <f64>load<f32>(at(noise, i))));
}
