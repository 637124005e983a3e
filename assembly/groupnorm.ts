// Group normalisation (Wu & He 2018) and its adaptive form AdaGN (Dhariwal & Nichol 2021; diffusers'
// ResnetBlock2D with time_embedding_norm = 'scale_shift'), forward and backward.
//
//   mean[n,g] = 1/M Σ x      var[n,g] = 1/M Σ (x - mean)²  (biased, as PyTorch)      rstd = 1 / sqrt(var + eps)
//   xhat = (x - mean) · rstd
//   y[n,c,i] = (xhat · gamma[c] + beta[c]) · (1 + scale[n,c]) + shift[n,c]
//
// Legend: N batch, C channels, HW the product of the spatial sizes (1 when there are none), G groups, Cg = C / G
// channels per group, M = Cg · HW elements per group. x, y, dy, dx are [N, C, HW], so group (n, g) is one
// contiguous run of M floats; mean and rstd are [N, G]; gamma, beta [C]; scale, shift [N, C]. Any of gamma,
// beta, scale, shift may be 0 (absent: ones for gamma, zeros for the others).
//
// Numerics. The statistics use the corrected two-pass algorithm (Chan, Golub & LeVeque 1983): pass 1 sums x
// for a first mean m; pass 2 sums d = x - m and d², then mean = m + Σd/M and var = Σd²/M - (Σd/M)². So a
// large mean relative to the spread costs no accuracy. Every sum runs in f32x4 lanes over blocks of BLOCK
// floats; each block's lanes are combined in a fixed order and added to an f64 total, so the bits depend only
// on the group's own data. The mean is applied in two parts, hi = f32(mean), which is what gets saved, and the
// remainder lo = mean - hi: x - hi is exact for x near the mean, and lo is folded into each channel's constant
// term. The backward recovers lo by summing x - hi along with its other sums, so gradients stay accurate when
// |mean| >> std too.
//
// Speed: a group of the U-Net (say 2 channels x 32 x 32 = 8 KB) fits in L1, so only the first pass of each
// kernel reads from memory and the others re-read the group from cache. What bounds the time is then the
// f32x4 adds (6 per vector forward, 8 backward); the loops keep 6 to 8 independent accumulators to hide
// their latency.

// Results of `channelSums` (AssemblyScript functions return one value).
let firstSum: f64 = 0;
let secondSum: f64 = 0;
let thirdSum: f64 = 0;

import { BLOCK, affineA, affineB, channelAffine, groupMean, groupRstd, laneSum, statistics, valueOr } from './groupnorm-stats';

// The backward's per-channel sums of one group (two f64 per channel), in static memory: kernels allocate nothing.
// @ts-ignore: decorator
@inline const SCRATCH_CHANNELS: i32 = 1024;
const channelScratch: usize = memory.data(SCRATCH_CHANNELS * 16, 16);

// ---------------------------------------------------------------------------------------------------------
// Forward

/**
 * y = GroupNorm(x) (with AdaGN when scale / shift are given); saves mean and rstd [N, G] for the backward.
 * y, mean and rstd may each be 0 (not written): with y = 0 the kernel only computes the statistics.
 */
export function groupNormForward(
  y: usize, mean: usize, rstd: usize,
  x: usize, gamma: usize, beta: usize, scale: usize, shift: usize,
  N: i32, C: i32, HW: i32, G: i32, eps: f64,
): void {
  const Cg = C / G, M = Cg * HW;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const ng = n * G + g;
      const groupOffset = (<usize>ng * <usize>M) << 2;
      statistics(x + groupOffset, M, eps);
      const hi = <f32>groupMean, lo = groupMean - <f64>hi;
      if (mean != 0) store<f32>(mean + (<usize>ng << 2), hi);
      if (rstd != 0) store<f32>(rstd + (<usize>ng << 2), <f32>groupRstd);
      if (y == 0) continue;
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci;
        channelAffine(gamma, beta, scale, shift, C, n, c, lo);
        const channelOffset = groupOffset + ((<usize>ci * <usize>HW) << 2);
        normaliseRun(y + channelOffset, x + channelOffset, HW, hi, affineA, affineB);
      }
    }
  }
}

