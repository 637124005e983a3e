// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11, "Parallel random numbers:
// as easy as 1, 2, 3"), with standard normals by Box-Muller.
//
// A random number is addressed by (seed, stream, offset): element i of a stream is lane i % 4 of the Philox block
//
//   philox4x32_10(counter = (block lo, block hi, stream, 0), key = (seed lo, seed hi)),   block = floor(i / 4)
//
// so any slice of any stream is regenerated without generating what comes before it, and what one batch item
// gets depends only on its own offset. Each round maps (c0, c1, c2, c3) with the key (k0, k1) to
//   (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0)),  M0 = 0xD2511F53, M1 = 0xCD9E8D57,
// and the key is bumped by the Weyl increments (0x9E3779B9, 0xBB67AE85) between rounds.
//
// Conversions of a 32-bit word w (element i's lane):
//   normal    lanes (0, 1) and (2, 3) of a block form Box-Muller pairs (a, b), computed in f64, stored as f32:
//             u1 = (w_a + 1)·2^-32 in (0, 1], u2 = w_b·2^-32 in [0, 1), r = sqrt(-2 ln u1), θ = 2π·u2,
//             element a = r cos θ, element b = r sin θ.
//   uniform   w·2^-32 rounded toward zero to f32: the 32-bit word is cut to its 24 leading significant bits, so
//             the f32 conversion and the power-of-two scaling are exact, and the largest value is 1 - 2^-24,
//             never 1 (round-to-nearest would turn every w >= 2^32 - 128 into 1).
//   integer   floor(w·high / 2^32) by a 64-bit multiply: 0 <= v < high (Lemire's multiply-shift; the bias is
//             at most high / 2^32 per value).
//
// The SIMD kernels run Philox on four consecutive blocks at once (one block per i32x4 lane; 32x32->64-bit
// products by i64x2.extmul) and then convert scalar; log/sin/cos stay scalar f64 (AssemblyScript's Math,
// compiled into the module, so the bits are the same in every engine). Each has a `...Scalar` twin that
// computes every element on its own, from its own block: the two agree bit for bit.
//
// Legend: n elements to fill, offset the index (in the stream) of the first one.

// @ts-ignore: decorator
@inline const M0: u32 = 0xD2511F53;
// @ts-ignore: decorator
@inline const M1: u32 = 0xCD9E8D57;
// @ts-ignore: decorator
@inline const W0: u32 = 0x9E3779B9;
// @ts-ignore: decorator
@inline const W1: u32 = 0xBB67AE85;
// @ts-ignore: decorator
@inline const ROUNDS: i32 = 10;
// @ts-ignore: decorator
@inline const TWO_POW_M32: f64 = 2.3283064365386963e-10; // 2^-32
// @ts-ignore: decorator
@inline const TWO_PI: f64 = 6.283185307179586;

/** 16 words: four consecutive Philox blocks, block-major (the words of 16 consecutive elements). */
const groupWords: usize = memory.data(64, 16);
/** One block's 4 words, for the scalar path. */
const blockWords: usize = memory.data(16, 16);

// ---------------------------------------------------------------------------------------------------------
// Philox4x32-10

/** One Philox4x32-10 block: writes the 4 output words of counter (c0, c1, c2, c3) under key (k0, k1) to out. */
export function philox4x32(out: usize, c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  for (let r = 0; r < ROUNDS; r++) {
    if (r > 0) { k0 += W0; k1 += W1; }
    const p0 = <u64>M0 * <u64>c0;
    const p1 = <u64>M1 * <u64>c2;
    const n0 = <u32>(p1 >> 32) ^ c1 ^ k0;
    const n2 = <u32>(p0 >> 32) ^ c3 ^ k1;
    c0 = n0; c1 = <u32>p1; c2 = n2; c3 = <u32>p0;
  }
  store<u32>(out, c0); store<u32>(out, c1, 4); store<u32>(out, c2, 8); store<u32>(out, c3, 12);
}

/** The block holding element `index` of a stream, into `blockWords`. */
// @ts-ignore: decorator
@inline function elementBlock(index: u64, seedLo: u32, seedHi: u32, stream: u32): void {
  const block = index >> 2;
  philox4x32(blockWords, <u32>block, <u32>(block >> 32), stream, 0, seedLo, seedHi);
}

