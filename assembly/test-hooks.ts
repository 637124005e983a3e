// The test build's entry (build/test-hooks.wasm, never shipped): functions that only tests call, kept out of the
// library's module. test/kernels/simd-math.test.ts maps simd-math.ts's vectorised e^x, sigmoid and SiLU over arrays;
// test/kernels/random.test.ts checks the raw Philox words against the published known answers;
// test/kernels/softmax-rows.test.ts compares softmax.ts's four-row softmax with its one-row softmax. Tests write their
// inputs above `heapBase()` in this module's own memory (nothing here allocates).
import { expf32Lane, expf32x4, sigmoidf32x4, siluf32x4, siluStore4 } from './simd-math';
import { at } from './reduce';
import { softmaxRow, softmaxRows } from './softmax';

export { heapBase } from './memory';
export { philox4x32, randBitsFill, randBitsFillScalar } from './random';

/** y[i] = e^x[i] with simd-math.ts's `expf32x4` (tails through a splat, as the kernels do). */
export function vectorExp(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), expf32x4(v128.load(at(x, i))));
  for (; i < n; i++) store<f32>(at(y, i), expf32Lane(load<f32>(at(x, i))));
}

export function vectorExpScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(y, i), Mathf.exp(load<f32>(at(x, i))));
}

/** y[i] = 1 / (1 + e^-x[i]) with simd-math.ts's `sigmoidf32x4`. */
export function vectorSigmoid(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), sigmoidf32x4(v128.load(at(x, i))));
  for (; i < n; i++) store<f32>(at(y, i), f32x4.extract_lane(sigmoidf32x4(f32x4.splat(load<f32>(at(x, i)))), 0));
}

export function vectorSigmoidScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(y, i), 1 / (1 + Mathf.exp(-load<f32>(at(x, i)))));
}

/** softmax.ts's `softmaxRows` (four rows at a time) on `rows` rows of T logits at p. */
export function softmaxRowsFour(p: usize, rows: i32, T: i32, scale: f32): void {
  softmaxRows(p, rows, T, scale);
}

/** softmax.ts's `softmaxRow` on each of `rows` rows of T logits at p, one by one. */
export function softmaxRowsEach(p: usize, rows: i32, T: i32, scale: f32): void {
  for (let i = 0; i < rows; i++) softmaxRow(p + (<usize>(i * T) << 2), T, scale);
}

/** y[i] = x[i] / (1 + e^-x[i]) with simd-math.ts's `siluf32x4`, four floats at a time (n a multiple of 4). */
export function vectorSilu(y: usize, x: usize, n: i32): void {
  for (let i = 0; i + 4 <= n; i += 4) v128.store(at(y, i), siluf32x4(v128.load(at(x, i))));
}

/** `vectorSilu` with simd-math.ts's `siluStore4`, sixteen floats at a time (n a multiple of 16). */
export function vectorSilu4(y: usize, x: usize, n: i32): void {
  for (let i = 0; i + 16 <= n; i += 16) {
    const p = at(x, i);
    siluStore4(at(y, i), v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48));
  }
}
