// The float32 math of PyTorch's CPU normal kernel, reproduced bit for bit (docs/torch-noise.md).
//
// PyTorch turns 16 uniforms u[0..15] into 16 normals by Box-Muller, pairing u[j] with u[j + 8] (j < 8):
//   r = sqrt(-2 ln(1 - u[j])),  θ = 2π u[j + 8],  out[j] = r cos θ,  out[j + 8] = r sin θ
// with one of two sets of float32 functions, chosen by the CPU capability ATen dispatches to:
//
// - 'avx2' (x86-64 builds on any AVX2 CPU; AVX-512 CPUs too, since normal_ is never dispatched to AVX-512):
//   normal_fill_16_AVX2 with log256_ps and sincos256_ps of ATen's avx_mathfun.h (Cephes polynomials in float32,
//   after J. Pommier's sse_mathfun), θ = float32(2π) · u. GCC builds that file with FMA enabled and contracts
//   most multiply-adds into one rounding; the fused steps are listed below, read from the machine code GCC 12
//   makes of it (the same as in Debian's libtorch_cpu 1.13). WebAssembly has no fused multiply-add (only the
//   relaxed one, which engines fuse or not), so `fmaf` computes RN(a·b + c) exactly from float64 parts.
// - 'default' (arm64, e.g. Apple silicon; x86 without AVX2): normal_fill_16 calling the C library's logf,
//   cosf, sinf, θ = float32(2π_double · u). logf is AssemblyScript's Mathf.log (musl's copy of Arm's
//   optimized-routines logf, glibc's algorithm too); cosf/sinf follow glibc's sincosf (Arm optimized-routines,
//   sysdeps/ieee754/flt-32), whose results musl's (AssemblyScript's Mathf.sin/cos) do not always equal.
//   Both agree with glibc 2.36 on every input this kernel can pass them (tested exhaustively).
//
// Inputs here are the kernel's only: u = k·2^-24 (k < 2^24), so 1 - u is in [2^-24, 1] and θ in [0, 2π); the
// branches glibc and avx_mathfun take for zero, negative, huge or non-finite arguments are left out.

// ---------------------------------------------------------------------------------------------------------
// Fused multiply-add, emulated

/**
 * RN_f32(a·b + c), rounded once, as an FMA instruction computes it. a·b is exact in float64 (24 + 24 bits);
 * the sum s = RN_f64(a·b + c) is then rounded to odd (if inexact, the neighbour with an odd last bit, found
 * from the exact TwoSum error), and a rounding to odd at 53 bits followed by one to nearest at 24 bits equals
 * the direct rounding to nearest (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved
 * algorithms using rounding to odd", IEEE TC 2008).
 */
// @ts-ignore: decorator
@inline function fmaf(a: f32, b: f32, c: f32): f32 {
  const p = <f64>a * <f64>b, cd = <f64>c;
  const s = p + cd;
  const t = s - p;
  const err = (p - (s - t)) + (cd - t);
  let bits = reinterpret<i64>(s);
  if (err != 0 && (bits & 1) == 0) bits += (reinterpret<i64>(err) ^ bits) < 0 ? -1 : 1;
  return <f32>reinterpret<f64>(bits);
}

/** `fmaf` on two float64 lanes holding float32 values; returns the float64 rounded to odd. */
// @ts-ignore: decorator
@inline function fmaOdd2(a: v128, b: v128, c: v128): v128 {
  const p = f64x2.mul(a, b);
  const s = f64x2.add(p, c);
  const t = f64x2.sub(s, p);
  const err = f64x2.add(f64x2.sub(p, f64x2.sub(s, t)), f64x2.sub(c, t));
  const one = i64x2.splat(1);
  const fix = v128.and(f64x2.ne(err, f64x2.splat(0)), i64x2.eq(v128.and(s, one), i64x2.splat(0)));
  const step = v128.or(i64x2.shr_s(v128.xor(err, s), 63), one); // +1 away from zero when err has s's sign, else -1
  return i64x2.add(s, v128.and(step, fix));
}

/** `fmaf` on four float32 lanes. */
// @ts-ignore: decorator
@inline function fmaf4(a: v128, b: v128, c: v128): v128 {
  const lo = fmaOdd2(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b), f64x2.promote_low_f32x4(c));
  const hi = fmaOdd2(f64x2.promote_low_f32x4(i32x4.shuffle(a, a, 2, 3, 0, 1)),
    f64x2.promote_low_f32x4(i32x4.shuffle(b, b, 2, 3, 0, 1)), f64x2.promote_low_f32x4(i32x4.shuffle(c, c, 2, 3, 0, 1)));
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

