// Element-wise kernels and small reductions: the glue between the big layers of an MLP, a U-Net and a training
// loop (activation, arithmetic, reductions and losses, channel bias, pooling, upsampling, skip connections,
// timestep embeddings).
//
//   silu(x) = x * sigmoid(x) = x / (1 + e^-x),    silu'(x) = s * (1 + x * (1 - s)),  s = 1 / (1 + e^-x)
//   mse = mean((pred - target)^2)
//   softmax cross-entropy = mean over n of log sum_j e^(l_nj - m_n) - (l_n,label - m_n),  m_n = max_j l_nj
//
// Legend: n element count; N batch, C channels, H, W height and width, HW = H * W; CLASSES logits per row;
// DIM embedding width.
//
// SIMD kernels run f32x4 main loops with scalar tails. Where a kernel applies the same f32 operations to every
// element, the SIMD kernel and its scalar twin give identical bits. SiLU is the exception: its SIMD kernels use
// the vectorised `expf32x4` (simd-math.ts, within 1 ulp; tails through the same function on a splat, so an
// element's bits never depend on n or its position) and their plain scalar twins Mathf.exp, so the two agree to
// a few ulp, not bit for bit. Reductions accumulate in f64 in an order that depends only on the element count
// (see `reduceF64`); their scalar twins sum in plain index order, so the two agree to f64 rounding.
import { expf32Lane, expf32x4, onef32x4, sigmoidf32x4 } from './simd-math';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// ---------------------------------------------------------------------------------------------------------
// SiLU

/** y = silu(x) = x / (1 + exp(-x)): exp(100) overflows to +Inf and gives -0 at x = -100, never NaN. */
export function siluForward(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), siluLanes(v128.load(at(x, i))));
  for (; i < n; i++) store<f32>(at(y, i), f32x4.extract_lane(siluLanes(f32x4.splat(load<f32>(at(x, i)))), 0));
}

export function siluForwardScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) { const v = load<f32>(at(x, i)); store<f32>(at(y, i), v / (1 + Mathf.exp(-v))); }
}

// @ts-ignore: decorator
@inline function siluLanes(v: v128): v128 {
  return f32x4.div(v, f32x4.add(onef32x4(), expf32x4(f32x4.neg(v))));
}

/** dx += dy * silu'(x), silu'(x) = s * (1 + x * (1 - s)) with s = 1 / (1 + exp(-x)). */
export function siluBackward(dx: usize, dy: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(at(dx, i), f32x4.add(v128.load(at(dx, i)), f32x4.mul(v128.load(at(dy, i)), siluSlopeLanes(v128.load(at(x, i))))));
  }
  for (; i < n; i++) {
    const slope = f32x4.extract_lane(siluSlopeLanes(f32x4.splat(load<f32>(at(x, i)))), 0);
    store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dy, i)) * slope);
  }
}

export function siluBackwardScalar(dx: usize, dy: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(at(x, i));
    const s: f32 = 1 / (1 + Mathf.exp(-v));
    store<f32>(at(dx, i), load<f32>(at(dx, i)) + load<f32>(at(dy, i)) * (s * (1 + v * (1 - s))));
  }
}

/** silu'(x) = s * (1 + x * (1 - s)): s = 0 below -88.72 and 1 - s = 0 above 16.64, so never Inf * 0. */
// @ts-ignore: decorator
@inline function siluSlopeLanes(v: v128): v128 {
  const one = onef32x4(), s = sigmoidf32x4(v);
  return f32x4.mul(s, f32x4.add(one, f32x4.mul(v, f32x4.sub(one, s))));
}

/** Test hook: y[i] = e^x[i] with simd-math.ts's `expf32x4` (tails through a splat, as the kernels do). */
export function vectorExp(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), expf32x4(v128.load(at(x, i))));
  for (; i < n; i++) store<f32>(at(y, i), expf32Lane(load<f32>(at(x, i))));
}

export function vectorExpScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(y, i), Mathf.exp(load<f32>(at(x, i))));
}

/** Test hook: y[i] = 1 / (1 + e^-x[i]) with simd-math.ts's `sigmoidf32x4`. */
export function vectorSigmoid(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), sigmoidf32x4(v128.load(at(x, i))));
  for (; i < n; i++) store<f32>(at(y, i), f32x4.extract_lane(sigmoidf32x4(f32x4.splat(load<f32>(at(x, i)))), 0));
}

