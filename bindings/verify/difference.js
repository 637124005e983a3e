/**
 * How an output differs from its golden value: the first differing element (flat index, index by axis, both
 * values as C-style hex floats with their decimal form and bits), how many elements differ and by how many ulp.
 * Shared by the shipped self-test (self-test.ts, in whatever runtime runs it) and by the cross-runtime harness
 * (test/runtimes/compare.js, in Node). Plain JavaScript, web APIs only (atob, BigInt).
 */

/**
 * Compares one scenario's outputs ([{ name, dtype, shape, base64 }], as collect.js packs them) with its golden
 * outputs ({ [name]: { dtype, shape, sha256, base64 } }); returns one line per problem (empty: identical bytes).
 */
export function outputProblems(golden, outputs) {
  const problems = [];
  const byName = new Map(outputs.map((o) => [o.name, o]));
  for (const [name, expected] of Object.entries(golden)) {
    const actual = byName.get(name);
    if (!actual) problems.push(`${name}: missing (the golden table has it)`);
    else if (actual.base64 !== expected.base64 || actual.dtype !== expected.dtype || actual.shape.join() !== expected.shape.join()) {
      problems.push(`${name}: ${describeDifference(actual, expected)}`);
    }
  }
  for (const name of byName.keys()) if (!Object.hasOwn(golden, name)) problems.push(`${name}: not in the golden table`);
  return problems;
}

/** "first difference at [i] (index [a, b]): <value> vs golden <value>; n of N elements differ, at most k ulp". */
export function describeDifference(entry, reference, refLabel = 'golden') {
  if (entry.dtype !== reference.dtype) return `dtype ${entry.dtype}, ${refLabel} has ${reference.dtype}`;
  const a = typedArray(entry), b = typedArray(reference);
  if (a.length !== b.length || entry.shape.join() !== reference.shape.join()) {
    return `shape [${entry.shape.join(', ')}] (${a.length} elements), ${refLabel} has [${reference.shape.join(', ')}] (${b.length})`;
  }
  let firstAt = -1, count = 0, maxUlp = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i])) continue;
    if (firstAt < 0) firstAt = i;
    count++;
    maxUlp = Math.max(maxUlp, ulpDistance(entry.dtype, a[i], b[i]));
  }
  if (firstAt < 0) return '(same values, different bytes)';
  const index = entry.shape.length > 1 ? ` (index [${unravel(firstAt, entry.shape).join(', ')}])` : '';
  const ulp = entry.dtype === 'f32' || entry.dtype === 'f64' ? `, at most ${maxUlp} ulp apart` : '';
  return `first difference at [${firstAt}]${index}: ${formatValue(entry.dtype, a[firstAt])} vs ${refLabel} ` +
    `${formatValue(reference.dtype, b[firstAt])}; ${count} of ${a.length} elements differ${ulp}`;
}

const ARRAYS = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array };

/** An output's elements, from its base64 bytes (atob: the same in every runtime). */
export function typedArray({ dtype, base64 }) {
  return new ARRAYS[dtype](fromBase64(base64).buffer);
}

/** Bytes from base64 (Node 20 lacks Uint8Array.fromBase64). */
export function fromBase64(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function unravel(index, shape) {
  const out = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(index % shape[d]);
    index = Math.floor(index / shape[d]);
  }
  return out;
}

/** Distance in representable values (ulp) between two finite floats of the same type. */
function ulpDistance(dtype, x, y) {
  if (dtype !== 'f32' && dtype !== 'f64') return 0;
  const ordered = (v) => {
    const bits = dtype === 'f32' ? BigInt(new Uint32Array(new Float32Array([v]).buffer)[0]) : new BigUint64Array(new Float64Array([v]).buffer)[0];
    const signBit = dtype === 'f32' ? 1n << 31n : 1n << 63n;
    return bits & signBit ? -(bits ^ signBit) : bits;
  };
  const d = ordered(x) - ordered(y);
  return Number(d < 0n ? -d : d);
}

/** A value as a hex float, its decimal form and its bits, e.g. `0x1.921fb6p+1 (3.14159274, bits 0x40490fdb)`. */
export function formatValue(dtype, value) {
  if (dtype === 'f32') {
    const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
    return `${hexFloat(BigInt(bits), 8, 23, 6)} (${value.toPrecision(9).replace(/\.?0+(e|$)/, '$1')}, bits 0x${bits.toString(16).padStart(8, '0')})`;
  }
  if (dtype === 'f64') {
    const bits = new BigUint64Array(new Float64Array([value]).buffer)[0];
    return `${hexFloat(bits, 11, 52, 13)} (${value}, bits 0x${bits.toString(16).padStart(16, '0')})`;
  }
  const bits = dtype === 'u8' ? value : value >>> 0;
  return `${value} (0x${bits.toString(16).padStart(dtype === 'u8' ? 2 : 8, '0')})`;
}

/** C's %a: [-]0x1.<fraction>p<exponent>, [-]0x0.<fraction>p-<bias-1> for subnormals. */
export function hexFloat(bits, exponentBits, fractionBits, hexDigits) {
  const sign = bits >> BigInt(exponentBits + fractionBits) ? '-' : '';
  const exponentMax = (1n << BigInt(exponentBits)) - 1n;
  const exponent = (bits >> BigInt(fractionBits)) & exponentMax;
  const fraction = bits & ((1n << BigInt(fractionBits)) - 1n);
  const bias = Number(exponentMax >> 1n);
  if (exponent === exponentMax) return fraction ? 'nan' : `${sign}inf`;
  if (exponent === 0n && fraction === 0n) return `${sign}0x0p+0`;
  // Left-align the fraction on a hex-digit boundary (23 bits -> 24 = 6 digits, 52 bits = 13 digits).
  const digits = (fraction << BigInt(hexDigits * 4 - fractionBits)).toString(16).padStart(hexDigits, '0').replace(/0+$/, '');
  const lead = exponent === 0n ? '0' : '1';
  const power = exponent === 0n ? 1 - bias : Number(exponent) - bias;
  return `${sign}0x${lead}${digits ? `.${digits}` : ''}p${power >= 0 ? '+' : ''}${power}`;
}