// ---------------------------------------------------------------------------------------------------------
// avx_mathfun.h: log256_ps and sincos256_ps, four lanes at a time and one lane at a time
//
// The constants are avx_mathfun's decimal literals rounded to float32 (as its float arrays hold them).
// GCC fuses, in log256_ps: the 8 Horner steps y = y·x + p_k, and y·z + e·q1; in sincos256_ps: the three
// reduction steps x = x + y·(-DP_k), the Horner steps of both polynomials, (y·z)·z - z/2, and y2·x + x. The
// others stay separate, and two fused steps are exact anyway (y - z·0.5 and x + e·q2: z·0.5 and e·q2 are exact).

// @ts-ignore: decorator
@inline const SQRTHF: u32 = 0x3f3504f3; // 0.707106781186547524
// @ts-ignore: decorator
@inline const LOG_P0: u32 = 0x3d9021bb; // 7.0376836292E-2
// @ts-ignore: decorator
@inline const LOG_P1: u32 = 0xbdebd1b8; // -1.1514610310E-1
// @ts-ignore: decorator
@inline const LOG_P2: u32 = 0x3def251a; // 1.1676998740E-1
// @ts-ignore: decorator
@inline const LOG_P3: u32 = 0xbdfe5d4f; // -1.2420140846E-1
// @ts-ignore: decorator
@inline const LOG_P4: u32 = 0x3e11e9bf; // 1.4249322787E-1
// @ts-ignore: decorator
@inline const LOG_P5: u32 = 0xbe2aae50; // -1.6668057665E-1
// @ts-ignore: decorator
@inline const LOG_P6: u32 = 0x3e4cceac; // 2.0000714765E-1
// @ts-ignore: decorator
@inline const LOG_P7: u32 = 0xbe7ffffc; // -2.4999993993E-1
// @ts-ignore: decorator
@inline const LOG_P8: u32 = 0x3eaaaaaa; // 3.3333331174E-1
// @ts-ignore: decorator
@inline const LOG_Q1: u32 = 0xb95e8083; // -2.12194440e-4
// @ts-ignore: decorator
@inline const LOG_Q2: u32 = 0x3f318000; // 0.693359375
// @ts-ignore: decorator
@inline const FOPI: u32 = 0x3fa2f983; // 4/π, 1.27323954473516
// @ts-ignore: decorator
@inline const MINUS_DP1: u32 = 0xbf490000; // -0.78515625
// @ts-ignore: decorator
@inline const MINUS_DP2: u32 = 0xb97da000; // -2.4187564849853515625e-4
// @ts-ignore: decorator
@inline const MINUS_DP3: u32 = 0xb3222169; // -3.77489497744594108e-8
// @ts-ignore: decorator
@inline const SIN_P0: u32 = 0xb94ca1f9; // -1.9515295891E-4
// @ts-ignore: decorator
@inline const SIN_P1: u32 = 0x3c08839e; // 8.3321608736E-3
// @ts-ignore: decorator
@inline const SIN_P2: u32 = 0xbe2aaaa3; // -1.6666654611E-1
// @ts-ignore: decorator
@inline const COS_P0: u32 = 0x37ccf5ce; // 2.443315711809948E-005
// @ts-ignore: decorator
@inline const COS_P1: u32 = 0xbab6061a; // -1.388731625493765E-003
// @ts-ignore: decorator
@inline const COS_P2: u32 = 0x3d2aaaa5; // 4.166664568298827E-002

// @ts-ignore: decorator
@inline function k4(bits: u32): v128 { return f32x4.splat(reinterpret<f32>(bits)); }
// @ts-ignore: decorator
@inline function k1(bits: u32): f32 { return reinterpret<f32>(bits); }

