// The per-element work of the diffusion schedulers (bindings/schedulers/): noising a clean sample, and one
// reverse step. Which scheduler and which parameterisation is only a matter of coefficients, computed in float64
// by the TypeScript side (DDPM's posterior mean, eq. 7 of Ho et al. 2020; DDIM's update, eq. 12 of Song et al.
// 2021), so one generic kernel serves them all:
//
//   schedulerAddNoise   out[n, i] = a[n] * x[n, i] + b[n] * y[n, i]      (x_t = sqrt(ab) x0 + sqrt(1 - ab) eps)
//
//   schedulerStep       x0   = clamp(a * sample + b * modelOutput, -clipRange, clipRange)
//                       eps  = c * sample + d * modelOutput + e * x0
//                       prev = f * x0 + g * sample + h * eps + sigma * noise      (the noise term only when given)
//
//   schedulerCombine    out  = clamp(c_0 x_0 + c_1 x_1 + ... + c_{K-1} x_{K-1}, -clipRange, clipRange)
//                       (the multistep solvers: DPM-Solver, UniPC, Heun)
//
//   schedulerThreshold  per item: s = clamp(quantile(|x|, ratio), 1, maxValue), out = clamp(x, -s, s) / s
//                       (dynamic thresholding, Saharia et al. 2022)
//
// Legend: N batch items, M elements per item, n elements in all, K terms.
//
// Precision and determinism: every element is promoted to float64, combined in float64 in exactly the order
// written above (plain mul then add, never fused), and rounded to float32 once, when stored. f64x2 lanes do the
// same operations as scalar f64, so the SIMD kernels and their scalar twins agree bit for bit.

// ---------------------------------------------------------------------------------------------------------
// Noising: out = a[n] x + b[n] y per batch item

/**
 * out[n, i] = a[n] * x[n, i] + b[n] * y[n, i] for N items of M elements; `coefficients` holds N pairs of f64
 * (a[n], b[n]), interleaved. `out` may alias `x` or `y`.
 */
export function schedulerAddNoise(out: usize, x: usize, y: usize, coefficients: usize, N: i32, M: i32): void {
  for (let item = 0; item < N; item++) {
    const a = load<f64>(coefficients + (<usize>item << 4));
    const b = load<f64>(coefficients + (<usize>item << 4), 8);
    const base = <usize>item * <usize>M << 2;
    const av = f64x2.splat(a), bv = f64x2.splat(b);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const p = base + (<usize>i << 2);
      const xv = v128.load(x + p), yv = v128.load(y + p);
      const lo = f64x2.add(f64x2.mul(av, promoteLow(xv)), f64x2.mul(bv, promoteLow(yv)));
      const hi = f64x2.add(f64x2.mul(av, promoteHigh(xv)), f64x2.mul(bv, promoteHigh(yv)));
      v128.store(out + p, demote(lo, hi));
    }
    for (; i < M; i++) {
      const p = base + (<usize>i << 2);
      store<f32>(out + p, mix(a, load<f32>(x + p), b, load<f32>(y + p)));
    }
  }
}

/** The scalar twin of `schedulerAddNoise`. */
export function schedulerAddNoiseScalar(out: usize, x: usize, y: usize, coefficients: usize, N: i32, M: i32): void {
  for (let item = 0; item < N; item++) {
    const a = load<f64>(coefficients + (<usize>item << 4));
    const b = load<f64>(coefficients + (<usize>item << 4), 8);
    for (let i = 0; i < M; i++) {
      const p = (<usize>item * <usize>M + <usize>i) << 2;
      store<f32>(out + p, mix(a, load<f32>(x + p), b, load<f32>(y + p)));
    }
  }
}

// @ts-ignore: decorator
@inline function mix(a: f64, x: f32, b: f64, y: f32): f32 {
  return <f32>(a * <f64>x + b * <f64>y);
}

// ---------------------------------------------------------------------------------------------------------
// One reverse step

