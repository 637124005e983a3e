// Half-precision storage formats for the safetensors files: IEEE 754 binary16 ('F16') and bfloat16 ('BF16'),
// to and from float32, rounding to nearest with ties to even (as IEEE 754 does, and PyTorch's .half() and
// .bfloat16()).
//
//   F16:  sign, 5 exponent bits (bias 15), 10 mantissa bits: normals 2^-14 .. 65504, subnormals k * 2^-24
//   BF16: the top 16 bits of a float32: float32's range, 8 bits of precision
//
// Everything is integer arithmetic on the bits, except the F16 subnormals, where one float32 addition does the
// rounding: a value below 2^-14 plus 0.5 lands in [0.5, 1), whose spacing is 2^-24, the subnormal step, so the
// addition's own round-to-nearest-even leaves round(x / 2^-24) in the low mantissa bits (and the reverse,
// (0.5 + k * 2^-24) - 0.5, is exact). WebAssembly float arithmetic is IEEE with subnormals, the same in every
// engine. NaN stays NaN (quiet); F16 overflows to infinity from 65520 up (the midpoint above 65504).
// Layout: `out` and `x` are arrays of n elements (u16 for the half formats, f32 for float32).

const SIGN_ABS: u32 = 0x7fffffff;
const FLOAT_INFINITY: u32 = 0x7f800000;
/** 65520 as float32 bits: from here up, F16 rounds to infinity. */
const HALF_OVERFLOW: u32 = 0x477ff000;
/** 2^-14 as float32 bits: the smallest normal F16. */
const HALF_MIN_NORMAL: u32 = 0x38800000;
/** (127 - 15) << 23: moves a float32 exponent to F16's bias. */
const REBIAS: u32 = 0x38000000;
/** 0.5 as float32 bits. */
const HALF_ONE: u32 = 0x3f000000;

/** F16 bits of the float32 with bits f. */
// @ts-ignore: decorator
@inline function halfOfFloatBits(f: u32): u32 {
  const sign = (f >>> 16) & 0x8000;
  const abs = f & SIGN_ABS;
  if (abs > FLOAT_INFINITY) return sign | 0x7e00;
  if (abs >= HALF_OVERFLOW) return sign | 0x7c00;
  if (abs >= HALF_MIN_NORMAL) {
    const rebased = abs - REBIAS;
    return sign | ((rebased + 0xfff + ((rebased >>> 13) & 1)) >>> 13);
  }
  return sign | (reinterpret<u32>(reinterpret<f32>(abs) + <f32>0.5) - HALF_ONE);
}

/** float32 bits of the F16 with bits h. */
// @ts-ignore: decorator
@inline function floatBitsOfHalf(h: u32): u32 {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  if (exponent == 0x1f) return sign | FLOAT_INFINITY | ((h & 0x3ff) << 13);
  if (exponent != 0) return sign | (((h & 0x7fff) << 13) + REBIAS);
  return sign | reinterpret<u32>(reinterpret<f32>(HALF_ONE | (h & 0x3ff)) - <f32>0.5);
}

/** BF16 bits of the float32 with bits f. */
// @ts-ignore: decorator
@inline function bfloat16OfFloatBits(f: u32): u32 {
  if ((f & SIGN_ABS) > FLOAT_INFINITY) return (f >>> 16) | 0x40;
  return (f + 0x7fff + ((f >>> 16) & 1)) >>> 16;
}

/** Four lanes of `halfOfFloatBits`, each result in the low 16 bits of its lane. */
// @ts-ignore: decorator
@inline function halfOfFloatBitsX4(f: v128): v128 {
  const sign = v128.and(i32x4.shr_u(f, 16), i32x4.splat(0x8000));
  const abs = v128.and(f, i32x4.splat(SIGN_ABS));
  const rebased = i32x4.sub(abs, i32x4.splat(REBIAS));
  const odd = v128.and(i32x4.shr_u(rebased, 13), i32x4.splat(1));
  const normal = i32x4.shr_u(i32x4.add(rebased, i32x4.add(odd, i32x4.splat(0xfff))), 13);
  const subnormal = i32x4.sub(f32x4.add(abs, f32x4.splat(0.5)), i32x4.splat(HALF_ONE));
  let bits = v128.bitselect(normal, subnormal, i32x4.ge_u(abs, i32x4.splat(HALF_MIN_NORMAL)));
  bits = v128.bitselect(i32x4.splat(0x7c00), bits, i32x4.ge_u(abs, i32x4.splat(HALF_OVERFLOW)));
  bits = v128.bitselect(i32x4.splat(0x7e00), bits, i32x4.gt_u(abs, i32x4.splat(FLOAT_INFINITY)));
  return v128.or(bits, sign);
}

