// The softmax rows of the attention kernels (attention.ts, attention-channels.ts), shared so that both give the
// same bits: `softmaxRow` for one row, `softmaxRows4` for four at once with the same bits (it puts the four rows'
// tail logits, T mod 4 of each, into shared vectors, where `softmaxRow` spends a whole vector exp on each tail
// logit of its row; at T = 49 that is 1 vector exp in 13 saved). Not a wasm export (index.ts does not re-export
// this file); the test build's test-hooks.ts exports `softmaxRows` and a softmaxRow loop, to compare their bits.
import { expf32Lane, expf32x4InRange } from './simd-math';

// Softmax terms e^z with z = (s − max)·scale below FLUSH_BELOW (e^-69 < 2^-99) are set to 0: they are invisible next
// to the row's largest term, 1, and left in they would become subnormal floats (after the division by the row
// sum, or right away), whose arithmetic is 10-100x slower on x86, in the softmax, in P·v and in the backward.
// @ts-ignore: decorator
@inline export const FLUSH_BELOW: f32 = -69.0;

/**
 * Replaces the T logits at p by softmax(scale · logits): e^((s − max)·scale) (flushed), then divided by their sum.
 * scale must be positive (the kernels' 1/sqrt(D)): flushedExp relies on z = (s − max)·scale <= 0.
 */
// @ts-ignore: decorator
@inline export function softmaxRow(p: usize, T: i32, scale: f32): void {
  const T4 = T & ~3;
  let maxes = f32x4.splat(-Infinity);
  // pmax is one instruction (max is several: it orders -0 < +0 and propagates NaN). A NaN logit is still not
  // lost: its own term below becomes NaN and so does the whole row.
  for (let j = 0; j < T4; j += 4) maxes = f32x4.pmax(maxes, v128.load(p + (<usize>j << 2)));
  let max = maxOfLanes(maxes);
  for (let j = T4; j < T; j++) max = Mathf.max(max, load<f32>(p + (<usize>j << 2)));

  const scale4 = f32x4.splat(scale), flush4 = f32x4.splat(FLUSH_BELOW);
  let sum = rowTerms(p, T4, f32x4.splat(max), scale4, flush4);
  for (let j = T4; j < T; j++) {
    const at = p + (<usize>j << 2);
    const z = (load<f32>(at) - max) * scale;
    const e: f32 = z < FLUSH_BELOW ? 0 : expf32Lane(z);
    store<f32>(at, e);
    sum += e;
  }
  scaleRow(p, T4, T, f32x4.splat(<f32>1 / sum));
}

/** `softmaxRow` on each of the `rows` rows of T logits at p (contiguous), four at a time with `softmaxRows4`. */
// @ts-ignore: decorator
@inline export function softmaxRows(p: usize, rows: i32, T: i32, scale: f32): void {
  const row = <usize>T << 2;
  let i = 0;
  for (; i + 4 <= rows; i += 4) softmaxRows4(p + <usize>i * row, T, scale);
  for (; i < rows; i++) softmaxRow(p + <usize>i * row, T, scale);
}

/**
 * `softmaxRow` on the four rows of T logits at p (rows T floats apart), with its bits: each element gets the same
 * operations, since a row's max, terms, sum and 1/sum are finished in softmaxRow's order, and its tail terms are
 * lanes of one `expf32x4` (lanes are independent, and `expf32Lane` is a lane of a splat).
 */