/** log256_ps on four lanes, for x in [2^-24, 1]. */
// @ts-ignore: decorator
@inline export function logAvx4(x: v128): v128 {
  const one = f32x4.splat(1);
  // x = m·2^e with m in [0.5, 1); then, when m < sqrt(1/2), m = 2m and e = e - 1, so that x - 1 is small.
  let e = f32x4.add(f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(0x7f))), one);
  let m = v128.or(v128.and(x, i32x4.splat(~0x7f800000)), f32x4.splat(0.5));
  const small = f32x4.lt(m, k4(SQRTHF));
  const keep = v128.and(m, small);
  m = f32x4.sub(m, one);
  e = f32x4.sub(e, v128.and(one, small));
  m = f32x4.add(m, keep);
  const z = f32x4.mul(m, m);
  let y = fmaf4(k4(LOG_P0), m, k4(LOG_P1));
  y = fmaf4(y, m, k4(LOG_P2));
  y = fmaf4(y, m, k4(LOG_P3));
  y = fmaf4(y, m, k4(LOG_P4));
  y = fmaf4(y, m, k4(LOG_P5));
  y = fmaf4(y, m, k4(LOG_P6));
  y = fmaf4(y, m, k4(LOG_P7));
  y = fmaf4(y, m, k4(LOG_P8));
  y = f32x4.mul(y, m);
  y = fmaf4(y, z, f32x4.mul(e, k4(LOG_Q1)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  return f32x4.add(f32x4.add(m, y), f32x4.mul(e, k4(LOG_Q2)));
}

/** log256_ps on one lane: the scalar twin of `logAvx4`. */
// @ts-ignore: decorator
@inline export function logAvx1(x: f32): f32 {
  const bits = reinterpret<u32>(x);
  let e = <f32>(<i32>(bits >>> 23) - 0x7f) + 1;
  let m = reinterpret<f32>((bits & ~0x7f800000) | 0x3f000000);
  const small = m < k1(SQRTHF);
  const keep: f32 = small ? m : 0;
  m = m - 1;
  e = e - (small ? <f32>1 : <f32>0);
  m = m + keep;
  const z = m * m;
  let y = fmaf(k1(LOG_P0), m, k1(LOG_P1));
  y = fmaf(y, m, k1(LOG_P2));
  y = fmaf(y, m, k1(LOG_P3));
  y = fmaf(y, m, k1(LOG_P4));
  y = fmaf(y, m, k1(LOG_P5));
  y = fmaf(y, m, k1(LOG_P6));
  y = fmaf(y, m, k1(LOG_P7));
  y = fmaf(y, m, k1(LOG_P8));
  y = y * m;
  y = fmaf(y, z, e * k1(LOG_Q1));
  y = y - z * <f32>0.5;
  return (m + y) + e * k1(LOG_Q2);
}

/** Results of `sincosAvx4` (v128) and `sincosAvx1` (f32). */
export let sincos4Sin: v128 = i32x4.splat(0);
export let sincos4Cos: v128 = i32x4.splat(0);
export let sincos1Sin: f32 = 0;
export let sincos1Cos: f32 = 0;

/** sincos256_ps on four lanes, for x in [0, 2π): into `sincos4Sin`, `sincos4Cos`. */
// @ts-ignore: decorator
@inline export function sincosAvx4(x: v128): void {
  // j = the octant rounded up to even, y = j as float; x - y·π/4 in three parts ("extended precision").
  let j = i32x4.trunc_sat_f32x4_s(f32x4.mul(x, k4(FOPI)));
  j = v128.and(i32x4.add(j, i32x4.splat(1)), i32x4.splat(~1));
  const y = f32x4.convert_i32x4_s(j);
  const signSin = i32x4.shl(v128.and(j, i32x4.splat(4)), 29);
  const signCos = i32x4.shl(v128.andnot(i32x4.splat(4), i32x4.sub(j, i32x4.splat(2))), 29);
  const polyMask = i32x4.eq(v128.and(j, i32x4.splat(2)), i32x4.splat(0));
  x = fmaf4(y, k4(MINUS_DP1), x);
  x = fmaf4(y, k4(MINUS_DP2), x);
  x = fmaf4(y, k4(MINUS_DP3), x);
  const z = f32x4.mul(x, x);
  // cos polynomial: 1 - z/2 + z²·(c0·z² + c1·z + c2)
  let c = fmaf4(k4(COS_P0), z, k4(COS_P1));
  c = fmaf4(c, z, k4(COS_P2));
  c = f32x4.mul(c, z);
  c = fmaf4(c, z, f32x4.neg(f32x4.mul(z, f32x4.splat(0.5))));
  c = f32x4.add(c, f32x4.splat(1));
  // sin polynomial: x + x·z·(s0·z² + s1·z + s2)
  let s = fmaf4(k4(SIN_P0), z, k4(SIN_P1));
  s = fmaf4(s, z, k4(SIN_P2));
  s = f32x4.mul(s, z);
  s = fmaf4(s, x, x);
  // Choose the polynomial of each output by the octant, with avx_mathfun's and/andnot/add/sub (so zeros get
  // its signs too), then apply the signs.
  const sinFromS = v128.and(polyMask, s), sinFromC = v128.andnot(c, polyMask);
  sincos4Sin = v128.xor(f32x4.add(sinFromC, sinFromS), signSin);
  sincos4Cos = v128.xor(f32x4.add(f32x4.sub(s, sinFromS), f32x4.sub(c, sinFromC)), signCos);
}

/** sincos256_ps on one lane: the scalar twin of `sincosAvx4`, into `sincos1Sin`, `sincos1Cos`. */
// @ts-ignore: decorator
@inline export function sincosAvx1(x: f32): void {
  const j = (<i32>(x * k1(FOPI)) + 1) & ~1;
  const y = <f32>j;
  const signSin = <u32>(j & 4) << 29;
  const signCos = <u32>(~(j - 2) & 4) << 29;
  const polyS = (j & 2) == 0;
  x = fmaf(y, k1(MINUS_DP1), x);
  x = fmaf(y, k1(MINUS_DP2), x);
  x = fmaf(y, k1(MINUS_DP3), x);
  const z = x * x;
  let c = fmaf(k1(COS_P0), z, k1(COS_P1));
  c = fmaf(c, z, k1(COS_P2));
  c = c * z;
  c = fmaf(c, z, -(z * <f32>0.5));
  c = c + 1;
  let s = fmaf(k1(SIN_P0), z, k1(SIN_P1));
  s = fmaf(s, z, k1(SIN_P2));
  s = s * z;
  s = fmaf(s, x, x);
  const sinFromS: f32 = polyS ? s : 0, sinFromC: f32 = polyS ? 0 : c;
  sincos1Sin = reinterpret<f32>(reinterpret<u32>(sinFromC + sinFromS) ^ signSin);
  sincos1Cos = reinterpret<f32>(reinterpret<u32>((s - sinFromS) + (c - sinFromC)) ^ signCos);
}

// ---------------------------------------------------------------------------------------------------------
// glibc's sinf and cosf (Arm optimized-routines sincosf: a float64 polynomial after a float64 reduction by
// π/2), for x in [0, 120): the branches below π/4 (|x| < 0.75 by the top 12 bits, as glibc compares) and
// glibc's reduce_fast (the x86-64 form: 2/π pre-scaled by 2^24, the quadrant from an integer rounding).

// @ts-ignore: decorator
@inline const HPI_INV: f64 = reinterpret<f64>(0x41645f306dc9c883); // 0x1.45F306DC9C883p+23 = 2/π · 2^24
// @ts-ignore: decorator
@inline const HPI: f64 = reinterpret<f64>(0x3ff921fb54442d18); // 0x1.921FB54442D18p0 = π/2
// @ts-ignore: decorator
@inline const GC1: f64 = reinterpret<f64>(0xbfdffffffd0c621c); // -0x1.ffffffd0c621cp-2
// @ts-ignore: decorator
@inline const GC2: f64 = reinterpret<f64>(0x3fa55553e1068f19); // 0x1.55553e1068f19p-5
// @ts-ignore: decorator
@inline const GC3: f64 = reinterpret<f64>(0xbf56c087e89a359d); // -0x1.6c087e89a359dp-10
// @ts-ignore: decorator
@inline const GC4: f64 = reinterpret<f64>(0x3ef99343027bf8c3); // 0x1.99343027bf8c3p-16
// @ts-ignore: decorator
@inline const GS1: f64 = reinterpret<f64>(0xbfc555545995a603); // -0x1.555545995a603p-3
// @ts-ignore: decorator
@inline const GS2: f64 = reinterpret<f64>(0x3f81107605230bc4); // 0x1.1107605230bc4p-7
// @ts-ignore: decorator
@inline const GS3: f64 = reinterpret<f64>(0xbf2994eb3774cf24); // -0x1.994eb3774cf24p-13

/** glibc's sinf_poly: the sine polynomial of x (x2 = x²) for even n, the cosine one (times `sign`) for odd n. */
// @ts-ignore: decorator
@inline function sinfPoly(x: f64, x2: f64, n: i32, sign: f64): f32 {
  if ((n & 1) == 0) {
    const x3 = x * x2;
    const s1 = GS2 + x2 * GS3;
    const x7 = x3 * x2;
    const s = x + x3 * GS1;
    return <f32>(s + x7 * s1);
  }
  const x4 = x2 * x2;
  const c2 = sign * GC3 + x2 * (sign * GC4);
  const c1 = sign + x2 * (sign * GC1);
  const x6 = x4 * x2;
  const c = c1 + x4 * (sign * GC2);
  return <f32>(c + x6 * c2);
}

/** glibc's sinf (`cos` false) or cosf (`cos` true) of y in [0, 120). */
// @ts-ignore: decorator
@inline export function glibcSinCosf(y: f32, cos: bool): f32 {
  const top = reinterpret<u32>(y) >> 20;
  let x = <f64>y;
  if (top < 0x3f4) { // below 0.75
    if (top < 0x398) return cos ? 1 : y; // below 2^-12
    return sinfPoly(x, x * x, cos ? 1 : 0, 1);
  }
  const n = (<i32>(x * HPI_INV) + 0x800000) >> 24;
  x = x - <f64>n * HPI;
  // glibc's sign table {1, -1, -1, 1} and its second polynomial table (the cosine one negated) for n & 2.
  const s: f64 = ((n + 1) & 2) != 0 ? -1 : 1;
  const cosSign: f64 = (n & 2) != 0 ? -1 : 1;
  return sinfPoly(x * s, x * x, cos ? n ^ 1 : n, cosSign);
}