/** Four lanes of `floatBitsOfHalf` (h holds one F16 in the low 16 bits of each lane). */
// @ts-ignore: decorator
@inline function floatBitsOfHalfX4(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const exponent = v128.and(h, i32x4.splat(0x7c00));
  const normal = i32x4.add(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), i32x4.splat(REBIAS));
  const special = v128.or(i32x4.splat(FLOAT_INFINITY), i32x4.shl(v128.and(h, i32x4.splat(0x3ff)), 13));
  const subnormal = f32x4.sub(v128.or(i32x4.splat(HALF_ONE), v128.and(h, i32x4.splat(0x3ff))), f32x4.splat(0.5));
  let bits = v128.bitselect(subnormal, normal, i32x4.eq(exponent, i32x4.splat(0)));
  bits = v128.bitselect(special, bits, i32x4.eq(exponent, i32x4.splat(0x7c00)));
  return v128.or(bits, sign);
}

/** Four lanes of `bfloat16OfFloatBits`, each result in the low 16 bits of its lane. */
// @ts-ignore: decorator
@inline function bfloat16OfFloatBitsX4(f: v128): v128 {
  const odd = v128.and(i32x4.shr_u(f, 16), i32x4.splat(1));
  const rounded = i32x4.shr_u(i32x4.add(f, i32x4.add(odd, i32x4.splat(0x7fff))), 16);
  const quiet = v128.or(i32x4.shr_u(f, 16), i32x4.splat(0x40));
  const nan = i32x4.gt_u(v128.and(f, i32x4.splat(SIGN_ABS)), i32x4.splat(FLOAT_INFINITY));
  return v128.bitselect(quiet, rounded, nan);
}

/** out (F16) = x (float32), rounded to nearest even. */
export function float32ToFloat16(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const low = halfOfFloatBitsX4(v128.load(x + (<usize>i << 2)));
    const high = halfOfFloatBitsX4(v128.load(x + (<usize>i << 2), 16));
    v128.store(out + (<usize>i << 1), i16x8.narrow_i32x4_u(low, high));
  }
  for (; i < n; i++) store<u16>(out + (<usize>i << 1), <u16>halfOfFloatBits(load<u32>(x + (<usize>i << 2))));
}

export function float32ToFloat16Scalar(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u16>(out + (<usize>i << 1), <u16>halfOfFloatBits(load<u32>(x + (<usize>i << 2))));
}

/** out (float32) = x (F16), exactly. */
export function float16ToFloat32(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const halves = v128.load(x + (<usize>i << 1));
    v128.store(out + (<usize>i << 2), floatBitsOfHalfX4(i32x4.extend_low_i16x8_u(halves)));
    v128.store(out + (<usize>i << 2), floatBitsOfHalfX4(i32x4.extend_high_i16x8_u(halves)), 16);
  }
  for (; i < n; i++) store<u32>(out + (<usize>i << 2), floatBitsOfHalf(<u32>load<u16>(x + (<usize>i << 1))));
}

export function float16ToFloat32Scalar(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(out + (<usize>i << 2), floatBitsOfHalf(<u32>load<u16>(x + (<usize>i << 1))));
}

/** out (BF16) = x (float32), rounded to nearest even. */
export function float32ToBfloat16(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const low = bfloat16OfFloatBitsX4(v128.load(x + (<usize>i << 2)));
    const high = bfloat16OfFloatBitsX4(v128.load(x + (<usize>i << 2), 16));
    v128.store(out + (<usize>i << 1), i16x8.narrow_i32x4_u(low, high));
  }
  for (; i < n; i++) store<u16>(out + (<usize>i << 1), <u16>bfloat16OfFloatBits(load<u32>(x + (<usize>i << 2))));
}

export function float32ToBfloat16Scalar(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u16>(out + (<usize>i << 1), <u16>bfloat16OfFloatBits(load<u32>(x + (<usize>i << 2))));
}

/** out (float32) = x (BF16), exactly: the bits moved up 16 places. */
export function bfloat16ToFloat32(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const halves = v128.load(x + (<usize>i << 1));
    v128.store(out + (<usize>i << 2), i32x4.shl(i32x4.extend_low_i16x8_u(halves), 16));
    v128.store(out + (<usize>i << 2), i32x4.shl(i32x4.extend_high_i16x8_u(halves), 16), 16);
  }
  for (; i < n; i++) store<u32>(out + (<usize>i << 2), <u32>load<u16>(x + (<usize>i << 1)) << 16);
}

export function bfloat16ToFloat32Scalar(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(out + (<usize>i << 2), <u32>load<u16>(x + (<usize>i << 1)) << 16);
}