/**
 * One scheduler step over n elements (see the file header): writes the previous sample and the predicted clean
 * sample (after clipping). `noise` is a pointer to n floats, or 0 for none (then sigma is ignored). Pass
 * clipRange = Infinity for no clipping. Outputs may alias inputs (each element is read before it is written).
 */
export function schedulerStep(
  prevSample: usize, predOriginalSample: usize, sample: usize, modelOutput: usize, noise: usize, n: i32,
  a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, h: f64, sigma: f64, clipRange: f64,
): void {
  const av = f64x2.splat(a), bv = f64x2.splat(b), cv = f64x2.splat(c), dv = f64x2.splat(d);
  const ev = f64x2.splat(e), fv = f64x2.splat(f), gv = f64x2.splat(g), hv = f64x2.splat(h);
  const sv = f64x2.splat(sigma), hiClip = f64x2.splat(clipRange), loClip = f64x2.splat(-clipRange);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = <usize>i << 2;
    const s4 = v128.load(sample + p), m4 = v128.load(modelOutput + p);
    const z4 = noise != 0 ? v128.load(noise + p) : f32x4.splat(0);
    // Two lanes at a time: elements i, i+1 (low halves), then i+2, i+3 (high halves).
    const sLo = promoteLow(s4), mLo = promoteLow(m4), sHi = promoteHigh(s4), mHi = promoteHigh(m4);
    const x0lo = f64x2.min(f64x2.max(f64x2.add(f64x2.mul(av, sLo), f64x2.mul(bv, mLo)), loClip), hiClip);
    const x0hi = f64x2.min(f64x2.max(f64x2.add(f64x2.mul(av, sHi), f64x2.mul(bv, mHi)), loClip), hiClip);
    const epsLo = f64x2.add(f64x2.add(f64x2.mul(cv, sLo), f64x2.mul(dv, mLo)), f64x2.mul(ev, x0lo));
    const epsHi = f64x2.add(f64x2.add(f64x2.mul(cv, sHi), f64x2.mul(dv, mHi)), f64x2.mul(ev, x0hi));
    let prevLo = f64x2.add(f64x2.add(f64x2.mul(fv, x0lo), f64x2.mul(gv, sLo)), f64x2.mul(hv, epsLo));
    let prevHi = f64x2.add(f64x2.add(f64x2.mul(fv, x0hi), f64x2.mul(gv, sHi)), f64x2.mul(hv, epsHi));
    if (noise != 0) {
      prevLo = f64x2.add(prevLo, f64x2.mul(sv, promoteLow(z4)));
      prevHi = f64x2.add(prevHi, f64x2.mul(sv, promoteHigh(z4)));
    }
    v128.store(predOriginalSample + p, demote(x0lo, x0hi));
    v128.store(prevSample + p, demote(prevLo, prevHi));
  }
  for (; i < n; i++) {
    stepElement(prevSample, predOriginalSample, sample, modelOutput, noise, i, a, b, c, d, e, f, g, h, sigma, clipRange);
  }
}

/** The scalar twin of `schedulerStep`. */
export function schedulerStepScalar(
  prevSample: usize, predOriginalSample: usize, sample: usize, modelOutput: usize, noise: usize, n: i32,
  a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, h: f64, sigma: f64, clipRange: f64,
): void {
  for (let i = 0; i < n; i++) {
    stepElement(prevSample, predOriginalSample, sample, modelOutput, noise, i, a, b, c, d, e, f, g, h, sigma, clipRange);
  }
}

// @ts-ignore: decorator
@inline function stepElement(
  prevSample: usize, predOriginalSample: usize, sample: usize, modelOutput: usize, noise: usize, i: i32,
  a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, h: f64, sigma: f64, clipRange: f64,
): void {
  const p = <usize>i << 2;
  const s = <f64>load<f32>(sample + p), m = <f64>load<f32>(modelOutput + p);
  const x0 = min(max(a * s + b * m, -clipRange), clipRange);
  const eps = c * s + d * m + e * x0;
  let prev = f * x0 + g * s + h * eps;
  if (noise != 0) prev = prev + sigma * <f64>load<f32>(noise + p);
  store<f32>(predOriginalSample + p, <f32>x0);
  store<f32>(prevSample + p, <f32>prev);
}

