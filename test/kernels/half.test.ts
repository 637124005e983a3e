/**
 * The half-precision conversions (assembly/half.ts): SIMD kernel = scalar twin, bit for bit, and both equal the
 * float64 reference (test/ref/half.ts): every one of the 65,536 F16 and BF16 bit patterns widened, and float32
 * values narrowed: the rounding ties and their neighbours of every finite F16 and of a sweep of BF16, the
 * overflow and subnormal boundaries, signed zeros, infinities, NaN, and a million seeded bit patterns.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, Tensor, tidy } from '../../bindings/index.ts';
import { wasm } from '../../bindings/core/instance.ts';
import { fromHalfBytes, toHalfBytes } from '../../bindings/ops/half.ts';
import { bfloat16OfFloat32Ref, bitsOfFloat, float16OfFloat32Ref, float32OfFloat16Ref, floatOfBits } from '../ref/half.ts';

await init();

type Kernel = (out: number, x: number, n: number) => void;

/** Runs a narrowing kernel (float32 bits in, 16-bit words out) on `bits`. */
function narrow(kernel: Kernel, bits: Uint32Array): Uint16Array {
  return tidy(() => {
    const x = new Tensor([bits.length]), out = new Tensor([Math.ceil(bits.length / 2)]);
    new Uint32Array(wasm().memory.buffer, x.ptr, bits.length).set(bits);
    kernel(out.ptr, x.ptr, bits.length);
    return new Uint16Array(wasm().memory.buffer, out.ptr, bits.length).slice();
  });
}

/** Runs a widening kernel (16-bit words in, float32 bits out) on `halves`. */
function widen(kernel: Kernel, halves: Uint16Array): Uint32Array {
  return tidy(() => {
    const x = new Tensor([Math.ceil(halves.length / 2)]), out = new Tensor([halves.length]);
    new Uint16Array(wasm().memory.buffer, x.ptr, halves.length).set(halves);
    kernel(out.ptr, x.ptr, halves.length);
    return new Uint32Array(wasm().memory.buffer, out.ptr, halves.length).slice();
  });
}

/** The first few positions where two arrays differ, for a readable failure. */
function mismatches(a: ArrayLike<number>, b: ArrayLike<number>, input: ArrayLike<number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.length && out.length < 5; i++) {
    if (a[i] !== b[i]) out.push(`input 0x${(input[i] >>> 0).toString(16)}: 0x${a[i].toString(16)} vs 0x${b[i].toString(16)}`);
  }
  return out;
}

const ALL_HALVES = Uint16Array.from({ length: 65536 }, (_, i) => i);
const k = () => wasm();

test('F16 -> float32: all 65,536 bit patterns, SIMD = scalar twin = reference (exact; NaN stays NaN)', () => {
  const simd = widen(k().float16ToFloat32, ALL_HALVES);
  const scalar = widen(k().float16ToFloat32Scalar, ALL_HALVES);
  assert.equal(mismatches(simd, scalar, ALL_HALVES), []);
  const wrong: string[] = [];
  for (let h = 0; h < 65536 && wrong.length < 5; h++) {
    const got = floatOfBits(simd[h]), want = float32OfFloat16Ref(h);
    const same = Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want);
    if (!same) wrong.push(`0x${h.toString(16)}: ${got} vs ${want}`);
  }
  assert.equal(wrong, []);
  assert.is(floatOfBits(simd[0x8000]), -0);
  assert.is(floatOfBits(simd[0x0001]), 2 ** -24);
  assert.is(floatOfBits(simd[0x7bff]), 65504);
});

test('BF16 -> float32: all 65,536 bit patterns are the top half of the float32, SIMD = scalar', () => {
  const simd = widen(k().bfloat16ToFloat32, ALL_HALVES);
  const scalar = widen(k().bfloat16ToFloat32Scalar, ALL_HALVES);
  for (let h = 0; h < 65536; h++) {
    if (simd[h] !== ((h << 16) >>> 0) || scalar[h] !== simd[h]) assert.unreachable(`0x${h.toString(16)}: 0x${simd[h].toString(16)}`);
  }
});