export function softmaxRows4(p: usize, T: i32, scale: f32): void {
  const T4 = T & ~3, row = <usize>T << 2;
  const p1 = p + row, p2 = p1 + row, p3 = p2 + row;
  // The four rows' max passes in one loop: four independent pmax chains.
  let m0 = f32x4.splat(-Infinity), m1 = m0, m2 = m0, m3 = m0;
  for (let j = 0; j < T4; j += 4) {
    const o = <usize>j << 2;
    m0 = f32x4.pmax(m0, v128.load(p + o));
    m1 = f32x4.pmax(m1, v128.load(p1 + o));
    m2 = f32x4.pmax(m2, v128.load(p2 + o));
    m3 = f32x4.pmax(m3, v128.load(p3 + o));
  }
  // Lane r of maxes is row r's max, finished as softmaxRow does (f32x4.max is f32.max in each lane).
  let maxes = f32x4.replace_lane(f32x4.splat(maxOfLanes(m0)), 1, maxOfLanes(m1));
  maxes = f32x4.replace_lane(f32x4.replace_lane(maxes, 2, maxOfLanes(m2)), 3, maxOfLanes(m3));
  for (let j = T4; j < T; j++) maxes = f32x4.max(maxes, column(p, row, j));

  const scale4 = f32x4.splat(scale), flush4 = f32x4.splat(FLUSH_BELOW);
  let sums = f32x4.splat(rowTerms(p, T4, f32x4.splat(f32x4.extract_lane(maxes, 0)), scale4, flush4));
  sums = f32x4.replace_lane(sums, 1, rowTerms(p1, T4, f32x4.splat(f32x4.extract_lane(maxes, 1)), scale4, flush4));
  sums = f32x4.replace_lane(sums, 2, rowTerms(p2, T4, f32x4.splat(f32x4.extract_lane(maxes, 2)), scale4, flush4));
  sums = f32x4.replace_lane(sums, 3, rowTerms(p3, T4, f32x4.splat(f32x4.extract_lane(maxes, 3)), scale4, flush4));
  for (let j = T4; j < T; j++) {
    const z = f32x4.mul(f32x4.sub(column(p, row, j), maxes), scale4);
    const e = flushedExp(z, flush4), at = p + (<usize>j << 2);
    v128.store32_lane(at, e, 0);
    v128.store32_lane(at + row, e, 1);
    v128.store32_lane(at + 2 * row, e, 2);
    v128.store32_lane(at + 3 * row, e, 3);
    sums = f32x4.add(sums, e);
  }

  const inv = f32x4.div(f32x4.splat(1), sums);
  scaleRow(p, T4, T, f32x4.splat(f32x4.extract_lane(inv, 0)));
  scaleRow(p1, T4, T, f32x4.splat(f32x4.extract_lane(inv, 1)));
  scaleRow(p2, T4, T, f32x4.splat(f32x4.extract_lane(inv, 2)));
  scaleRow(p3, T4, T, f32x4.splat(f32x4.extract_lane(inv, 3)));
}

/** max(max(lane0, lane1), max(lane2, lane3)): the order in which softmaxRow finishes its row max. */
// @ts-ignore: decorator
@inline function maxOfLanes(x: v128): f32 {
  return Mathf.max(Mathf.max(f32x4.extract_lane(x, 0), f32x4.extract_lane(x, 1)),
    Mathf.max(f32x4.extract_lane(x, 2), f32x4.extract_lane(x, 3)));
}

/** Element j of the four rows at p (rows `row` bytes apart) as one vector. */
// @ts-ignore: decorator
@inline function column(p: usize, row: usize, j: i32): v128 {
  const at = p + (<usize>j << 2);
  let c = v128.load32_splat(at);
  c = v128.load32_lane(at + row, c, 1);
  c = v128.load32_lane(at + 2 * row, c, 2);
  return v128.load32_lane(at + 3 * row, c, 3);
}

/** softmaxRow's vector part of the terms: the first T4 logits at p replaced by their flushed e^z; returns their sum. */
// @ts-ignore: decorator
@inline function rowTerms(p: usize, T4: i32, max4: v128, scale4: v128, flush4: v128): f32 {
  let sums = f32x4.splat(0);
  for (let j = 0; j < T4; j += 4) {
    const at = p + (<usize>j << 2);
    const e = flushedExp(f32x4.mul(f32x4.sub(v128.load(at), max4), scale4), flush4);
    v128.store(at, e);
    sums = f32x4.add(sums, e);
  }
  return laneSum(sums);
}

/** e^z in each lane, 0 where z < FLUSH_BELOW (flush4 is its splat), for z <= 0 or NaN. */
// @ts-ignore: decorator
@inline function flushedExp(z: v128, flush4: v128): v128 {
  // Clamped first: exp of a far smaller z would be computed through subnormals (slow) before the mask zeroes it.
  // The clamped z is in [FLUSH_BELOW, 0] or NaN, inside expf32x4's own clamp, so that can be skipped: same bits.
  return v128.andnot(expf32x4InRange(f32x4.pmax(z, flush4)), f32x4.lt(z, flush4));
}

/** The T terms at p multiplied by inv (splatted), as softmaxRow does. */
// @ts-ignore: decorator
@inline function scaleRow(p: usize, T4: i32, T: i32, inv: v128): void {
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