// ---------------------------------------------------------------------------------------------------------
// A linear combination of K tensors (the multistep solvers' updates), rounded once

/**
 * out[i] = clamp(c[0] * x_0[i] + c[1] * x_1[i] + ... + c[K-1] * x_{K-1}[i], -clipRange, clipRange) over n
 * elements: `inputs` holds K u32 pointers to float32 tensors, `coefficients` K f64. Accumulated in float64 in
 * the order k = 0, 1, ..., K-1 (the first term is the initial value, so -0 stays -0), rounded to float32 once.
 * Pass clipRange = Infinity for no clamp. `out` may alias any input.
 */
export function schedulerCombine(out: usize, inputs: usize, coefficients: usize, K: i32, n: i32, clipRange: f64): void {
  const hiClip = f64x2.splat(clipRange), loClip = f64x2.splat(-clipRange);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = <usize>i << 2;
    const c0 = f64x2.splat(load<f64>(coefficients));
    const x0 = v128.load(<usize>load<u32>(inputs) + p);
    let lo = f64x2.mul(c0, promoteLow(x0)), hi = f64x2.mul(c0, promoteHigh(x0));
    for (let k = 1; k < K; k++) {
      const ck = f64x2.splat(load<f64>(coefficients + (<usize>k << 3)));
      const xk = v128.load(<usize>load<u32>(inputs + (<usize>k << 2)) + p);
      lo = f64x2.add(lo, f64x2.mul(ck, promoteLow(xk)));
      hi = f64x2.add(hi, f64x2.mul(ck, promoteHigh(xk)));
    }
    lo = f64x2.min(f64x2.max(lo, loClip), hiClip);
    hi = f64x2.min(f64x2.max(hi, loClip), hiClip);
    v128.store(out + p, demote(lo, hi));
  }
  for (; i < n; i++) combineElement(out, inputs, coefficients, K, i, clipRange);
}

/** The scalar twin of `schedulerCombine`. */
export function schedulerCombineScalar(out: usize, inputs: usize, coefficients: usize, K: i32, n: i32, clipRange: f64): void {
  for (let i = 0; i < n; i++) combineElement(out, inputs, coefficients, K, i, clipRange);
}

// @ts-ignore: decorator
@inline function combineElement(out: usize, inputs: usize, coefficients: usize, K: i32, i: i32, clipRange: f64): void {
  const p = <usize>i << 2;
  let acc = load<f64>(coefficients) * <f64>load<f32>(<usize>load<u32>(inputs) + p);
  for (let k = 1; k < K; k++) {
    acc = acc + load<f64>(coefficients + (<usize>k << 3)) * <f64>load<f32>(<usize>load<u32>(inputs + (<usize>k << 2)) + p);
  }
  store<f32>(out + p, <f32>min(max(acc, -clipRange), clipRange));
}

// ---------------------------------------------------------------------------------------------------------
// Dynamic thresholding (Saharia et al. 2022, Imagen, section 2.3): per batch item, s = the `ratio` quantile of
// |x| clamped to [1, maxValue], then x -> clamp(x, -s, s) / s

/**
 * Dynamic thresholding of N items of M elements (diffusers' `_threshold_sample`). The quantile is torch.quantile's
 * 'linear' one: with position p = ratio * (M - 1), lo = floor(p), w = p - lo, it interpolates the lo-th and
 * (lo+1)-th smallest |x| as torch.lerp does. The order statistics come from a radix selection on the bits of |x|
 * (for non-negative floats the bit patterns sort like the values), so no sort and no scratch copy: `histogram`
 * is 256 u32 of workspace. Writes s of item n to scales[n] (f64). `out` may alias `x`.
 */
