// Helpers shared by the element-wise and spatial kernels (not wasm exports: index.ts does not re-export this
// file): byte addressing of f32 elements, an in-place add, and the fixed-order f64 reduction behind every sum.

// @ts-ignore: decorator
@inline export function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

/** dst += src, n elements (shared by the backward kernels that route gradients unchanged). */
// @ts-ignore: decorator
@inline export function addInto(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), v128.load(at(src, i))));
  for (; i < n; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) + load<f32>(at(src, i)));
}

// @ts-ignore: decorator
@inline export const VALUES: i32 = 0;
// @ts-ignore: decorator
@inline export const SQUARES: i32 = 1;
// @ts-ignore: decorator
@inline export const SQUARED_DIFFERENCES: i32 = 2;

/**
 * The fixed-order f64 reduction behind every sum here: of x[i], x[i]^2, or (x[i] - y[i])^2, each term formed in
 * f64 from the f32 inputs (so squares of integers below 2^26 are exact). Order, a function of n only: the first
 * n - n % 8 elements go round-robin into eight f64 accumulators A0..A7 (element i into A(i % 8), held as four
 * f64x2 lanes pairs (A0, A1), (A2, A3), (A4, A5), (A6, A7)); the pairs are added ((A0,A1) + (A2,A3)) +
 * ((A4,A5) + (A6,A7)) lane-wise, the two lanes added, and the last n % 8 terms added in index order.
 */
// @ts-ignore: decorator
@inline export function reduceF64(x: usize, y: usize, n: i32, mode: i32): f64 {
  let a01 = f64x2.splat(0), a23 = f64x2.splat(0), a45 = f64x2.splat(0), a67 = f64x2.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    let u = v128.load(at(x, i)), v = v128.load(at(x, i), 16);
    let t01 = f64x2.promote_low_f32x4(u), t23 = f64x2.promote_low_f32x4(f32x4.shuffle(u, u, 2, 3, 0, 1));
    let t45 = f64x2.promote_low_f32x4(v), t67 = f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1));
    if (mode == SQUARED_DIFFERENCES) {
      u = v128.load(at(y, i)); v = v128.load(at(y, i), 16);
      t01 = f64x2.sub(t01, f64x2.promote_low_f32x4(u));
      t23 = f64x2.sub(t23, f64x2.promote_low_f32x4(f32x4.shuffle(u, u, 2, 3, 0, 1)));
      t45 = f64x2.sub(t45, f64x2.promote_low_f32x4(v));
      t67 = f64x2.sub(t67, f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1)));
    }
    if (mode != VALUES) {
      t01 = f64x2.mul(t01, t01); t23 = f64x2.mul(t23, t23); t45 = f64x2.mul(t45, t45); t67 = f64x2.mul(t67, t67);
    }
    a01 = f64x2.add(a01, t01); a23 = f64x2.add(a23, t23); a45 = f64x2.add(a45, t45); a67 = f64x2.add(a67, t67);
  }
  const pairs = f64x2.add(f64x2.add(a01, a23), f64x2.add(a45, a67));
  let total = f64x2.extract_lane(pairs, 0) + f64x2.extract_lane(pairs, 1);
  for (; i < n; i++) total += reductionTerm(x, y, i, mode);
  return total;
}

// @ts-ignore: decorator
@inline export function reductionTerm(x: usize, y: usize, i: i32, mode: i32): f64 {
  let t = <f64>load<f32>(at(x, i));
  if (mode == SQUARED_DIFFERENCES) t -= <f64>load<f32>(at(y, i));
  return mode == VALUES ? t : t * t;
}

/** The scalar twins' reduction: the same terms, summed in index order. */
// @ts-ignore: decorator
@inline export function reduceF64Scalar(x: usize, y: usize, n: i32, mode: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) total += reductionTerm(x, y, i, mode);
  return total;
}