export function vectorSigmoidScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(y, i), 1 / (1 + Mathf.exp(-load<f32>(at(x, i)))));
}

// ---------------------------------------------------------------------------------------------------------
// Arithmetic: out = a + b, a - b, a * b, alpha * a; y += alpha * x; out = value

export function add(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.add(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i)));
}

export function addScalar(out: usize, a: usize, b: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i)));
}

export function sub(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.sub(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) - load<f32>(at(b, i)));
}

export function subScalar(out: usize, a: usize, b: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) - load<f32>(at(b, i)));
}

export function mul(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.mul(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * load<f32>(at(b, i)));
}

export function mulScalar(out: usize, a: usize, b: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * load<f32>(at(b, i)));
}

export function scale(out: usize, a: usize, alpha: f32, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), f32x4.mul(v128.load(at(a, i)), va));
  for (; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * alpha);
}

export function scaleScalar(out: usize, a: usize, alpha: f32, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * alpha);
}

/** y += alpha * x (a multiply, then an add: never fused). */
export function axpy(y: usize, x: usize, alpha: f32, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.add(v128.load(at(y, i)), f32x4.mul(va, v128.load(at(x, i)))));
  for (; i < n; i++) store<f32>(at(y, i), load<f32>(at(y, i)) + alpha * load<f32>(at(x, i)));
}

export function axpyScalar(y: usize, x: usize, alpha: f32, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(y, i), load<f32>(at(y, i)) + alpha * load<f32>(at(x, i)));
}

export function fill(out: usize, value: f32, n: i32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), v);
  for (; i < n; i++) store<f32>(at(out, i), value);
}

export function fillScalar(out: usize, value: f32, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(at(out, i), value);
}

/** dst += src, n elements (shared by the backward kernels that route gradients unchanged). */
// @ts-ignore: decorator
@inline function addInto(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), v128.load(at(src, i))));
  for (; i < n; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) + load<f32>(at(src, i)));
}

// ---------------------------------------------------------------------------------------------------------
// Reductions

// @ts-ignore: decorator
@inline const VALUES: i32 = 0;
// @ts-ignore: decorator
@inline const SQUARES: i32 = 1;
// @ts-ignore: decorator
@inline const SQUARED_DIFFERENCES: i32 = 2;

/**
 * The fixed-order f64 reduction behind every sum here: of x[i], x[i]^2, or (x[i] - y[i])^2, each term formed in
 * f64 from the f32 inputs (so squares of integers below 2^26 are exact). Order, a function of n only: the first
 * n - n % 8 elements go round-robin into eight f64 accumulators A0..A7 (element i into A(i % 8), held as four
 * f64x2 lanes pairs (A0, A1), (A2, A3), (A4, A5), (A6, A7)); the pairs are added ((A0,A1) + (A2,A3)) +
 * ((A4,A5) + (A6,A7)) lane-wise, the two lanes added, and the last n % 8 terms added in index order.
 */
// @ts-ignore: decorator
@inline function reduceF64(x: usize, y: usize, n: i32, mode: i32): f64 {
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
@inline function reductionTerm(x: usize, y: usize, i: i32, mode: i32): f64 {
  let t = <f64>load<f32>(at(x, i));
  if (mode == SQUARED_DIFFERENCES) t -= <f64>load<f32>(at(y, i));
  return mode == VALUES ? t : t * t;
}

/** The scalar twins' reduction: the same terms, summed in index order. */
// @ts-ignore: decorator
@inline function reduceF64Scalar(x: usize, y: usize, n: i32, mode: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) total += reductionTerm(x, y, i, mode);
  return total;
}

/** Sum of x[0..n) in f64 (order: see reduceF64). */
export function sum(x: usize, n: i32): f64 { return reduceF64(x, 0, n, VALUES); }
export function sumScalar(x: usize, n: i32): f64 { return reduceF64Scalar(x, 0, n, VALUES); }

/** Sum of x[i]^2 in f64, squares formed in f64 (order: see reduceF64). */
export function sumOfSquares(x: usize, n: i32): f64 { return reduceF64(x, 0, n, SQUARES); }
export function sumOfSquaresScalar(x: usize, n: i32): f64 { return reduceF64Scalar(x, 0, n, SQUARES); }

