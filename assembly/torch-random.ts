// PyTorch's CPU random normals, torch.randn(shape, generator=torch.Generator().manual_seed(s)) in float32, bit
// for bit (docs/torch-noise.md; PyTorch 1.13 to 2.x: ATen/core/MT19937RNGEngine.h, CPUGeneratorImpl.cpp,
// core/DistributionsHelper.h, core/TransformationHelper.h, native/cpu/DistributionTemplates.h).
//
// The engine is MT19937 (Matsumoto & Nishimura 1998), seeded by init_genrand with the seed's low 32 bits. A
// generator's state (GEN_BYTES at a 16-byte aligned address) is the 624 words, PyTorch's `left` and `next`
// counters, and the cached second normal of normal_distribution<double>. A float32 tensor of n elements:
//
//   n >= 16: u[i] = (word & 0xFFFFFF)·2^-24 for all n elements (one word each), then Box-Muller on each full
//            block of 16 (u[j] with u[j + 8], assembly/torch-math.ts); when 16 does not divide n, 16 fresh
//            uniforms overwrite the last 16 elements and that block is transformed again.
//   n < 16:  element by element, normal_distribution<double>: u1, u2 of 53 bits from two words each
//            ((w0 << 32 | w1) & (2^53 - 1))·2^-53; r = sqrt(-2 ln(1 - u2)), θ = 2π·u1; the element is r cos θ
//            rounded to float32, and r sin θ (float64) is cached for the next element drawn, in this call or
//            a later one (the n >= 16 path neither uses nor clears it; seeding clears it).
//
// `capability` picks the float32 functions of the 16-blocks: 0 = ATen's AVX2 kernel (every x86-64 CPU with
// AVX2), 1 = its portable kernel (arm64, Apple silicon). The SIMD versions twist the state, temper words and
// run the AVX2 kernel's math on four lanes; the portable kernel's math (libm calls) and the n < 16 path are
// scalar in both. Each export has a `...Scalar` twin of the same signature; the two agree bit for bit.

import { glibcSinCosf, logAvx1, logAvx4, sincos1Cos, sincos1Sin, sincos4Cos, sincos4Sin, sincosAvx1,
  sincosAvx4 } from './torch-math';

// @ts-ignore: decorator
@inline const N: i32 = 624;
// @ts-ignore: decorator
@inline const M: i32 = 397;
// @ts-ignore: decorator
@inline const MATRIX_A: u32 = 0x9908b0df;
// Byte offsets in a generator's state.
// @ts-ignore: decorator
@inline const LEFT: usize = 2496;
// @ts-ignore: decorator
@inline const NEXT: usize = 2500;
// @ts-ignore: decorator
@inline const HAS_NORMAL: usize = 2504;
// @ts-ignore: decorator
@inline const NORMAL: usize = 2512;
// @ts-ignore: decorator
@inline const GEN_BYTES: i32 = 2520;
// @ts-ignore: decorator
@inline const TWO_PI: f64 = 6.283185307179586; // 2.0 * c10::pi<double>
// @ts-ignore: decorator
@inline const TWO_PI_F32: f32 = reinterpret<f32>(0x40c90fdb); // _mm256_set1_ps(2.0f * c10::pi<double>)
// @ts-ignore: decorator
@inline const TWO_POW_M24: f32 = 5.9604644775390625e-8;
// @ts-ignore: decorator
@inline const TWO_POW_M53: f64 = 1.1102230246251565e-16;

/** Bytes of one generator's state. */
export function torchGeneratorBytes(): i32 { return GEN_BYTES; }

/** mt19937(seed) as PyTorch's manual_seed makes it: init_genrand(seed & 0xffffffff), no cached normal. */
export function torchGeneratorSeed(gen: usize, seed: u32): void {
  store<u32>(gen, seed);
  for (let j = 1; j < N; j++) {
    const prev = load<u32>(gen + (<usize>(j - 1) << 2));
    store<u32>(gen + (<usize>j << 2), 1812433253 * (prev ^ (prev >> 30)) + <u32>j);
  }
  store<i32>(gen, 1, LEFT);
  store<i32>(gen, 0, NEXT);
  store<u64>(gen, 0, HAS_NORMAL); // the flag and the 4 bytes of padding after it, so every byte is defined
  store<f64>(gen, 0, NORMAL);
}

