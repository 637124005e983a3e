// The softmax row of the attention kernels (attention.ts, attention-channels.ts), shared so that both give the
// same bits. Not a wasm export (index.ts does not re-export this file).
import { expf32Lane, expf32x4 } from './simd-math';

// Softmax terms e^z with z = (s − max)·scale below FLUSH_BELOW (e^-69 < 2^-99) are set to 0: they are invisible next
// to the row's largest term, 1, and left in they would become subnormal floats (after the division by the row
// sum, or right away), whose arithmetic is 10-100x slower on x86, in the softmax, in P·v and in the backward.
// @ts-ignore: decorator
@inline export const FLUSH_BELOW: f32 = -69.0;

/** Replaces the T logits at p by softmax(scale · logits): e^((s − max)·scale) (flushed), then divided by their sum. */
// @ts-ignore: decorator
@inline export function softmaxRow(p: usize, T: i32, scale: f32): void {
  const T4 = T & ~3;
  let maxes = f32x4.splat(-Infinity);
  // pmax is one instruction (max is several: it orders -0 < +0 and propagates NaN). A NaN logit is still not
  // lost: its own term below becomes NaN and so does the whole row.
  for (let j = 0; j < T4; j += 4) maxes = f32x4.pmax(maxes, v128.load(p + (<usize>j << 2)));
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(maxes, 0), f32x4.extract_lane(maxes, 1)),
    Mathf.max(f32x4.extract_lane(maxes, 2), f32x4.extract_lane(maxes, 3)));
  for (let j = T4; j < T; j++) max = Mathf.max(max, load<f32>(p + (<usize>j << 2)));

  const maxes4 = f32x4.splat(max), scale4 = f32x4.splat(scale), flush4 = f32x4.splat(FLUSH_BELOW);
  let sums = f32x4.splat(0);
  for (let j = 0; j < T4; j += 4) {
    const at = p + (<usize>j << 2);
    const z = f32x4.mul(f32x4.sub(v128.load(at), maxes4), scale4);
    // Clamped first: exp of a far smaller z would be computed through subnormals (slow) before the mask zeroes it.
    const e = v128.andnot(expf32x4(f32x4.pmax(z, flush4)), f32x4.lt(z, flush4));
    v128.store(at, e);
    sums = f32x4.add(sums, e);
  }
  let sum = laneSum(sums);
  for (let j = T4; j < T; j++) {
    const at = p + (<usize>j << 2);
    const z = (load<f32>(at) - max) * scale;
    const e: f32 = z < FLUSH_BELOW ? 0 : expf32Lane(z);
    store<f32>(at, e);
    sum += e;
  }

  const inv = f32x4.splat(<f32>1 / sum);
  for (let j = 0; j < T4; j += 4) {
    const at = p + (<usize>j << 2);
    v128.store(at, f32x4.mul(v128.load(at), inv));
  }
  for (let j = T4; j < T; j++) {
    const at = p + (<usize>j << 2);
    store<f32>(at, load<f32>(at) * f32x4.extract_lane(inv, 0));
  }
}

/** (lane0 + lane1) + (lane2 + lane3): the fixed order in which the SIMD row sums are finished. */
// @ts-ignore: decorator
@inline export function laneSum(x: v128): f32 {
  return (f32x4.extract_lane(x, 0) + f32x4.extract_lane(x, 1)) + (f32x4.extract_lane(x, 2) + f32x4.extract_lane(x, 3));
}