/** The scalar twin of `groupNormForward`: textbook two-pass statistics and the output, all in f64. */
export function groupNormForwardScalar(
  y: usize, mean: usize, rstd: usize,
  x: usize, gamma: usize, beta: usize, scale: usize, shift: usize,
  N: i32, C: i32, HW: i32, G: i32, eps: f64,
): void {
  const Cg = C / G, M = Cg * HW;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const ng = n * G + g, first = ng * M;
      let sum: f64 = 0;
      for (let i = 0; i < M; i++) sum += at(x, first + i);
      const mu = M > 0 ? sum / M : 0;
      let squares: f64 = 0;
      for (let i = 0; i < M; i++) squares += (at(x, first + i) - mu) * (at(x, first + i) - mu);
      const r = 1 / Math.sqrt((M > 0 ? squares / M : 0) + eps);
      if (mean != 0) store<f32>(mean + (<usize>ng << 2), <f32>mu);
      if (rstd != 0) store<f32>(rstd + (<usize>ng << 2), <f32>r);
      if (y == 0) continue;
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci;
        for (let i = 0; i < HW; i++) {
          const e = first + ci * HW + i;
          const normalised = (at(x, e) - mu) * r * valueOr(gamma, c, 1) + valueOr(beta, c, 0);
          const out = normalised * (1 + valueOr(scale, n * C + c, 0)) + valueOr(shift, n * C + c, 0);
          store<f32>(y + (<usize>e << 2), <f32>out);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Backward
//
// With u = xhat·gamma + beta, k[c] = gamma[c]·(1 + scale[n,c]), and per channel A = Σ dy, B = Σ dy·xhat:
//   dshift[n,c] += A     dscale[n,c] += gamma·B + beta·A     dbeta[c] += (1 + scale)·A     dgamma[c] += (1 + scale)·B
//   dx = rstd · (k·dy - m1 - xhat·m2)   with m1 = 1/M Σ_c k·A and m2 = 1/M Σ_c k·B
// (m1 and m2 are the group means of dxhat = k·dy and of dxhat·xhat).
// Parameter gradients are added sample by sample in batch order, so a call with N samples gives the bits of N
// calls with one sample each.

/**
 * Adds the gradients of L into dx [N, C, HW], dgamma [C], dbeta [C], dscale [N, C] and dshift [N, C]; each may
 * be 0 (skipped). mean and rstd are the forward's. beta is read only for dscale (it may be 0 otherwise).
 */
export function groupNormBackward(
  dx: usize, dgamma: usize, dbeta: usize, dscale: usize, dshift: usize,
  dy: usize, x: usize, mean: usize, rstd: usize, gamma: usize, beta: usize, scale: usize,
  N: i32, C: i32, HW: i32, G: i32,
): void {
  const Cg = C / G, M = Cg * HW;
  if (M == 0) return;
  const kept = Cg <= SCRATCH_CHANNELS;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const ng = n * G + g;
      const groupOffset = (<usize>ng * <usize>M) << 2;
      const hi = load<f32>(mean + (<usize>ng << 2));
      const r = <f64>load<f32>(rstd + (<usize>ng << 2));
      // Pass 1: each channel's Σ dy and Σ dy·(x - hi), kept in scratch, and Σ (x - hi), which gives lo.
      let offset: f64 = 0;
      for (let ci = 0; ci < Cg; ci++) {
        const channelOffset = groupOffset + ((<usize>ci * <usize>HW) << 2);
        channelSums(dy + channelOffset, x + channelOffset, HW, hi);
        offset += thirdSum;
        if (kept) {
          store<f64>(channelScratch + (<usize>ci << 4), firstSum);
          store<f64>(channelScratch + (<usize>ci << 4), secondSum, 8);
        }
      }
      const lo = offset / M;
      // Parameter gradients, channel by channel (summing the channels again if there are too many to keep:
      // the same call on the same data, so the same bits).
      let sumKA: f64 = 0, sumKB: f64 = 0;
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci, nc = n * C + c;
        if (kept) {
          firstSum = load<f64>(channelScratch + (<usize>ci << 4));
          secondSum = load<f64>(channelScratch + (<usize>ci << 4), 8);
        } else {
          const channelOffset = groupOffset + ((<usize>ci * <usize>HW) << 2);
          channelSums(dy + channelOffset, x + channelOffset, HW, hi);
        }
        const A = firstSum, B = (secondSum - lo * A) * r;
        const gam = valueOr(gamma, c, 1), s = 1 + valueOr(scale, nc, 0);
        if (dshift != 0) addAt(dshift, nc, A);
        if (dscale != 0) addAt(dscale, nc, gam * B + valueOr(beta, c, 0) * A);
        if (dbeta != 0) addAt(dbeta, c, s * A);
        if (dgamma != 0) addAt(dgamma, c, s * B);
        sumKA += gam * s * A;
        sumKB += gam * s * B;
      }
      if (dx == 0) continue;
      // dx += dy·a + (x - hi - lo)·slope + constant, with lo·slope folded into the constant.
      const slope = <f32>(-r * r * (sumKB / M));
      const constant = <f32>(-r * (sumKA / M) - lo * <f64>slope);
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci;
        const a = <f32>(r * valueOr(gamma, c, 1) * (1 + valueOr(scale, n * C + c, 0)));
        const channelOffset = groupOffset + ((<usize>ci * <usize>HW) << 2);
        inputGradientRun(dx + channelOffset, dy + channelOffset, x + channelOffset, HW, hi, a, slope, constant);
      }
    }
  }
}