/**
 * Philox on blocks first .. first+3 at once (first a multiple of 4; lane j of each vector is block first+j),
 * written block-major to `groupWords`: the words of elements 4·first .. 4·first+15.
 */
function philoxGroup(first: u64, seedLo: u32, seedHi: u32, stream: u32): void {
  // `first` is a multiple of 4, so the low words first+0..3 never wrap: no carry into the high word.
  let c0 = i32x4.add(i32x4.splat(<u32>first), i32x4(0, 1, 2, 3));
  let c1 = i32x4.splat(<u32>(first >> 32));
  let c2 = i32x4.splat(stream);
  let c3 = i32x4.splat(0);
  const m0 = i32x4.splat(M0), m1 = i32x4.splat(M1);
  let k0 = seedLo, k1 = seedHi;
  for (let r = 0; r < ROUNDS; r++) {
    if (r > 0) { k0 += W0; k1 += W1; }
    const hi0 = i32x4.shuffle(i64x2.extmul_low_i32x4_u(m0, c0), i64x2.extmul_high_i32x4_u(m0, c0), 1, 3, 5, 7);
    const hi1 = i32x4.shuffle(i64x2.extmul_low_i32x4_u(m1, c2), i64x2.extmul_high_i32x4_u(m1, c2), 1, 3, 5, 7);
    const lo0 = i32x4.mul(m0, c0), lo1 = i32x4.mul(m1, c2);
    c0 = v128.xor(v128.xor(hi1, c1), i32x4.splat(k0));
    c1 = lo1;
    c2 = v128.xor(v128.xor(hi0, c3), i32x4.splat(k1));
    c3 = lo0;
  }
  // Transpose word-major (vector w = word w of the 4 blocks) to block-major.
  const t0 = i32x4.shuffle(c0, c1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(c0, c1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(c2, c3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(c2, c3, 2, 6, 3, 7);
  v128.store(groupWords, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(groupWords, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(groupWords, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(groupWords, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

// ---------------------------------------------------------------------------------------------------------
// Conversions of one word (or one Box-Muller pair)

/** Box-Muller radius from the pair's first word: sqrt(-2 ln u1), u1 = (wa + 1)·2^-32 in (0, 1]. */
// @ts-ignore: decorator
@inline function boxMullerRadius(wa: u32): f64 {
  return Math.sqrt(-2.0 * Math.log((<f64>wa + 1.0) * TWO_POW_M32));
}

/** Box-Muller angle from the pair's second word: 2π·u2, u2 = wb·2^-32 in [0, 1). */
// @ts-ignore: decorator
@inline function boxMullerAngle(wb: u32): f64 {
  return TWO_PI * (<f64>wb * TWO_POW_M32);
}

/** w·2^-32 rounded toward zero to f32: keep the 24 leading significant bits, then convert (exactly). */
// @ts-ignore: decorator
@inline function wordToUniform(w: u32): f32 {
  const drop = max<i32>(8 - <i32>clz(w), 0);
  return <f32>((w >>> drop) << drop) * <f32>TWO_POW_M32;
}

/** floor(w·high / 2^32) for 1 <= high <= 2^31 (high read as unsigned). */
// @ts-ignore: decorator
@inline function wordToInt(w: u32, high: u32): i32 {
  return <i32>((<u64>w * <u64>high) >> 32);
}

// ---------------------------------------------------------------------------------------------------------
// Fill kernels. The SIMD versions walk groups of 4 blocks (16 elements); in each group, elements
// [first, first + count) fall inside the requested range.

/** out[j] = raw 32-bit word (offset + j) of the stream (u32 pointer). */
export function randBitsFill(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32): void {
  let index = <u64>offset;
  let j = 0;
  while (j < n) {
    const first = <i32>(index & 15), count = min(16 - first, n - j);
    philoxGroup((index >> 4) << 2, seedLo, seedHi, stream);
    memory.copy(out + (<usize>j << 2), groupWords + (<usize>first << 2), <usize>count << 2);
    j += count; index += <u64>count;
  }
}

/** The scalar twin of `randBitsFill`. */
export function randBitsFillScalar(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32): void {
  const start = <u64>offset;
  for (let j = 0; j < n; j++) {
    const index = start + <u64>j;
    elementBlock(index, seedLo, seedHi, stream);
    store<u32>(out + (<usize>j << 2), load<u32>(blockWords + (<usize>(index & 3) << 2)));
  }
}

/** out[j] = standard normal number (offset + j) of the stream (f32; Box-Muller in f64). */
export function randnFill(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32): void {
  let index = <u64>offset;
  let j = 0;
  while (j < n) {
    const first = <i32>(index & 15), count = min(16 - first, n - j);
    philoxGroup((index >> 4) << 2, seedLo, seedHi, stream);
    normalsFromGroup(out + (<usize>j << 2), first, count);
    j += count; index += <u64>count;
  }
}

/** Box-Muller on the pairs of `groupWords` that overlap elements [first, first + count); writes those elements. */
// @ts-ignore: decorator
@inline function normalsFromGroup(out: usize, first: i32, count: i32): void {
  const end = first + count;
  for (let a = first & ~1; a < end; a += 2) {
    const r = boxMullerRadius(load<u32>(groupWords + (<usize>a << 2)));
    // sincos shares the argument reduction of sin and cos (musl's sincos) and returns the same bits as each.
    Math.sincos(boxMullerAngle(load<u32>(groupWords + (<usize>(a + 1) << 2))));
    if (a >= first) store<f32>(out + (<usize>(a - first) << 2), <f32>(r * Math.sincos_cos));
    if (a + 1 < end) store<f32>(out + (<usize>(a + 1 - first) << 2), <f32>(r * Math.sincos_sin));
  }
}

/** The scalar twin of `randnFill`: each element from its own block and its own Box-Muller pair. */
export function randnFillScalar(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32): void {
  const start = <u64>offset;
  for (let j = 0; j < n; j++) {
    const index = start + <u64>j;
    elementBlock(index, seedLo, seedHi, stream);
    const pair = blockWords + (<usize>(index & 2) << 2);
    const r = boxMullerRadius(load<u32>(pair));
    const theta = boxMullerAngle(load<u32>(pair, 4));
    const z = (index & 1) == 0 ? r * Math.cos(theta) : r * Math.sin(theta);
    store<f32>(out + (<usize>j << 2), <f32>z);
  }
}

/** out[j] = uniform number (offset + j) of the stream, in [0, 1) (f32; see `wordToUniform`). */
export function randUniformFill(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32): void {
  let index = <u64>offset;
  let j = 0;
  while (j < n) {
    const first = <i32>(index & 15), count = min(16 - first, n - j);
    philoxGroup((index >> 4) << 2, seedLo, seedHi, stream);
    for (let e = 0; e < count; e++) {
      store<f32>(out + (<usize>(j + e) << 2), wordToUniform(load<u32>(groupWords + (<usize>(first + e) << 2))));
    }
    j += count; index += <u64>count;
  }
}

/** The scalar twin of `randUniformFill`. */
export function randUniformFillScalar(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32): void {
  const start = <u64>offset;
  for (let j = 0; j < n; j++) {
    const index = start + <u64>j;
    elementBlock(index, seedLo, seedHi, stream);
    store<f32>(out + (<usize>j << 2), wordToUniform(load<u32>(blockWords + (<usize>(index & 3) << 2))));
  }
}

/** out[j] = integer (offset + j) of the stream, in [0, high) (i32 pointer; 1 <= high <= 2^31, read as unsigned). */
export function randIntFill(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32, high: u32): void {
  let index = <u64>offset;
  let j = 0;
  while (j < n) {
    const first = <i32>(index & 15), count = min(16 - first, n - j);
    philoxGroup((index >> 4) << 2, seedLo, seedHi, stream);
    for (let e = 0; e < count; e++) {
      store<i32>(out + (<usize>(j + e) << 2), wordToInt(load<u32>(groupWords + (<usize>(first + e) << 2)), high));
    }
    j += count; index += <u64>count;
  }
}

/** The scalar twin of `randIntFill`. */
export function randIntFillScalar(out: usize, n: i32, seedLo: u32, seedHi: u32, offset: f64, stream: u32, high: u32): void {
  const start = <u64>offset;
  for (let j = 0; j < n; j++) {
    const index = start + <u64>j;
    elementBlock(index, seedLo, seedHi, stream);
    store<i32>(out + (<usize>j << 2), wordToInt(load<u32>(blockWords + (<usize>(index & 3) << 2)), high));
  }
}