export function schedulerThreshold(out: usize, scales: usize, x: usize, histogram: usize, N: i32, M: i32, ratio: f64, maxValue: f64): void {
  for (let item = 0; item < N; item++) {
    const base = <usize>item * <usize>M << 2;
    const s = thresholdScale(x + base, histogram, M, ratio, maxValue);
    store<f64>(scales + (<usize>item << 3), s);
    const sv = f64x2.splat(s), negSv = f64x2.splat(-s);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const p = base + (<usize>i << 2);
      const v = v128.load(x + p);
      const lo = f64x2.div(f64x2.min(f64x2.max(promoteLow(v), negSv), sv), sv);
      const hi = f64x2.div(f64x2.min(f64x2.max(promoteHigh(v), negSv), sv), sv);
      v128.store(out + p, demote(lo, hi));
    }
    for (; i < M; i++) thresholdElement(out, x, base + (<usize>i << 2), s);
  }
}

/** The scalar twin of `schedulerThreshold`. */
export function schedulerThresholdScalar(out: usize, scales: usize, x: usize, histogram: usize, N: i32, M: i32, ratio: f64, maxValue: f64): void {
  for (let item = 0; item < N; item++) {
    const base = <usize>item * <usize>M << 2;
    const s = thresholdScale(x + base, histogram, M, ratio, maxValue);
    store<f64>(scales + (<usize>item << 3), s);
    for (let i = 0; i < M; i++) thresholdElement(out, x, base + (<usize>i << 2), s);
  }
}

// @ts-ignore: decorator
@inline function thresholdElement(out: usize, x: usize, p: usize, s: f64): void {
  store<f32>(out + p, <f32>(min(max(<f64>load<f32>(x + p), -s), s) / s));
}

/** s = clamp(quantile(|x|, ratio), 1, maxValue) for one item of M elements. */
function thresholdScale(x: usize, histogram: usize, M: i32, ratio: f64, maxValue: f64): f64 {
  const position = ratio * <f64>(M - 1);
  const lo = <i32>Math.floor(position);
  const hi = min(lo + 1, M - 1);
  const weight = position - <f64>lo;
  const below = <f64>orderStatistic(x, histogram, M, lo);
  const above = <f64>orderStatistic(x, histogram, M, hi);
  // torch.lerp(below, above, weight), which switches formula at weight 0.5 for accuracy.
  const q = weight < 0.5 ? below + weight * (above - below) : above - (above - below) * (1 - weight);
  return min(max(q, 1), maxValue);
}

/**
 * The k-th smallest (0-based) of |x[0..M)|: four passes, each fixing one byte of the answer's bit pattern (most
 * significant first) from a histogram of the elements that match the bytes fixed so far.
 */
function orderStatistic(x: usize, histogram: usize, M: i32, k: i32): f32 {
  let prefix: u32 = 0, mask: u32 = 0;
  let rank = <u32>k;
  for (let shift: u32 = 24; ; shift -= 8) {
    memory.fill(histogram, 0, 256 << 2);
    for (let i = 0; i < M; i++) {
      const key = load<u32>(x + (<usize>i << 2)) & 0x7fffffff;
      if ((key & mask) == prefix) {
        const bin = histogram + (<usize>((key >> shift) & 255) << 2);
        store<u32>(bin, load<u32>(bin) + 1);
      }
    }
    let b: u32 = 0;
    for (; b < 255; b++) {
      const count = load<u32>(histogram + (<usize>b << 2));
      if (rank < count) break;
      rank -= count;
    }
    prefix |= b << shift;
    mask |= <u32>255 << shift;
    if (shift == 0) break;
  }
  return reinterpret<f32>(prefix);
}

// ---------------------------------------------------------------------------------------------------------
// f32x4 <-> two f64x2 (exact promotion; demotion rounds to nearest, like a scalar f64 -> f32 conversion)

// @ts-ignore: decorator
@inline function promoteLow(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

// @ts-ignore: decorator
@inline function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0));
}

/** The four f32 of (lo[0], lo[1], hi[0], hi[1]). */
// @ts-ignore: decorator
@inline function demote(lo: v128, hi: v128): v128 {
  return i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
}