/** mean((pred - target)^2) in f64 (order: see reduceF64); 0 when n = 0. */
export function mseLoss(pred: usize, target: usize, n: i32): f64 {
  return n > 0 ? reduceF64(pred, target, n, SQUARED_DIFFERENCES) / <f64>n : 0;
}
export function mseLossScalar(pred: usize, target: usize, n: i32): f64 {
  return n > 0 ? reduceF64Scalar(pred, target, n, SQUARED_DIFFERENCES) / <f64>n : 0;
}

/** dpred += c * (pred - target), with c = f32(scale * 2 / n) rounded once. */
export function mseLossBackward(dpred: usize, pred: usize, target: usize, n: i32, scale: f64): void {
  const c = <f32>(scale * 2 / <f64>n);
  const vc = f32x4.splat(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = f32x4.sub(v128.load(at(pred, i)), v128.load(at(target, i)));
    v128.store(at(dpred, i), f32x4.add(v128.load(at(dpred, i)), f32x4.mul(vc, d)));
  }
  for (; i < n; i++) store<f32>(at(dpred, i), load<f32>(at(dpred, i)) + c * (load<f32>(at(pred, i)) - load<f32>(at(target, i))));
}

export function mseLossBackwardScalar(dpred: usize, pred: usize, target: usize, n: i32, scale: f64): void {
  const c = <f32>(scale * 2 / <f64>n);
  for (let i = 0; i < n; i++) store<f32>(at(dpred, i), load<f32>(at(dpred, i)) + c * (load<f32>(at(pred, i)) - load<f32>(at(target, i))));
}

/** How many of x[0..n) are NaN or ±Inf, read from the exponent bits (all ones) so no NaN is ever compared. */
export function countNonFinite(x: usize, n: i32): i32 {
  const mask = i32x4.splat(0x7f800000);
  let counts = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) counts = i32x4.sub(counts, i32x4.eq(v128.and(v128.load(at(x, i)), mask), mask));
  let total = (i32x4.extract_lane(counts, 0) + i32x4.extract_lane(counts, 1))
    + (i32x4.extract_lane(counts, 2) + i32x4.extract_lane(counts, 3));
  for (; i < n; i++) total += i32((load<u32>(at(x, i)) & 0x7f800000) == 0x7f800000);
  return total;
}

export function countNonFiniteScalar(x: usize, n: i32): i32 {
  let total = 0;
  for (let i = 0; i < n; i++) total += i32((load<u32>(at(x, i)) & 0x7f800000) == 0x7f800000);
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Per-(n, c) channel bias and global average pooling over planes of HW elements

/** x[n, c, :] += bias[n * C + c], in place. */
export function addChannelBias(x: usize, bias: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    const b = load<f32>(at(bias, p)), vb = f32x4.splat(b);
    const plane = at(x, p * HW);
    let i = 0;
    for (; i + 4 <= HW; i += 4) v128.store(at(plane, i), f32x4.add(v128.load(at(plane, i)), vb));
    for (; i < HW; i++) store<f32>(at(plane, i), load<f32>(at(plane, i)) + b);
  }
}

export function addChannelBiasScalar(x: usize, bias: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < HW; i++) store<f32>(at(x, p * HW + i), load<f32>(at(x, p * HW + i)) + load<f32>(at(bias, p)));
  }
}

/** dbias[n * C + c] += sum of dy[n, c, :] (the sum in f64, see reduceF64, rounded to f32 before the add). */
export function channelBiasBackward(dbias: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(dbias, p), load<f32>(at(dbias, p)) + <f32>reduceF64(at(dy, p * HW), 0, HW, VALUES));
}

export function channelBiasBackwardScalar(dbias: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(dbias, p), load<f32>(at(dbias, p)) + <f32>reduceF64Scalar(at(dy, p * HW), 0, HW, VALUES));
}

/** y[n, c] = mean of x[n, c, :] (summed in f64, see reduceF64, divided in f64, rounded once). HW > 0. */
export function globalAvgPoolForward(y: usize, x: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(y, p), <f32>(reduceF64(at(x, p * HW), 0, HW, VALUES) / <f64>HW));
}

export function globalAvgPoolForwardScalar(y: usize, x: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) store<f32>(at(y, p), <f32>(reduceF64Scalar(at(x, p * HW), 0, HW, VALUES) / <f64>HW));
}

