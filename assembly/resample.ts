// Resampling feature maps by 2, on NCHW planes: 2x2 average pooling (diffusers' Downsample2D without a
// convolution, as ResnetBlock2D(down=True) uses it), FIR resampling with the (1, 3, 3, 1) kernel (upfirdn2d as
// FirDownsample2D / FirUpsample2D and the NCSN++ resnets' kernel="fir" use it: Song et al. 2021, after StyleGAN2),
// and zero padding (Downsample2D with padding 0 pads right and bottom by one before its stride-2 convolution).
//
//   avgPool  y[h, w] = (((x[2h, 2w] + x[2h, 2w+1]) + x[2h+1, 2w]) + x[2h+1, 2w+1]) / 4     (PyTorch's order)
//   firDown  y[h, w] = Σ_{a, b = 0..3} (k_a k_b / 64) · x[2h-1+a, 2w-1+b],   k = (1, 3, 3, 1)
//   firUp    y[2h+p, 2w+q] = Σ_{a, b = 0, 1} (u_pa u_qb / 16) · x[h-1+p+a, w-1+q+b],   u_0 = (1, 3), u_1 = (3, 1)
//   pad      y = x with `top`, `bottom`, `left`, `right` zero rows and columns around it
// x outside the plane is 0 (the taps are skipped). The FIR weights are exact in float32, so each term is one
// rounded product. Each output sums its taps in order (a outer, b inner), starting from 0.
//
// The backward of firDown has firUp's structure with weights u u / 64, and the backward of firUp has firDown's
// structure with weights k k / 16 (the adjoint of each filter), so two plane routines serve all four kernels:
// `downPlane` (4 x 4 taps at stride 2) and `upPlane` (2 x 2 taps per output phase).
//
// Legend: N batch, C channels, H, W input size (even for the pooling and the down kernels); planes P = N·C.
// The SIMD kernels vectorise four outputs of a row where every tap is inside the plane and run the scalar
// routine (the same f32 operations in the same order) at the borders, so they give the scalar twins' bits.
import { addInto, at } from './reduce';

// ---------------------------------------------------------------------------------------------------------
// 2x2 average pooling

/** y[N, C, H/2, W/2] = the mean of each 2x2 block of x[N, C, H, W] (H, W even). */
export function avgPool2x2Forward(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  const OH = H >> 1, OW = W >> 1, quarter = f32x4.splat(0.25);
  for (let p = 0; p < N * C; p++) {
    for (let h = 0; h < OH; h++) {
      const top = at(x, (p * H + 2 * h) * W), bottom = at(top, W), out = at(y, (p * OH + h) * OW);
      let w = 0;
      for (; w + 4 <= OW; w += 4) {
        const t0 = v128.load(at(top, 2 * w)), t1 = v128.load(at(top, 2 * w + 4));
        const b0 = v128.load(at(bottom, 2 * w)), b1 = v128.load(at(bottom, 2 * w + 4));
        let s = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 2, 4, 6), v128.shuffle<f32>(t0, t1, 1, 3, 5, 7));
        s = f32x4.add(f32x4.add(s, v128.shuffle<f32>(b0, b1, 0, 2, 4, 6)), v128.shuffle<f32>(b0, b1, 1, 3, 5, 7));
        v128.store(at(out, w), f32x4.mul(s, quarter));
      }
      for (; w < OW; w++) store<f32>(at(out, w), poolAt(top, bottom, w));
    }
  }
}

export function avgPool2x2ForwardScalar(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  const OH = H >> 1, OW = W >> 1;
  for (let p = 0; p < N * C; p++) {
    for (let h = 0; h < OH; h++) {
      const top = at(x, (p * H + 2 * h) * W);
      for (let w = 0; w < OW; w++) store<f32>(at(y, (p * OH + h) * OW + w), poolAt(top, at(top, W), w));
    }
  }
}