// ---------------------------------------------------------------------------------------------------------
// The engine

/** One state word of the recurrence: mt[k] = mt[k + M or k + M - N] ^ twist(mt[k], mt[k + 1]). */
// @ts-ignore: decorator
@inline function twist1(far: u32, u: u32, v: u32): u32 {
  return far ^ (((u & 0x80000000) | (v & 0x7fffffff)) >> 1) ^ (-(v & 1) & MATRIX_A);
}

/** The next 624 state words (next_state), in place, one at a time. */
function regenerateScalar(gen: usize): void {
  for (let k = 0; k < N - 1; k++) {
    const far = k < N - M ? k + M : k + M - N;
    store<u32>(gen + (<usize>k << 2), twist1(load<u32>(gen + (<usize>far << 2)),
      load<u32>(gen + (<usize>k << 2)), load<u32>(gen + (<usize>(k + 1) << 2))));
  }
  store<u32>(gen + (<usize>(N - 1) << 2), twist1(load<u32>(gen + (<usize>(M - 1) << 2)),
    load<u32>(gen + (<usize>(N - 1) << 2)), load<u32>(gen)));
}

/** Words k .. k+3 of the recurrence at once (they depend on words at least 4 apart, already final). */
// @ts-ignore: decorator
@inline function twist4(gen: usize, k: i32, far: i32): void {
  const u = v128.load(gen + (<usize>k << 2)), v = v128.load(gen + (<usize>(k + 1) << 2));
  const mixed = i32x4.shr_u(v128.or(v128.and(u, i32x4.splat(0x80000000)), v128.and(v, i32x4.splat(0x7fffffff))), 1);
  const odd = v128.and(i32x4.neg(v128.and(v, i32x4.splat(1))), i32x4.splat(MATRIX_A));
  v128.store(gen + (<usize>k << 2), v128.xor(v128.xor(v128.load(gen + (<usize>far << 2)), mixed), odd));
}

/** The SIMD twin of `regenerateScalar`: 4 words at a time (words k..k+3 read words k+1..k+4 and k±227..). */
function regenerate(gen: usize): void {
  let k = 0;
  for (; k + 4 <= N - M; k += 4) twist4(gen, k, k + M);
  for (; k < N - M; k++) {
    store<u32>(gen + (<usize>k << 2), twist1(load<u32>(gen + (<usize>(k + M) << 2)),
      load<u32>(gen + (<usize>k << 2)), load<u32>(gen + (<usize>(k + 1) << 2))));
  }
  for (; k + 4 <= N - 1; k += 4) twist4(gen, k, k + M - N);
  for (; k < N - 1; k++) {
    store<u32>(gen + (<usize>k << 2), twist1(load<u32>(gen + (<usize>(k + M - N) << 2)),
      load<u32>(gen + (<usize>k << 2)), load<u32>(gen + (<usize>(k + 1) << 2))));
  }
  store<u32>(gen + (<usize>(N - 1) << 2), twist1(load<u32>(gen + (<usize>(M - 1) << 2)),
    load<u32>(gen + (<usize>(N - 1) << 2)), load<u32>(gen)));
}

// @ts-ignore: decorator
@inline function temper(y: u32): u32 {
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  return y ^ (y >> 18);
}

// @ts-ignore: decorator
@inline function temper4(y: v128): v128 {
  y = v128.xor(y, i32x4.shr_u(y, 11));
  y = v128.xor(y, v128.and(i32x4.shl(y, 7), i32x4.splat(0x9d2c5680)));
  y = v128.xor(y, v128.and(i32x4.shl(y, 15), i32x4.splat(0xefc60000)));
  return v128.xor(y, i32x4.shr_u(y, 18));
}

