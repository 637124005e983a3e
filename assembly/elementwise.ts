// Element-wise kernels and small reductions: the glue between the big layers of an MLP, a U-Net and a training
// loop (activation, arithmetic, sums and losses). The spatial glue of the U-Net (channel bias, pooling,
// upsampling, skip connections) is in spatial.ts, the timestep embedding in embedding.ts.
//
//   silu(x) = x * sigmoid(x) = x / (1 + e^-x),    silu'(x) = s * (1 + x * (1 - s)),  s = 1 / (1 + e^-x)
//   mse = mean((pred - target)^2)
//   softmax cross-entropy = mean over n of log sum_j e^(l_nj - m_n) - (l_n,label - m_n),  m_n = max_j l_nj
//
// Legend: n element count; N rows, CLASSES logits per row.
//
// SIMD kernels run f32x4 main loops with scalar tails. Where a kernel applies the same f32 operations to every
// element, the SIMD kernel and its scalar twin give identical bits. SiLU is the exception: its SIMD kernels use
// the vectorised `expf32x4` (simd-math.ts, within 1 ulp; tails through the same function on a splat, so an
// element's bits never depend on n or its position) and their plain scalar twins Mathf.exp, so the two agree to
// a few ulp, not bit for bit. Reductions accumulate in f64 in an order that depends only on the element count
// (see `reduceF64` in reduce.ts); their scalar twins sum in plain index order, so the two agree to f64 rounding.
import { onef32x4, sigmoidf32x4, siluf32x4 } from './simd-math';
import { at, reduceF64, reduceF64Scalar, SQUARED_DIFFERENCES, SQUARES, VALUES } from './reduce';

// ---------------------------------------------------------------------------------------------------------
// SiLU

/** y = silu(x) = x / (1 + exp(-x)): exp(100) overflows to +Inf and gives -0 at x = -100, never NaN. */
export function siluForward(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), siluf32x4(v128.load(at(x, i))));
  for (; i < n; i++) store<f32>(at(y, i), f32x4.extract_lane(siluf32x4(f32x4.splat(load<f32>(at(x, i)))), 0));
}

export function siluForwardScalar(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) { const v = load<f32>(at(x, i)); store<f32>(at(y, i), v / (1 + Mathf.exp(-v))); }
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

// ---------------------------------------------------------------------------------------------------------
// Reductions (the order: see reduceF64 in reduce.ts)

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