/** Float32 bit patterns around every rounding decision of a 16-bit format, plus the special values. */
function narrowingCases(): Uint32Array {
  const values: number[] = [];
  const push = (bits: number) => { values.push(bits >>> 0, (bits - 1) >>> 0, (bits + 1) >>> 0, (bits | 0x80000000) >>> 0); };
  // Every finite F16 and the midpoint to the next one (exact in float32: 12 significant bits), with neighbours.
  for (let h = 0; h < 0x7c00; h++) {
    const v = float32OfFloat16Ref(h), next = float32OfFloat16Ref(h + 1);
    push(bitsOfFloat(v));
    push(bitsOfFloat((v + next) / 2));
  }
  // BF16 ties: the low 16 bits exactly 0x8000, for every exponent and a few mantissas, odd and even.
  for (let exponent = 0; exponent < 256; exponent++) {
    for (const top of [0, 1, 2, 3, 0x7e, 0x7f]) push((exponent << 23) | (top << 16) | 0x8000);
  }
  for (const v of [0, 65504, 65519, 65519.99, 65520, 65536, 1e10, Infinity, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -26, 3 * 2 ** -26, 1e-30, 3.4028234663852886e38]) {
    push(bitsOfFloat(v));
  }
  values.push(0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0xff800001, 0x00000001, 0x80000001, 0x007fffff);
  // A million seeded bit patterns (mulberry32), across the whole float32 range.
  let state = 12345;
  for (let i = 0; i < 1 << 20; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values.push((t ^ (t >>> 14)) >>> 0);
  }
  // An odd count, so the SIMD kernels' scalar tails run too.
  if (values.length % 8 === 0) values.push(0x3f800000);
  return Uint32Array.from(values);
}
const CASES = narrowingCases();

for (const [name, simdKernel, scalarKernel, ref] of [
  ['F16', 'float32ToFloat16', 'float32ToFloat16Scalar', float16OfFloat32Ref],
  ['BF16', 'float32ToBfloat16', 'float32ToBfloat16Scalar', bfloat16OfFloat32Ref],
] as const) {
  test(`float32 -> ${name}: ${CASES.length.toLocaleString('en-US')} values around every tie, SIMD = scalar twin = reference (round to nearest even)`, () => {
    const simd = narrow(k()[simdKernel], CASES);
    const scalar = narrow(k()[scalarKernel], CASES);
    assert.equal(mismatches(simd, scalar, CASES), [], 'SIMD vs scalar');
    const expected = Uint16Array.from(CASES, (bits) => ref(bits));
    assert.equal(mismatches(simd, expected, CASES), [], 'SIMD vs reference');
  });
}

test('F16 rounding: ties to even, the overflow threshold 65520, subnormals, signed zero, NaN', () => {
  const cases: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // the tie between 1 and 1 + 2^-10 goes to the even 1
    [1 + 3 * 2 ** -11, 0x3c02], // the tie between 1 + 2^-10 (odd) and 1 + 2^-9 goes up
    [65519, 0x7bff], [65520, 0x7c00], [-65520, 0xfc00], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002],
    [-0, 0x8000], [2 ** -14 - 2 ** -25, 0x0400], [NaN, 0x7e00],
  ];
  const got = narrow(k().float32ToFloat16, Uint32Array.from(cases, ([v]) => bitsOfFloat(v)));
  assert.equal(Array.from(got, (h) => `0x${h.toString(16)}`), cases.map(([, h]) => `0x${h.toString(16)}`));
});

test('toHalfBytes / fromHalfBytes: little-endian bytes, exact round trip of half values, across chunk boundaries', () => {
  const n = (1 << 20) + 37; // more than one 2^20-value chunk
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = float32OfFloat16Ref(i % 0x7c00) * (i % 2 ? -1 : 1);
  for (const dtype of ['F16', 'BF16'] as const) {
    const bytes = toHalfBytes(values, dtype);
    assert.is(bytes.length, 2 * n);
    const back = fromHalfBytes(bytes, dtype);
    if (dtype === 'F16') assert.ok(back.every((v, i) => Object.is(v, values[i])), 'F16 values survive F16 exactly');
    else assert.ok(back.every((v, i) => v === floatOfBits(bfloat16OfFloat32Ref(bitsOfFloat(values[i])) << 16)), 'BF16 = reference rounding');
  }
  const one = toHalfBytes(Float32Array.of(1, -2), 'F16');
  assert.equal(Array.from(one), [0x00, 0x3c, 0x00, 0xc0]);
  assert.throws(() => fromHalfBytes(new Uint8Array(3), 'F16'), /fromHalfBytes: bytes must be a Uint8Array of even length/);
  assert.throws(() => toHalfBytes(values, 'F8' as never), /toHalfBytes: dtype must be one of F16, BF16, got F8/);
});

test.run();
