// 2-D convolution (cross-correlation, as in PyTorch), NCHW float32, lowered to matrix products.
//
//   y[n,k,oh,ow] = b[k] + Σ_{c,r,s} w[k,c,r,s] · x[n, c, oh·stride - padding + r, ow·stride - padding + s]
//   dx[n,c,h,w] += Σ_{k,r,s,oh,ow at h,w} w[k,c,r,s] · dy[n,k,oh,ow]
//   dw[k,c,r,s] += Σ_{n,oh,ow} dy[n,k,oh,ow] · x[n, c, oh·stride - padding + r, ow·stride - padding + s]
//   db[k]       += Σ_{n,oh,ow} dy[n,k,oh,ow]
// Out-of-range x reads are zeros (symmetric zero padding); OH = (H + 2·padding - R) / stride + 1 (floor), OW alike.
//
// Legend: N batch, C input channels, H, W input size, K output channels, R, S kernel size, OH, OW output size,
// P = OH·OW output positions, CRS = C·R·S (the patch length), row index crs = (c·R + r)·S + s.
//
// Per image, the patches are unfolded (im2col) into col[CRS, cols] for a panel of whole output rows at a time
// (the panel stays in cache; see panelRows), and the work is one `gemm` per panel:
//   forward          y[n][K, P]  = W[K, CRS] · col              (y pre-filled with the bias, gemm accumulates)
//   backward input   dcol        = Wᵀ[CRS, K] · dy[n][K, P]      then col2im scatter-ADDs dcol into dx[n]
//   backward weight  dW[K, CRS] += dy[n][K, P] · colᵀ            (colᵀ is read through strides: no copy)
// A 1x1 convolution with stride 1 and no padding needs no unfolding: x[n] viewed as [C, P] is col itself.
//
// Determinism: gemm gives C[i][j] bits that depend only on row i of A, column j of B and the reduction length,
// so y and dx of an image depend only on that image and the shapes (the panel height is a function of C, R, S,
// OH, OW, never of N). dw and db sum images n = 0..N-1 in order, each image's sums in a fixed order.
// Sizes arrive validated by bindings/ops/conv2d.ts: stride >= 1, padding >= 0, OH >= 1 and OW >= 1.

import { gemm } from './matmul';

// Target floats of one col panel: about 512 KiB, half of a 1 MiB L2, so that col and gemm's packed copy of it
// stay in cache between im2col and the product.
// @ts-ignore: decorator
@inline const PANEL_FLOATS: i32 = 128 * 1024;
// At least this many columns per panel (if the image has them): gemm re-packs W for every panel, which only
// pays off over enough columns.
// @ts-ignore: decorator
@inline const MIN_PANEL_COLS: i32 = 256;

// ---------------------------------------------------------------------------------------------------------
// Public kernels

/** Floats of workspace the SIMD kernels need for these sizes (0 for a 1x1, stride 1, padding 0 convolution). */
export function conv2dWorkspaceSize(C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, stride: i32, padding: i32): i32 {
  if (isPointwise(R, S, stride, padding)) return 0;
  const OH = outSize(H, R, stride, padding), OW = outSize(W, S, stride, padding);
  return C * R * S * panelRows(C * R * S, OH, OW) * OW;
}

/** y[N, K, OH, OW] = conv(x[N, C, H, W], w[K, C, R, S]) + b[K]; b may be 0 (no bias); y is overwritten. */
export function conv2dForward(
  y: usize, x: usize, w: usize, b: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, stride: i32, padding: i32,
): void {
  const OH = outSize(H, R, stride, padding), OW = outSize(W, S, stride, padding);
  const P = OH * OW, CRS = C * R * S;
  const rows = panelRows(CRS, OH, OW);
  const hasBias = b != 0;
  for (let n = 0; n < N; n++) {
    const xn = offset(x, n * C * H * W), yn = offset(y, n * K * P);
    if (hasBias) fillBias(yn, b, K, P);
    if (isPointwise(R, S, stride, padding)) {
      gemm(K, P, C, w, C, 1, xn, P, 1, yn, P, hasBias);
      continue;
    }
    for (let oh0 = 0; oh0 < OH; oh0 += rows) {
      const oh1 = min(OH, oh0 + rows), cols = (oh1 - oh0) * OW;
      im2col(work, xn, C, H, W, R, S, stride, padding, OW, oh0, oh1);
      gemm(K, cols, CRS, w, CRS, 1, work, cols, 1, offset(yn, oh0 * OW), P, hasBias);
    }
  }
}