/** The scalar twin of `groupNormBackward`: the same equations, element by element in f64. */
export function groupNormBackwardScalar(
  dx: usize, dgamma: usize, dbeta: usize, dscale: usize, dshift: usize,
  dy: usize, x: usize, mean: usize, rstd: usize, gamma: usize, beta: usize, scale: usize,
  N: i32, C: i32, HW: i32, G: i32,
): void {
  const Cg = C / G, M = Cg * HW;
  if (M == 0) return;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const ng = n * G + g, first = ng * M;
      const r = <f64>at(rstd, ng);
      // The saved mean is rounded to f32: refine it, as the SIMD kernel does.
      let offset: f64 = 0;
      for (let i = 0; i < M; i++) offset += at(x, first + i) - at(mean, ng);
      const mu = at(mean, ng) + offset / M;
      let sumKA: f64 = 0, sumKB: f64 = 0;
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci, nc = n * C + c;
        let A: f64 = 0, B: f64 = 0;
        for (let i = 0; i < HW; i++) {
          const e = first + ci * HW + i;
          A += at(dy, e);
          B += at(dy, e) * (at(x, e) - mu) * r;
        }
        const gam = valueOr(gamma, c, 1), s = 1 + valueOr(scale, nc, 0);
        if (dshift != 0) addAt(dshift, nc, A);
        if (dscale != 0) addAt(dscale, nc, gam * B + valueOr(beta, c, 0) * A);
        if (dbeta != 0) addAt(dbeta, c, s * A);
        if (dgamma != 0) addAt(dgamma, c, s * B);
        sumKA += gam * s * A;
        sumKB += gam * s * B;
      }
      if (dx == 0) continue;
      const m1 = sumKA / M, m2 = sumKB / M;
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci;
        const k = valueOr(gamma, c, 1) * (1 + valueOr(scale, n * C + c, 0));
        for (let i = 0; i < HW; i++) {
          const e = first + ci * HW + i;
          const xhat = (at(x, e) - mu) * r;
          addAt(dx, e, r * (k * at(dy, e) - m1 - xhat * m2));
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Scalar helpers

/** Element i of the f32 array at p, as f64. */
// @ts-ignore: decorator
@inline function at(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

/** p[i] += f32(v). */
// @ts-ignore: decorator
@inline function addAt(p: usize, i: i32, v: f64): void {
  const q = p + (<usize>i << 2);
  store<f32>(q, load<f32>(q) + <f32>v);
}

// ---------------------------------------------------------------------------------------------------------
// SIMD runs: each walks `count` floats from unaligned pointers, several vectors at a time, then (in most) one
// vector at a time, then float by float.

/** Sets firstSum = Σ dy, secondSum = Σ dy·(x - hi) and thirdSum = Σ (x - hi) over count floats. */
function channelSums(dy: usize, x: usize, count: i32, hi: f32): void {
  const vhi = f32x4.splat(hi);
  let sumDy: f64 = 0, sumProducts: f64 = 0, sumOffsets: f64 = 0;
  for (let start = 0; start < count; start += BLOCK) {
    const end = min(start + BLOCK, count);
    let g0 = f32x4.splat(0), g1 = g0, p0 = g0, p1 = g0, d0 = g0, d1 = g0;
    let i = start;
    for (; i + 8 <= end; i += 8) {
      const o = <usize>i << 2;
      const dy0 = v128.load(dy + o), dy1 = v128.load(dy + o, 16);
      const e0 = f32x4.sub(v128.load(x + o), vhi), e1 = f32x4.sub(v128.load(x + o, 16), vhi);
      g0 = f32x4.add(g0, dy0); g1 = f32x4.add(g1, dy1);
      p0 = f32x4.add(p0, f32x4.mul(dy0, e0)); p1 = f32x4.add(p1, f32x4.mul(dy1, e1));
      d0 = f32x4.add(d0, e0); d1 = f32x4.add(d1, e1);
    }
    let g = laneSum(f32x4.add(g0, g1)), p = laneSum(f32x4.add(p0, p1)), d = laneSum(f32x4.add(d0, d1));
    for (; i < end; i++) {
      const o = <usize>i << 2;
      const dyi = load<f32>(dy + o), e = load<f32>(x + o) - hi;
      g += dyi;
      p += dyi * e;
      d += e;
    }
    sumDy += <f64>g;
    sumProducts += <f64>p;
    sumOffsets += <f64>d;
  }
  firstSum = sumDy;
  secondSum = sumProducts;
  thirdSum = sumOffsets;
}

/** y = (x - hi)·a + b over count floats. */
function normaliseRun(y: usize, x: usize, count: i32, hi: f32, a: f32, b: f32): void {
  const vhi = f32x4.splat(hi), va = f32x4.splat(a), vb = f32x4.splat(b);
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o), vhi), va), vb));
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o, 16), vhi), va), vb), 16);
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o, 32), vhi), va), vb), 32);
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o, 48), vhi), va), vb), 48);
  }
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o), vhi), va), vb));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, (load<f32>(x + o) - hi) * a + b);
  }
}

