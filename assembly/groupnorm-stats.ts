// The statistics and the per-channel affine of group normalisation, shared by its training forward
// (groupnorm.ts) and the fused inference kernel (groupnorm-silu.ts), so that both normalise with the same bits.
// The numerics are described at the top of groupnorm.ts. These helpers are not exported to JavaScript (index.ts
// does not re-export this file).

// @ts-ignore: decorator
@inline export const BLOCK: i32 = 1024;

// Results of `statistics` and `channelAffine` (AssemblyScript functions return one value).
export let groupMean: f64 = 0;
export let groupRstd: f64 = 0;
export let affineA: f32 = 0;
export let affineB: f32 = 0;
// Results of `centredSums`.
let firstSum: f64 = 0;
let secondSum: f64 = 0;

/**
 * Sets affineA and affineB of channel c of sample n, such that y = (x - hi)·affineA + affineB, hi = f32(groupMean)
 * and lo = groupMean - hi: a = rstd·gamma·(1 + scale), and b = beta·(1 + scale) + shift - lo·a (the mean's
 * remainder folded into the constant).
 */
// @ts-ignore: decorator
@inline export function channelAffine(gamma: usize, beta: usize, scale: usize, shift: usize, C: i32, n: i32, c: i32, lo: f64): void {
  const s = 1 + valueOr(scale, n * C + c, 0);
  const a = <f32>(groupRstd * valueOr(gamma, c, 1) * s);
  affineA = a;
  affineB = <f32>(valueOr(beta, c, 0) * s + valueOr(shift, n * C + c, 0) - lo * <f64>a);
}

/** Element i of the optional f32 array at p (0 = absent, then `absent`). */
// @ts-ignore: decorator
@inline export function valueOr(p: usize, i: i32, absent: f64): f64 {
  return p != 0 ? <f64>load<f32>(p + (<usize>i << 2)) : absent;
}

// @ts-ignore: decorator
@inline export function laneSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Sets groupMean and groupRstd of the M floats at p (corrected two-pass, see the top of the file). */
export function statistics(p: usize, M: i32, eps: f64): void {
  if (M == 0) {
    groupMean = 0;
    groupRstd = 1 / Math.sqrt(eps);
    return;
  }
  const pivot = <f32>(plainSum(p, M) / M);
  centredSums(p, M, pivot);
  const offset = firstSum / M;
  groupMean = <f64>pivot + offset;
  const variance = max(secondSum / M - offset * offset, 0);
  groupRstd = 1 / Math.sqrt(variance + eps);
}

/** Σ x over the count floats at p. */
function plainSum(p: usize, count: i32): f64 {
  let total: f64 = 0;
  for (let start = 0; start < count; start += BLOCK) {
    const end = min(start + BLOCK, count);
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    let i = start;
    for (; i + 32 <= end; i += 32) {
      const q = p + (<usize>i << 2);
      a0 = f32x4.add(a0, v128.load(q)); a1 = f32x4.add(a1, v128.load(q, 16));
      a2 = f32x4.add(a2, v128.load(q, 32)); a3 = f32x4.add(a3, v128.load(q, 48));
      a4 = f32x4.add(a4, v128.load(q, 64)); a5 = f32x4.add(a5, v128.load(q, 80));
      a6 = f32x4.add(a6, v128.load(q, 96)); a7 = f32x4.add(a7, v128.load(q, 112));
    }
    for (; i + 4 <= end; i += 4) a0 = f32x4.add(a0, v128.load(p + (<usize>i << 2)));
    const half0 = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    const half1 = f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7));
    let s = laneSum(f32x4.add(half0, half1));
    for (; i < end; i++) s += load<f32>(p + (<usize>i << 2));
    total += <f64>s;
  }
  return total;
}

/** Sets firstSum = Σ d and secondSum = Σ d² over the count floats at p, with d = x - pivot. */
function centredSums(p: usize, count: i32, pivot: f32): void {
  const vp = f32x4.splat(pivot);
  let sum: f64 = 0, squares: f64 = 0;
  for (let start = 0; start < count; start += BLOCK) {
    const end = min(start + BLOCK, count);
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    let q0 = s0, q1 = s0, q2 = s0, q3 = s0;
    let i = start;
    for (; i + 16 <= end; i += 16) {
      const q = p + (<usize>i << 2);
      const d0 = f32x4.sub(v128.load(q), vp), d1 = f32x4.sub(v128.load(q, 16), vp);
      const d2 = f32x4.sub(v128.load(q, 32), vp), d3 = f32x4.sub(v128.load(q, 48), vp);
      s0 = f32x4.add(s0, d0); q0 = f32x4.add(q0, f32x4.mul(d0, d0));
      s1 = f32x4.add(s1, d1); q1 = f32x4.add(q1, f32x4.mul(d1, d1));
      s2 = f32x4.add(s2, d2); q2 = f32x4.add(q2, f32x4.mul(d2, d2));
      s3 = f32x4.add(s3, d3); q3 = f32x4.add(q3, f32x4.mul(d3, d3));
    }
    for (; i + 4 <= end; i += 4) {
      const d = f32x4.sub(v128.load(p + (<usize>i << 2)), vp);
      s0 = f32x4.add(s0, d); q0 = f32x4.add(q0, f32x4.mul(d, d));
    }
    let s = laneSum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
    let sq = laneSum(f32x4.add(f32x4.add(q0, q1), f32x4.add(q2, q3)));
    for (; i < end; i++) {
      const d = load<f32>(p + (<usize>i << 2)) - pivot;
      s += d;
      sq += d * d;
    }
    sum += <f64>s;
    squares += <f64>sq;
  }
  firstSum = sum;
  secondSum = squares;
}