/** The scalar twin of `conv2dForward`: the definition, summed over (c, r, s) in increasing order. */
export function conv2dForwardScalar(
  y: usize, x: usize, w: usize, b: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, stride: i32, padding: i32,
): void {
  const OH = outSize(H, R, stride, padding), OW = outSize(W, S, stride, padding);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let sum: f32 = 0;
    for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
      const h = oh * stride - padding + r, v = ow * stride - padding + s;
      if (h < 0 || h >= H || v < 0 || v >= W) continue;
      sum += load<f32>(offset(w, ((k * C + c) * R + r) * S + s)) * load<f32>(offset(x, ((n * C + c) * H + h) * W + v));
    }
    if (b != 0) sum += load<f32>(offset(b, k));
    store<f32>(offset(y, ((n * K + k) * OH + oh) * OW + ow), sum);
  }
}

/** dx[N, C, H, W] += the gradient of conv2dForward wrt x, given dy[N, K, OH, OW]. */
export function conv2dBackwardInput(
  dx: usize, dy: usize, w: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, stride: i32, padding: i32,
): void {
  const OH = outSize(H, R, stride, padding), OW = outSize(W, S, stride, padding);
  const P = OH * OW, CRS = C * R * S;
  const rows = panelRows(CRS, OH, OW);
  for (let n = 0; n < N; n++) {
    const dxn = offset(dx, n * C * H * W), dyn = offset(dy, n * K * P);
    if (isPointwise(R, S, stride, padding)) {
      gemm(C, P, K, w, 1, C, dyn, P, 1, dxn, P, true);
      continue;
    }
    for (let oh0 = 0; oh0 < OH; oh0 += rows) {
      const oh1 = min(OH, oh0 + rows), cols = (oh1 - oh0) * OW;
      gemm(CRS, cols, K, w, 1, CRS, offset(dyn, oh0 * OW), P, 1, work, cols, false);
      col2imAdd(dxn, work, C, H, W, R, S, stride, padding, OW, oh0, oh1);
    }
  }
}

/** The scalar twin of `conv2dBackwardInput`: scatters w·dy into dx, loops in (n, k, oh, ow, c, r, s) order. */
export function conv2dBackwardInputScalar(
  dx: usize, dy: usize, w: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, stride: i32, padding: i32,
): void {
  const OH = outSize(H, R, stride, padding), OW = outSize(W, S, stride, padding);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const g = load<f32>(offset(dy, ((n * K + k) * OH + oh) * OW + ow));
    for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
      const h = oh * stride - padding + r, v = ow * stride - padding + s;
      if (h < 0 || h >= H || v < 0 || v >= W) continue;
      const p = offset(dx, ((n * C + c) * H + h) * W + v);
      store<f32>(p, load<f32>(p) + load<f32>(offset(w, ((k * C + c) * R + r) * S + s)) * g);
    }
  }
}

/**
 * dw[K, C, R, S] += the gradient of conv2dForward wrt w, and db[K] += the sum of dy over n, oh, ow, given
 * dy[N, K, OH, OW] and x[N, C, H, W]. db may be 0 (no bias); dw may be 0 too (only db).
 */
export function conv2dBackwardWeight(
  dw: usize, db: usize, dy: usize, x: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, stride: i32, padding: i32,
): void {
  const OH = outSize(H, R, stride, padding), OW = outSize(W, S, stride, padding);
  const P = OH * OW, CRS = C * R * S;
  const rows = panelRows(CRS, OH, OW);
  for (let n = 0; n < N; n++) {
    const xn = offset(x, n * C * H * W), dyn = offset(dy, n * K * P);
    if (db != 0) addRowSums(db, dyn, K, P);
    if (dw == 0) continue;
    if (isPointwise(R, S, stride, padding)) {
      gemm(K, C, P, dyn, P, 1, xn, 1, P, dw, C, true);
      continue;
    }
    for (let oh0 = 0; oh0 < OH; oh0 += rows) {
      const oh1 = min(OH, oh0 + rows), cols = (oh1 - oh0) * OW;
      im2col(work, xn, C, H, W, R, S, stride, padding, OW, oh0, oh1);
      gemm(K, CRS, cols, offset(dyn, oh0 * OW), P, 1, work, 1, cols, dw, CRS, true);
    }
  }
}