/** dx += (dy·a + (x - hi)·slope) + constant over count floats. */
function inputGradientRun(dx: usize, dy: usize, x: usize, count: i32, hi: f32, a: f32, slope: f32, constant: f32): void {
  const vhi = f32x4.splat(hi), va = f32x4.splat(a), vslope = f32x4.splat(slope), vconstant = f32x4.splat(constant);
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const o = <usize>i << 2;
    const g0 = inputGradient(v128.load(dy + o), v128.load(x + o), vhi, va, vslope, vconstant);
    const g1 = inputGradient(v128.load(dy + o, 16), v128.load(x + o, 16), vhi, va, vslope, vconstant);
    v128.store(dx + o, f32x4.add(v128.load(dx + o), g0));
    v128.store(dx + o, f32x4.add(v128.load(dx + o, 16), g1), 16);
  }
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.add(v128.load(dx + o), inputGradient(v128.load(dy + o), v128.load(x + o), vhi, va, vslope, vconstant)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dx + o) + ((load<f32>(dy + o) * a + (load<f32>(x + o) - hi) * slope) + constant));
  }
}

// @ts-ignore: decorator
@inline function inputGradient(dy: v128, x: v128, hi: v128, a: v128, slope: v128, constant: v128): v128 {
  return f32x4.add(f32x4.add(f32x4.mul(dy, a), f32x4.mul(f32x4.sub(x, hi), slope)), constant);
}