/**
 * Makes at least one word available and returns how many are (PyTorch's operator(): `if (--left == 0)
 * next_state()`; `left - 1` words remain before the next twist). The caller takes k of them and lowers
 * `left` by k and raises `next` by k; after a twist `left` is set one above PyTorch's 624 because the word
 * PyTorch takes in the same call does not lower it.
 */
// @ts-ignore: decorator
@inline function available(gen: usize, simd: bool): i32 {
  let left = load<i32>(gen, LEFT);
  if (left <= 1) {
    if (simd) regenerate(gen); else regenerateScalar(gen);
    left = N + 1;
    store<i32>(gen, left, LEFT);
    store<i32>(gen, 0, NEXT);
  }
  return left - 1;
}

// @ts-ignore: decorator
@inline function advance(gen: usize, k: i32): void {
  store<i32>(gen, load<i32>(gen, LEFT) - k, LEFT);
  store<i32>(gen, load<i32>(gen, NEXT) + k, NEXT);
}

/** The next 32-bit output (one call of PyTorch's mt19937 operator()). */
// @ts-ignore: decorator
@inline function nextWord(gen: usize): u32 {
  available(gen, false);
  const w = temper(load<u32>(gen + (<usize>load<i32>(gen, NEXT) << 2)));
  advance(gen, 1);
  return w;
}

/**
 * `count` outputs of the engine into out: raw words (`uniform` false) or float32 uniforms
 * (word & 0xFFFFFF)·2^-24 (uniform_real_distribution<float>(0, 1)); four at a time where `simd`.
 */
// @ts-ignore: decorator
@inline function takeWords(gen: usize, out: usize, count: i32, uniform: bool, simd: bool): void {
  let j = 0;
  while (j < count) {
    const k = min(available(gen, simd), count - j);
    const src = gen + (<usize>load<i32>(gen, NEXT) << 2), dst = out + (<usize>j << 2);
    let e = 0;
    if (simd) {
      for (; e + 4 <= k; e += 4) {
        const w = temper4(v128.load(src + (<usize>e << 2)));
        v128.store(dst + (<usize>e << 2), uniform
          ? f32x4.mul(f32x4.convert_i32x4_s(v128.and(w, i32x4.splat(0xffffff))), f32x4.splat(TWO_POW_M24))
          : w);
      }
    }
    for (; e < k; e++) {
      const w = temper(load<u32>(src + (<usize>e << 2)));
      if (uniform) store<f32>(dst + (<usize>e << 2), <f32>(w & 0xffffff) * TWO_POW_M24);
      else store<u32>(dst + (<usize>e << 2), w);
    }
    advance(gen, k);
    j += k;
  }
}

/** out[0..n) = the next n raw 32-bit outputs of the generator (u32). */
export function torchRandomBits(out: usize, n: i32, gen: usize): void { takeWords(gen, out, n, false, true); }

/** The scalar twin of `torchRandomBits`. */
export function torchRandomBitsScalar(out: usize, n: i32, gen: usize): void { takeWords(gen, out, n, false, false); }

// ---------------------------------------------------------------------------------------------------------
// Box-Muller on blocks of 16

/** normal_fill_16_AVX2 in place on data[0..16), four pairs at a time. */
function block16Avx2(data: usize): void {
  for (let j = 0; j < 8; j += 4) {
    const p = data + (<usize>j << 2);
    const u1 = f32x4.sub(f32x4.splat(1), v128.load(p));
    const radius = f32x4.sqrt(f32x4.mul(f32x4.splat(-2), logAvx4(u1)));
    sincosAvx4(f32x4.mul(f32x4.splat(TWO_PI_F32), v128.load(p, 32)));
    // mean + std·n with mean 0, std 1: the + 0 turns a -0 into +0, as the kernel's fmadd does.
    v128.store(p, f32x4.add(f32x4.mul(radius, sincos4Cos), f32x4.splat(0)));
    v128.store(p, f32x4.add(f32x4.mul(radius, sincos4Sin), f32x4.splat(0)), 32);
  }
}