// @ts-ignore: decorator
@inline function poolAt(top: usize, bottom: usize, w: i32): f32 {
  return (((load<f32>(at(top, 2 * w)) + load<f32>(at(top, 2 * w + 1))) + load<f32>(at(bottom, 2 * w))) + load<f32>(at(bottom, 2 * w + 1))) * 0.25;
}

/** dx[n, c, 2h + i, 2w + j] += dy[n, c, h, w] / 4 for i, j in {0, 1}; dx [N, C, H, W], dy [N, C, H/2, W/2]. */
export function avgPool2x2Backward(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  const OH = H >> 1, OW = W >> 1, quarter = f32x4.splat(0.25);
  for (let p = 0; p < N * C; p++) {
    for (let h = 0; h < OH; h++) {
      const g = at(dy, (p * OH + h) * OW), top = at(dx, (p * H + 2 * h) * W), bottom = at(top, W);
      let w = 0;
      for (; w + 4 <= OW; w += 4) {
        const v = f32x4.mul(v128.load(at(g, w)), quarter);
        const lo = v128.shuffle<f32>(v, v, 0, 0, 1, 1), hi = v128.shuffle<f32>(v, v, 2, 2, 3, 3);
        for (let row = top; row <= bottom; row += <usize>W << 2) {
          v128.store(at(row, 2 * w), f32x4.add(v128.load(at(row, 2 * w)), lo));
          v128.store(at(row, 2 * w + 4), f32x4.add(v128.load(at(row, 2 * w + 4)), hi));
        }
      }
      for (; w < OW; w++) poolBackwardAt(top, bottom, load<f32>(at(g, w)) * 0.25, w);
    }
  }
}

export function avgPool2x2BackwardScalar(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  const OH = H >> 1, OW = W >> 1;
  for (let p = 0; p < N * C; p++) {
    for (let h = 0; h < OH; h++) {
      const top = at(dx, (p * H + 2 * h) * W);
      for (let w = 0; w < OW; w++) poolBackwardAt(top, at(top, W), load<f32>(at(dy, (p * OH + h) * OW + w)) * 0.25, w);
    }
  }
}

// @ts-ignore: decorator
@inline function poolBackwardAt(top: usize, bottom: usize, g: f32, w: i32): void {
  store<f32>(at(top, 2 * w), load<f32>(at(top, 2 * w)) + g);
  store<f32>(at(top, 2 * w + 1), load<f32>(at(top, 2 * w + 1)) + g);
  store<f32>(at(bottom, 2 * w), load<f32>(at(bottom, 2 * w)) + g);
  store<f32>(at(bottom, 2 * w + 1), load<f32>(at(bottom, 2 * w + 1)) + g);
}

// ---------------------------------------------------------------------------------------------------------
// FIR resampling with (1, 3, 3, 1)

/** y[N, C, H/2, W/2] = firDown(x[N, C, H, W]) (H, W even). */
export function firDownsample2xForward(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let p = 0; p < N * C; p++) downPlane(at(y, p * (H >> 1) * (W >> 1)), at(x, p * H * W), H, W, 64, false);
}

export function firDownsample2xForwardScalar(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let p = 0; p < N * C; p++) downPlaneScalar(at(y, p * (H >> 1) * (W >> 1)), at(x, p * H * W), H, W, 64, false);
}

/** dx[N, C, H, W] += the adjoint of firDown applied to dy[N, C, H/2, W/2]: firUp's taps with weights u u / 64. */
export function firDownsample2xBackward(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  const OH = H >> 1, OW = W >> 1;
  for (let p = 0; p < N * C; p++) upPlane(at(dx, p * H * W), at(dy, p * OH * OW), OH, OW, 64, true);
}

export function firDownsample2xBackwardScalar(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  const OH = H >> 1, OW = W >> 1;
  for (let p = 0; p < N * C; p++) upPlaneScalar(at(dx, p * H * W), at(dy, p * OH * OW), OH, OW, 64, true);
}