/** dx[n, c, :] += dy[n, c] / HW (the division in f32). */
export function globalAvgPoolBackward(dx: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    const g = load<f32>(at(dy, p)) / <f32>HW, vg = f32x4.splat(g);
    const plane = at(dx, p * HW);
    let i = 0;
    for (; i + 4 <= HW; i += 4) v128.store(at(plane, i), f32x4.add(v128.load(at(plane, i)), vg));
    for (; i < HW; i++) store<f32>(at(plane, i), load<f32>(at(plane, i)) + g);
  }
}

export function globalAvgPoolBackwardScalar(dx: usize, dy: usize, N: i32, C: i32, HW: i32): void {
  for (let p = 0; p < N * C; p++) {
    for (let i = 0; i < HW; i++) store<f32>(at(dx, p * HW + i), load<f32>(at(dx, p * HW + i)) + load<f32>(at(dy, p)) / <f32>HW);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Nearest-neighbour 2x upsampling. Row r of x (counting rows over all N * C planes) feeds rows 2r and 2r + 1
// of y, so the kernels walk N * C * H rows of W elements.

/** y[n, c, 2h + i, 2w + j] = x[n, c, h, w] for i, j in {0, 1}; y is [N, C, 2H, 2W]. */
export function upsampleNearest2xForward(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    const src = at(x, r * W), top = at(y, 4 * r * W), bottom = at(top, 2 * W);
    let w = 0;
    for (; w + 4 <= W; w += 4) {
      const v = v128.load(at(src, w));
      const lo = f32x4.shuffle(v, v, 0, 0, 1, 1), hi = f32x4.shuffle(v, v, 2, 2, 3, 3);
      v128.store(at(top, 2 * w), lo); v128.store(at(top, 2 * w), hi, 16);
      v128.store(at(bottom, 2 * w), lo); v128.store(at(bottom, 2 * w), hi, 16);
    }
    for (; w < W; w++) {
      const v = load<f32>(at(src, w));
      store<f32>(at(top, 2 * w), v); store<f32>(at(top, 2 * w + 1), v);
      store<f32>(at(bottom, 2 * w), v); store<f32>(at(bottom, 2 * w + 1), v);
    }
  }
}

export function upsampleNearest2xForwardScalar(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    for (let w = 0; w < W; w++) {
      const v = load<f32>(at(x, r * W + w));
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) store<f32>(at(y, (2 * r + i) * 2 * W + 2 * w + j), v);
    }
  }
}

/** dx[n, c, h, w] += (dy[2h, 2w] + dy[2h, 2w + 1]) + (dy[2h + 1, 2w] + dy[2h + 1, 2w + 1]), in that order. */
export function upsampleNearest2xBackward(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    const dst = at(dx, r * W), top = at(dy, 4 * r * W), bottom = at(top, 2 * W);
    let w = 0;
    for (; w + 4 <= W; w += 4) {
      const t0 = v128.load(at(top, 2 * w)), t1 = v128.load(at(top, 2 * w), 16);
      const b0 = v128.load(at(bottom, 2 * w)), b1 = v128.load(at(bottom, 2 * w), 16);
      const upper = f32x4.add(f32x4.shuffle(t0, t1, 0, 2, 4, 6), f32x4.shuffle(t0, t1, 1, 3, 5, 7));
      const lower = f32x4.add(f32x4.shuffle(b0, b1, 0, 2, 4, 6), f32x4.shuffle(b0, b1, 1, 3, 5, 7));
      v128.store(at(dst, w), f32x4.add(v128.load(at(dst, w)), f32x4.add(upper, lower)));
    }
    for (; w < W; w++) {
      const upper = load<f32>(at(top, 2 * w)) + load<f32>(at(top, 2 * w + 1));
      const lower = load<f32>(at(bottom, 2 * w)) + load<f32>(at(bottom, 2 * w + 1));
      store<f32>(at(dst, w), load<f32>(at(dst, w)) + (upper + lower));
    }
  }
}