/** The scalar twin of `conv2dBackwardWeight`: each dw element summed over (n, oh, ow) in increasing order. */
export function conv2dBackwardWeightScalar(
  dw: usize, db: usize, dy: usize, x: usize, work: usize,
  N: i32, C: i32, H: i32, W: i32, K: i32, R: i32, S: i32, stride: i32, padding: i32,
): void {
  const OH = outSize(H, R, stride, padding), OW = outSize(W, S, stride, padding);
  for (let k = 0; k < K; k++) {
    if (dw != 0) for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
      let sum: f32 = 0;
      for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        const h = oh * stride - padding + r, v = ow * stride - padding + s;
        if (h < 0 || h >= H || v < 0 || v >= W) continue;
        sum += load<f32>(offset(dy, ((n * K + k) * OH + oh) * OW + ow)) * load<f32>(offset(x, ((n * C + c) * H + h) * W + v));
      }
      const p = offset(dw, ((k * C + c) * R + r) * S + s);
      store<f32>(p, load<f32>(p) + sum);
    }
    if (db != 0) {
      let sum: f32 = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < OH * OW; i++) sum += load<f32>(offset(dy, (n * K + k) * OH * OW + i));
      store<f32>(offset(db, k), load<f32>(offset(db, k)) + sum);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Shapes and panels

// @ts-ignore: decorator
@inline function outSize(size: i32, kernel: i32, stride: i32, padding: i32): i32 {
  return (size + 2 * padding - kernel) / stride + 1;
}

/** A 1x1, stride 1, padding 0 convolution: x[n] viewed as [C, H·W] is already the unfolded matrix. */
// @ts-ignore: decorator
@inline function isPointwise(R: i32, S: i32, stride: i32, padding: i32): bool {
  return R == 1 && S == 1 && stride == 1 && padding == 0;
}

/** Output rows per panel: about PANEL_FLOATS of col, but at least MIN_PANEL_COLS columns, at most OH rows. */
function panelRows(CRS: i32, OH: i32, OW: i32): i32 {
  const byCache = PANEL_FLOATS / max(1, CRS * OW);
  const byWidth = (MIN_PANEL_COLS + OW - 1) / OW;
  return min(OH, max(1, max(byCache, byWidth)));
}

// @ts-ignore: decorator
@inline function offset(p: usize, elements: i32): usize {
  return p + (<usize>elements << 2);
}

// ---------------------------------------------------------------------------------------------------------
// Unfolding and folding

/**
 * Unfolds output rows [oh0, oh1) of image x[C, H, W] into col[CRS, cols] (cols = (oh1 - oh0)·OW):
 * col[crs][(oh - oh0)·OW + ow] = x[c, oh·stride - padding + r, ow·stride - padding + s], zero outside x.
 */
function im2col(
  col: usize, x: usize, C: i32, H: i32, W: i32, R: i32, S: i32, stride: i32, padding: i32,
  OW: i32, oh0: i32, oh1: i32,
): void {
  let dst = col;
  for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
    // Output columns whose input column ow·stride - padding + s falls inside [0, W).
    const lo = min(OW, firstInside(padding - s, stride)), hi = max(lo, min(OW, firstInside(W + padding - s, stride)));
    for (let oh = oh0; oh < oh1; oh++) {
      const h = oh * stride - padding + r;
      if (h < 0 || h >= H) {
        memory.fill(dst, 0, <usize>OW << 2);
      } else {
        const src = offset(x, (c * H + h) * W + lo * stride - padding + s);
        if (lo > 0) memory.fill(dst, 0, <usize>lo << 2);
        if (stride == 1) copyRow(offset(dst, lo), src, hi - lo);
        else if (stride == 2) copyRowStride2(offset(dst, lo), src, hi - lo);
        else copyRowStrided(offset(dst, lo), src, hi - lo, stride);
        if (hi < OW) memory.fill(offset(dst, hi), 0, <usize>(OW - hi) << 2);
      }
      dst = offset(dst, OW);
    }
  }
}