/** The scalar twin of `block16Avx2`: one pair at a time. */
function block16Avx2Scalar(data: usize): void {
  for (let j = 0; j < 8; j++) {
    const p = data + (<usize>j << 2);
    const radius = Mathf.sqrt(<f32>-2 * logAvx1(<f32>1 - load<f32>(p)));
    sincosAvx1(TWO_PI_F32 * load<f32>(p, 32));
    store<f32>(p, radius * sincos1Cos + <f32>0);
    store<f32>(p, radius * sincos1Sin + <f32>0, 32);
  }
}

/** normal_fill_16 (float) in place on data[0..16): libm's logf, cosf, sinf (see torch-math.ts). */
function block16Default(data: usize): void {
  for (let j = 0; j < 8; j++) {
    const p = data + (<usize>j << 2);
    const radius = Mathf.sqrt(<f32>-2 * Mathf.log(<f32>1 - load<f32>(p)));
    const theta = <f32>(TWO_PI * <f64>load<f32>(p, 32)); // 2.0f * c10::pi<double> * u2, in double
    store<f32>(p, radius * glibcSinCosf(theta, true) + <f32>0);
    store<f32>(p, radius * glibcSinCosf(theta, false) + <f32>0, 32);
  }
}

// @ts-ignore: decorator
@inline function block16(data: usize, capability: i32, simd: bool): void {
  if (capability != 0) block16Default(data);
  else if (simd) block16Avx2(data);
  else block16Avx2Scalar(data);
}

/** In place on `blocks` consecutive blocks of 16 uniforms: PyTorch's Box-Muller of each block. */
export function torchBoxMuller16(data: usize, blocks: i32, capability: i32): void {
  for (let b = 0; b < blocks; b++) block16(data + (<usize>b << 6), capability, true);
}

/** The scalar twin of `torchBoxMuller16`. */
export function torchBoxMuller16Scalar(data: usize, blocks: i32, capability: i32): void {
  for (let b = 0; b < blocks; b++) block16(data + (<usize>b << 6), capability, false);
}

// ---------------------------------------------------------------------------------------------------------
// torch.randn

/** uniform_real_distribution<double>(0, 1): 53 bits of (first word << 32 | second word), times 2^-53. */
// @ts-ignore: decorator
@inline function uniform53(gen: usize): f64 {
  const hi = <u64>nextWord(gen);
  const lo = <u64>nextWord(gen);
  return <f64>(((hi << 32) | lo) & 0x1fffffffffffff) * TWO_POW_M53;
}

/** normal_distribution<double>(0, 1) with PyTorch's cache of the second Box-Muller value, as float32. */
// @ts-ignore: decorator
@inline function normalDouble(gen: usize): f32 {
  if (load<i32>(gen, HAS_NORMAL) != 0) {
    store<i32>(gen, 0, HAS_NORMAL);
    return <f32>(load<f64>(gen, NORMAL) + 0);
  }
  const u1 = uniform53(gen);
  const u2 = uniform53(gen);
  const r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
  const theta = TWO_PI * u1;
  store<f64>(gen, r * Math.sin(theta), NORMAL);
  store<i32>(gen, 1, HAS_NORMAL);
  return <f32>(r * Math.cos(theta) + 0);
}

// @ts-ignore: decorator
@inline function randnFill(out: usize, n: i32, gen: usize, capability: i32, simd: bool): void {
  if (n < 16) {
    for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), normalDouble(gen));
    return;
  }
  takeWords(gen, out, n, true, simd);
  for (let i = 0; i + 16 <= n; i += 16) block16(out + (<usize>i << 2), capability, simd);
  if (n % 16 != 0) {
    const tail = out + (<usize>(n - 16) << 2);
    takeWords(gen, tail, 16, true, simd);
    block16(tail, capability, simd);
  }
}

/** out[0..n) = torch.randn(n) (float32) drawn from the generator at `gen`, which advances as PyTorch's does. */
export function torchRandnFill(out: usize, n: i32, gen: usize, capability: i32): void {
  randnFill(out, n, gen, capability, true);
}

/** The scalar twin of `torchRandnFill`. */
export function torchRandnFillScalar(out: usize, n: i32, gen: usize, capability: i32): void {
  randnFill(out, n, gen, capability, false);
}