export function upsampleNearest2xBackwardScalar(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let r = 0; r < N * C * H; r++) {
    for (let w = 0; w < W; w++) {
      const top = (2 * r) * 2 * W + 2 * w, bottom = top + 2 * W;
      const upper = load<f32>(at(dy, top)) + load<f32>(at(dy, top + 1));
      const children = upper + (load<f32>(at(dy, bottom)) + load<f32>(at(dy, bottom + 1)));
      store<f32>(at(dx, r * W + w), load<f32>(at(dx, r * W + w)) + children);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Softmax cross-entropy over rows of CLASSES logits, labels i32 in [0, CLASSES) (checked by the caller)

/**
 * probs = softmax(logits) row by row; returns the mean over rows of -log probs[label], in f64. Stable: each row's
 * max m is subtracted before exp; the exps are summed in f64 in index order (s >= 1), probs = e / f32(s), and the
 * row loss is log(s) - (logit[label] - m), summed over rows in order and divided by N. A row's probs depend on
 * that row alone.
 */
export function softmaxCrossEntropy(probs: usize, logits: usize, labels: usize, N: i32, CLASSES: i32): f64 {
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const row = at(logits, n * CLASSES), out = at(probs, n * CLASSES);
    let vmax = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= CLASSES; j += 4) vmax = f32x4.max(vmax, v128.load(at(row, j)));
    let m = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
      max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
    for (; j < CLASSES; j++) m = max(m, load<f32>(at(row, j)));
    const s = expAndSum(out, row, m, CLASSES);
    const vs = f32x4.splat(<f32>s);
    j = 0;
    for (; j + 4 <= CLASSES; j += 4) v128.store(at(out, j), f32x4.div(v128.load(at(out, j)), vs));
    for (; j < CLASSES; j++) store<f32>(at(out, j), load<f32>(at(out, j)) / <f32>s);
    total += rowLoss(row, load<i32>(at(labels, n)), m, s);
  }
  return total / <f64>N;
}

export function softmaxCrossEntropyScalar(probs: usize, logits: usize, labels: usize, N: i32, CLASSES: i32): f64 {
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const row = at(logits, n * CLASSES), out = at(probs, n * CLASSES);
    let m: f32 = -Infinity;
    for (let j = 0; j < CLASSES; j++) m = max(m, load<f32>(at(row, j)));
    const s = expAndSum(out, row, m, CLASSES);
    for (let j = 0; j < CLASSES; j++) store<f32>(at(out, j), load<f32>(at(out, j)) / <f32>s);
    total += rowLoss(row, load<i32>(at(labels, n)), m, s);
  }
  return total / <f64>N;
}

/** out[j] = exp(row[j] - m) (Mathf.exp: one lane at a time either way); returns their f64 sum in index order. */
// @ts-ignore: decorator
@inline function expAndSum(out: usize, row: usize, m: f32, CLASSES: i32): f64 {
  let s: f64 = 0;
  for (let j = 0; j < CLASSES; j++) {
    const e = Mathf.exp(load<f32>(at(row, j)) - m);
    store<f32>(at(out, j), e);
    s += <f64>e;
  }
  return s;
}

// @ts-ignore: decorator
@inline function rowLoss(row: usize, label: i32, m: f32, s: f64): f64 {
  return Math.log(s) - (<f64>load<f32>(at(row, label)) - <f64>m);
}

/** dlogits += c * (probs - onehot(label)), with c = f32(scale / N) rounded once. */
export function softmaxCrossEntropyBackward(dlogits: usize, probs: usize, labels: usize, N: i32, CLASSES: i32, scale: f64): void {
  const c = <f32>(scale / <f64>N), vc = f32x4.splat(c);
  for (let n = 0; n < N; n++) {
    const d = at(dlogits, n * CLASSES), p = at(probs, n * CLASSES), label = load<i32>(at(labels, n));
    // The vector loop treats the label like any class; its element is then redone from the saved value.
    const saved = load<f32>(at(d, label));
    let j = 0;
    for (; j + 4 <= CLASSES; j += 4) v128.store(at(d, j), f32x4.add(v128.load(at(d, j)), f32x4.mul(vc, v128.load(at(p, j)))));
    for (; j < CLASSES; j++) store<f32>(at(d, j), load<f32>(at(d, j)) + c * load<f32>(at(p, j)));
    store<f32>(at(d, label), saved + c * (load<f32>(at(p, label)) - 1));
  }
}