/** y[N, C, 2H, 2W] = firUp(x[N, C, H, W]). */
export function firUpsample2xForward(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let p = 0; p < N * C; p++) upPlane(at(y, p * 4 * H * W), at(x, p * H * W), H, W, 16, false);
}

export function firUpsample2xForwardScalar(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let p = 0; p < N * C; p++) upPlaneScalar(at(y, p * 4 * H * W), at(x, p * H * W), H, W, 16, false);
}

/** dx[N, C, H, W] += the adjoint of firUp applied to dy[N, C, 2H, 2W]: firDown's taps with weights k k / 16. */
export function firUpsample2xBackward(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let p = 0; p < N * C; p++) downPlane(at(dx, p * H * W), at(dy, p * 4 * H * W), 2 * H, 2 * W, 16, true);
}

export function firUpsample2xBackwardScalar(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32): void {
  for (let p = 0; p < N * C; p++) downPlaneScalar(at(dx, p * H * W), at(dy, p * 4 * H * W), 2 * H, 2 * W, 16, true);
}

/** The (1, 3, 3, 1) taps. */
// @ts-ignore: decorator
@inline function tap(a: i32): f32 { return a == 0 || a == 3 ? 1 : 3; }
/** Tap a of output phase p of the up filter: u_0 = (1, 3), u_1 = (3, 1). */
// @ts-ignore: decorator
@inline function upTap(p: i32, a: i32): f32 { return p == a ? 1 : 3; }

/**
 * out[H/2, W/2] (+)= Σ_{a, b} (k_a k_b / div) · x[2h-1+a, 2w-1+b] over one plane of x[H, W]; `accumulate` adds
 * the sum to what out holds. Four outputs at a time where all their taps are inside the plane.
 */
function downPlane(out: usize, x: usize, H: i32, W: i32, div: f32, accumulate: bool): void {
  const OH = H >> 1, OW = W >> 1;
  for (let h = 0; h < OH; h++) {
    const row = at(out, h * OW);
    downRowEdges(row, x, H, W, h, div, accumulate);
    // Lanes j = 0..3 are outputs w + j; their columns 2(w+j) - 1 + b run from 2w - 1 to 2w + 8, read as the even
    // and odd lanes of loads at 2w - 2 .. 2w + 9, so the block needs 2w - 2 >= 0 and 2w + 9 <= W - 1.
    for (let w = 1; 2 * w + 10 <= W; w += 4) {
      let acc = f32x4.splat(0);
      for (let a = 0; a < 4; a++) {
        const r = 2 * h - 1 + a;
        if (r < 0 || r >= H) continue;
        const src = at(x, r * W + 2 * w);
        const m2 = v128.load(src - 8), l0 = v128.load(src), l2 = v128.load(src, 8), l4 = v128.load(src, 16), l6 = v128.load(src, 24);
        const ka = tap(a) / div;
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(ka), v128.shuffle<f32>(m2, l2, 1, 3, 5, 7)));
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(ka * 3), v128.shuffle<f32>(l0, l4, 0, 2, 4, 6)));
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(ka * 3), v128.shuffle<f32>(l0, l4, 1, 3, 5, 7)));
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(ka), v128.shuffle<f32>(l2, l6, 0, 2, 4, 6)));
      }
      const dst = at(row, w);
      v128.store(dst, accumulate ? f32x4.add(v128.load(dst), acc) : acc);
    }
  }
}

/** The outputs of row h that the vector loop of `downPlane` leaves: w = 0 and the columns after its last block. */
function downRowEdges(row: usize, x: usize, H: i32, W: i32, h: i32, div: f32, accumulate: bool): void {
  const OW = W >> 1;
  let first = 1;
  while (2 * first + 10 <= W) first += 4;
  for (let w = 0; w < OW; w++) {
    if (w == 0 || w >= first) storeOut(at(row, w), downAt(x, H, W, h, w, div), accumulate);
  }
}

