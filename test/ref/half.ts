/**
 * Reference for the half-precision conversions (assembly/half.ts), in float64 arithmetic that is exact here:
 * a float32 value is scaled by powers of two onto the target's grid and rounded to nearest even by comparing
 * its fraction with 1/2. Bits go in and come out as unsigned integers.
 */
const scratch = new DataView(new ArrayBuffer(4));

/** The value of float32 bits. */
export function floatOfBits(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

/** The float32 bits of a number that float32 holds exactly (or NaN). */
export function bitsOfFloat(value: number): number {
  scratch.setFloat32(0, value);
  return scratch.getUint32(0);
}

/** 2^e, exactly, by repeated doubling or halving. */
function pow2(e: number): number {
  let p = 1;
  for (let i = 0; i < e; i++) p *= 2;
  for (let i = 0; i > e; i--) p /= 2;
  return p;
}

/** y rounded to an integer, ties to even. */
function roundHalfEven(y: number): number {
  const floor = Math.floor(y), fraction = y - floor;
  if (fraction !== 0.5) return fraction < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The e with 2^e <= v < 2^(e+1), for a positive finite v, by exact doubling and halving. */
function exponentOf(v: number): number {
  let e = 0, p = 1;
  while (p > v) { p /= 2; e--; }
  while (p * 2 <= v) { p *= 2; e++; }
  return e;
}

/**
 * The bits of the value of float32 bits `f` rounded to nearest even in a binary format with `mantissaBits`
 * fraction bits, exponent bias `bias` and all-ones exponent `maxExponent` for infinity and NaN (NaN given as
 * `nan`).
 */
function narrow(f: number, mantissaBits: number, bias: number, maxExponent: number, nan: number): number {
  const sign = (f >>> 31) << (mantissaBits + (maxExponent === 31 ? 5 : 8));
  const v = Math.abs(floatOfBits(f));
  if (Number.isNaN(v)) return sign | nan;
  const infinity = maxExponent << mantissaBits;
  if (v === Infinity) return sign | infinity;
  const minNormalExponent = 1 - bias;
  let e = v === 0 ? minNormalExponent : Math.max(exponentOf(v), minNormalExponent);
  // v on the grid of spacing 2^(e - mantissaBits); subnormals share the smallest normal's spacing
  let q = roundHalfEven(v / pow2(e - mantissaBits));
  if (q === pow2(mantissaBits + 1)) { q /= 2; e++; }
  if (q < pow2(mantissaBits)) return sign | q; // subnormal or zero (q = 2^mantissaBits would be the smallest normal)
  if (e + bias >= maxExponent) return sign | infinity;
  return sign | ((e + bias) << mantissaBits) | (q - pow2(mantissaBits));
}

/** IEEE binary16 bits of float32 bits `f`, rounded to nearest even (NaN: a quiet NaN of f's sign). */
export const float16OfFloat32Ref = (f: number): number => narrow(f >>> 0, 10, 15, 31, 0x7e00);

/** bfloat16 bits of float32 bits `f`, rounded to nearest even (NaN: f's top bits, made quiet). */
export function bfloat16OfFloat32Ref(f: number): number {
  const bits = f >>> 0;
  if (Number.isNaN(floatOfBits(bits))) return (bits >>> 16) | 0x40;
  return narrow(bits, 7, 127, 255, 0);
}

/** The value of IEEE binary16 bits. */
export function float32OfFloat16Ref(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * pow2(-24);
  return sign * (1 + mantissa / 1024) * pow2(exponent - 15);
}