/**
 * Folds col[CRS, cols] for output rows [oh0, oh1) back into image dx[C, H, W], ADDING each entry to the input
 * element it was read from (the transpose of im2col). Order: (c, r, s, oh, ow), fixed.
 */
function col2imAdd(
  dx: usize, col: usize, C: i32, H: i32, W: i32, R: i32, S: i32, stride: i32, padding: i32,
  OW: i32, oh0: i32, oh1: i32,
): void {
  let src = col;
  for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
    const lo = min(OW, firstInside(padding - s, stride)), hi = max(lo, min(OW, firstInside(W + padding - s, stride)));
    for (let oh = oh0; oh < oh1; oh++) {
      const h = oh * stride - padding + r;
      if (h >= 0 && h < H) {
        const dst = offset(dx, (c * H + h) * W + lo * stride - padding + s);
        if (stride == 1) addRow(dst, offset(src, lo), hi - lo);
        else addRowStrided(dst, offset(src, lo), hi - lo, stride);
      }
      src = offset(src, OW);
    }
  }
}

/** The smallest output index o >= 0 with o·stride >= bound (bound may be negative). */
// @ts-ignore: decorator
@inline function firstInside(bound: i32, stride: i32): i32 {
  return bound <= 0 ? 0 : (bound + stride - 1) / stride;
}

// @ts-ignore: decorator
@inline function copyRow(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(offset(dst, i), v128.load(offset(src, i)));
  for (; i < count; i++) store<f32>(offset(dst, i), load<f32>(offset(src, i)));
}

/** dst[i] = src[2i]: two vector loads and one shuffle per 4 outputs, never reading past src[2·count - 2]. */
// @ts-ignore: decorator
@inline function copyRowStride2(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 < count; i += 4) {
    const p = offset(src, 2 * i);
    v128.store(offset(dst, i), v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6));
  }
  for (; i < count; i++) store<f32>(offset(dst, i), load<f32>(offset(src, 2 * i)));
}

// @ts-ignore: decorator
@inline function copyRowStrided(dst: usize, src: usize, count: i32, stride: i32): void {
  for (let i = 0; i < count; i++) store<f32>(offset(dst, i), load<f32>(offset(src, i * stride)));
}

// @ts-ignore: decorator
@inline function addRow(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const p = offset(dst, i);
    v128.store(p, f32x4.add(v128.load(p), v128.load(offset(src, i))));
  }
  for (; i < count; i++) {
    const p = offset(dst, i);
    store<f32>(p, load<f32>(p) + load<f32>(offset(src, i)));
  }
}

// @ts-ignore: decorator
@inline function addRowStrided(dst: usize, src: usize, count: i32, stride: i32): void {
  for (let i = 0; i < count; i++) {
    const p = offset(dst, i * stride);
    store<f32>(p, load<f32>(p) + load<f32>(offset(src, i)));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Bias

/** y[k][p] = b[k] for every k < K, p < P. */
function fillBias(y: usize, b: usize, K: i32, P: i32): void {
  for (let k = 0; k < K; k++) {
    const value = load<f32>(offset(b, k)), v = f32x4.splat(value), row = offset(y, k * P);
    let p = 0;
    for (; p + 4 <= P; p += 4) v128.store(offset(row, p), v);
    for (; p < P; p++) store<f32>(offset(row, p), value);
  }
}

/** db[k] += Σ_p dy[k][p]: four lane sums, combined as (l0 + l1) + (l2 + l3), then the tail in order. */
function addRowSums(db: usize, dy: usize, K: i32, P: i32): void {
  for (let k = 0; k < K; k++) {
    const row = offset(dy, k * P);
    let acc = f32x4.splat(0);
    let p = 0;
    for (; p + 4 <= P; p += 4) acc = f32x4.add(acc, v128.load(offset(row, p)));
    const low = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1);
    let sum = low + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; p < P; p++) sum += load<f32>(offset(row, p));
    store<f32>(offset(db, k), load<f32>(offset(db, k)) + sum);
  }
}