function downPlaneScalar(out: usize, x: usize, H: i32, W: i32, div: f32, accumulate: bool): void {
  const OH = H >> 1, OW = W >> 1;
  for (let h = 0; h < OH; h++) for (let w = 0; w < OW; w++) storeOut(at(out, h * OW + w), downAt(x, H, W, h, w, div), accumulate);
}

/** Σ_{a, b} (k_a k_b / div) · x[2h-1+a, 2w-1+b], taps outside the plane skipped. */
// @ts-ignore: decorator
@inline function downAt(x: usize, H: i32, W: i32, h: i32, w: i32, div: f32): f32 {
  let acc: f32 = 0;
  for (let a = 0; a < 4; a++) {
    const r = 2 * h - 1 + a;
    if (r < 0 || r >= H) continue;
    const ka = tap(a) / div;
    for (let b = 0; b < 4; b++) {
      const c = 2 * w - 1 + b;
      if (c < 0 || c >= W) continue;
      acc = acc + (ka * tap(b)) * load<f32>(at(x, r * W + c));
    }
  }
  return acc;
}

/**
 * out[2H, 2W] (+)= the up filter over one plane of x[H, W] with weights u_pa u_qb / div. Input columns m .. m+3
 * give eight outputs (2m .. 2m+7) at a time where all their taps are inside the plane.
 */
function upPlane(out: usize, x: usize, H: i32, W: i32, div: f32, accumulate: bool): void {
  for (let h = 0; h < H; h++) {
    for (let p = 0; p < 2; p++) {
      const row = at(out, (2 * h + p) * 2 * W);
      upRowEdges(row, x, H, W, h, p, div, accumulate);
      for (let m = 1; m + 5 <= W; m += 4) {
        let even = f32x4.splat(0), odd = f32x4.splat(0);
        for (let a = 0; a < 2; a++) {
          const r = h - 1 + p + a;
          if (r < 0 || r >= H) continue;
          const src = at(x, r * W + m);
          const left = v128.load(src - 4), centre = v128.load(src), right = v128.load(src, 4);
          const wa = upTap(p, a) / div;
          even = f32x4.add(even, f32x4.mul(f32x4.splat(wa), left));
          even = f32x4.add(even, f32x4.mul(f32x4.splat(wa * 3), centre));
          odd = f32x4.add(odd, f32x4.mul(f32x4.splat(wa * 3), centre));
          odd = f32x4.add(odd, f32x4.mul(f32x4.splat(wa), right));
        }
        const lo = v128.shuffle<f32>(even, odd, 0, 4, 1, 5), hi = v128.shuffle<f32>(even, odd, 2, 6, 3, 7);
        const dst = at(row, 2 * m);
        v128.store(dst, accumulate ? f32x4.add(v128.load(dst), lo) : lo);
        v128.store(dst, accumulate ? f32x4.add(v128.load(dst, 16), hi) : hi, 16);
      }
    }
  }
}

/** The input columns of row 2h + p that the vector loop of `upPlane` leaves: m = 0 and those after its last block. */
function upRowEdges(row: usize, x: usize, H: i32, W: i32, h: i32, p: i32, div: f32, accumulate: bool): void {
  let first = 1;
  while (first + 5 <= W) first += 4;
  for (let m = 0; m < W; m++) {
    if (m != 0 && m < first) continue;
    for (let q = 0; q < 2; q++) storeOut(at(row, 2 * m + q), upAt(x, H, W, h, p, m, q, div), accumulate);
  }
}

function upPlaneScalar(out: usize, x: usize, H: i32, W: i32, div: f32, accumulate: bool): void {
  for (let h = 0; h < H; h++) {
    for (let p = 0; p < 2; p++) {
      for (let m = 0; m < W; m++) {
        for (let q = 0; q < 2; q++) storeOut(at(out, (2 * h + p) * 2 * W + 2 * m + q), upAt(x, H, W, h, p, m, q, div), accumulate);
      }
    }
  }
}