export function softmaxCrossEntropyBackwardScalar(dlogits: usize, probs: usize, labels: usize, N: i32, CLASSES: i32, scale: f64): void {
  const c = <f32>(scale / <f64>N);
  for (let n = 0; n < N; n++) {
    const label = load<i32>(at(labels, n));
    for (let j = 0; j < CLASSES; j++) {
      const i = n * CLASSES + j;
      store<f32>(at(dlogits, i), load<f32>(at(dlogits, i)) + c * (load<f32>(at(probs, i)) - (j == label ? <f32>1 : 0)));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Channel concatenation (U-Net skip connections): out [N, CA + CB, HW] = a [N, CA, HW] then b [N, CB, HW]

export function concatChannels(out: usize, a: usize, b: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    memory.copy(at(out, n * (sa + sb)), at(a, n * sa), <usize>sa << 2);
    memory.copy(at(out, n * (sa + sb) + sa), at(b, n * sb), <usize>sb << 2);
  }
}

export function concatChannelsScalar(out: usize, a: usize, b: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < sa; i++) store<f32>(at(out, n * (sa + sb) + i), load<f32>(at(a, n * sa + i)));
    for (let i = 0; i < sb; i++) store<f32>(at(out, n * (sa + sb) + sa + i), load<f32>(at(b, n * sb + i)));
  }
}

/** da += dout[:, :CA], db += dout[:, CA:]; a zero pointer skips that gradient. */
export function concatChannelsBackward(da: usize, db: usize, dout: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    if (da != 0) addInto(at(da, n * sa), at(dout, n * (sa + sb)), sa);
    if (db != 0) addInto(at(db, n * sb), at(dout, n * (sa + sb) + sa), sb);
  }
}

export function concatChannelsBackwardScalar(da: usize, db: usize, dout: usize, N: i32, CA: i32, CB: i32, HW: i32): void {
  const sa = CA * HW, sb = CB * HW;
  for (let n = 0; n < N; n++) {
    const row = n * (sa + sb);
    for (let i = 0; da != 0 && i < sa; i++) store<f32>(at(da, n * sa + i), load<f32>(at(da, n * sa + i)) + load<f32>(at(dout, row + i)));
    for (let i = 0; db != 0 && i < sb; i++) store<f32>(at(db, n * sb + i), load<f32>(at(db, n * sb + i)) + load<f32>(at(dout, row + sa + i)));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sinusoidal timestep embeddings, as diffusers' get_timestep_embedding (computed in f64, stored as f32):
//   half = floor(DIM / 2), freq_i = exp(-ln(maxPeriod) * i / (half - downscaleFreqShift)), e_ni = t_n * freq_i,
//   out[n] = [sin e_n0 .. sin e_n(half-1), cos e_n0 .. cos e_n(half-1)] ([cos .., sin ..] when flipSinToCos),
//   then a zero column when DIM is odd. timesteps is f32 [N]; out is [N, DIM].

/** Computes each frequency once and walks the batch under it; same bits as the scalar twin. */
export function timestepEmbedding(
  out: usize, timesteps: usize, N: i32, DIM: i32, flipSinToCos: i32, downscaleFreqShift: f32, maxPeriod: f32,
): void {
  const half = DIM >> 1;
  for (let i = 0; i < half; i++) {
    const freq = timestepFrequency(i, half, downscaleFreqShift, maxPeriod);
    for (let n = 0; n < N; n++) storeSinCos(out, n, i, half, DIM, flipSinToCos, <f64>load<f32>(at(timesteps, n)) * freq);
  }
  if (DIM & 1) for (let n = 0; n < N; n++) store<f32>(at(out, n * DIM + DIM - 1), 0);
}

export function timestepEmbeddingScalar(
  out: usize, timesteps: usize, N: i32, DIM: i32, flipSinToCos: i32, downscaleFreqShift: f32, maxPeriod: f32,
): void {
  const half = DIM >> 1;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < half; i++) {
      const e = <f64>load<f32>(at(timesteps, n)) * timestepFrequency(i, half, downscaleFreqShift, maxPeriod);
      storeSinCos(out, n, i, half, DIM, flipSinToCos, e);
    }
    if (DIM & 1) store<f32>(at(out, n * DIM + DIM - 1), 0);
  }
}

// @ts-ignore: decorator
@inline function timestepFrequency(i: i32, half: i32, downscaleFreqShift: f32, maxPeriod: f32): f64 {
  return Math.exp(-Math.log(<f64>maxPeriod) * <f64>i / (<f64>half - <f64>downscaleFreqShift));
}

// @ts-ignore: decorator
@inline function storeSinCos(out: usize, n: i32, i: i32, half: i32, DIM: i32, flipSinToCos: i32, e: f64): void {
  const row = n * DIM;
  store<f32>(at(out, row + (flipSinToCos ? half + i : i)), <f32>Math.sin(e));
  store<f32>(at(out, row + (flipSinToCos ? i : half + i)), <f32>Math.cos(e));
}
