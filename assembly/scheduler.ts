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
// Legend: N batch items, M elements per item, n elements in all.
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