/** Σ_{a, b in {0, 1}} (u_pa u_qb / div) · x[h-1+p+a, m-1+q+b], taps outside the plane skipped. */
// @ts-ignore: decorator
@inline function upAt(x: usize, H: i32, W: i32, h: i32, p: i32, m: i32, q: i32, div: f32): f32 {
  let acc: f32 = 0;
  for (let a = 0; a < 2; a++) {
    const r = h - 1 + p + a;
    if (r < 0 || r >= H) continue;
    const wa = upTap(p, a) / div;
    for (let b = 0; b < 2; b++) {
      const c = m - 1 + q + b;
      if (c < 0 || c >= W) continue;
      acc = acc + (wa * upTap(q, b)) * load<f32>(at(x, r * W + c));
    }
  }
  return acc;
}

// @ts-ignore: decorator
@inline function storeOut(p: usize, v: f32, accumulate: bool): void {
  store<f32>(p, accumulate ? load<f32>(p) + v : v);
}

// ---------------------------------------------------------------------------------------------------------
// Zero padding

/** y[N, C, top + H + bottom, left + W + right] = x[N, C, H, W] inside a border of zeros. */
export function pad2dForward(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32, top: i32, bottom: i32, left: i32, right: i32): void {
  const PH = top + H + bottom, PW = left + W + right;
  for (let p = 0; p < N * C; p++) {
    const plane = at(y, p * PH * PW);
    zero(plane, top * PW);
    for (let h = 0; h < H; h++) {
      const dst = at(plane, (top + h) * PW), src = at(x, (p * H + h) * W);
      zero(dst, left);
      let w = 0;
      for (; w + 4 <= W; w += 4) v128.store(at(dst, left + w), v128.load(at(src, w)));
      for (; w < W; w++) store<f32>(at(dst, left + w), load<f32>(at(src, w)));
      zero(at(dst, left + W), right);
    }
    zero(at(plane, (top + H) * PW), bottom * PW);
  }
}

export function pad2dForwardScalar(y: usize, x: usize, N: i32, C: i32, H: i32, W: i32, top: i32, bottom: i32, left: i32, right: i32): void {
  const PH = top + H + bottom, PW = left + W + right;
  for (let p = 0; p < N * C; p++) {
    for (let h = 0; h < PH; h++) {
      for (let w = 0; w < PW; w++) {
        const r = h - top, c = w - left;
        store<f32>(at(y, (p * PH + h) * PW + w), r >= 0 && r < H && c >= 0 && c < W ? load<f32>(at(x, (p * H + r) * W + c)) : 0);
      }
    }
  }
}

/** dx[n, c, h, w] += dy[n, c, top + h, left + w]: the gradient of the padding is its crop. */
export function pad2dBackward(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32, top: i32, bottom: i32, left: i32, right: i32): void {
  const PH = top + H + bottom, PW = left + W + right;
  for (let p = 0; p < N * C; p++) {
    for (let h = 0; h < H; h++) addInto(at(dx, (p * H + h) * W), at(dy, (p * PH + top + h) * PW + left), W);
  }
}

export function pad2dBackwardScalar(dx: usize, dy: usize, N: i32, C: i32, H: i32, W: i32, top: i32, bottom: i32, left: i32, right: i32): void {
  const PH = top + H + bottom, PW = left + W + right;
  for (let p = 0; p < N * C; p++) {
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        const i = at(dx, (p * H + h) * W + w);
        store<f32>(i, load<f32>(i) + load<f32>(at(dy, (p * PH + top + h) * PW + left + w)));
      }
    }
  }
}

// @ts-ignore: decorator
@inline function zero(p: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(p, i), f32x4.splat(0));
  for (; i < n; i++) store<f32>(at(p, i), 0);
}
