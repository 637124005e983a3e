// Group normalisation, its AdaGN scale and shift, and SiLU in one pass, for inference (forward only), writing
// the result with a border of zeros when the convolution that reads it pads (ResnetBlock2D's norm1 -> conv1 and
// norm2 -> conv2, the U-Net's conv_norm_out -> conv_out):
//
//   u = (xhat · gamma[c] + beta[c]) · (1 + scale[n,c]) + shift[n,c]        y[n, c, p + h, p + w] = silu(u[n,c,h,w])
//
// Legend: as groupnorm.ts, with the spatial size H x W; P = padding: y is [N, C, H + 2P, W + 2P], zeros around.
// The statistics and each channel's affine come from groupnorm-stats.ts, as in groupNormForward, and SiLU is
// simd-math.ts's: y has exactly the bits of groupNormForward, then siluForward, then conv2dPadInput. No mean or
// rstd is saved, and the normalised values are never stored.
import { zeroRun } from './runs';
import { affineA, affineB, channelAffine, groupMean, statistics, valueOr } from './groupnorm-stats';
import { siluf32x4 } from './simd-math';

/** y [N, C, H + 2P, W + 2P] = silu(GroupNorm(x) with AdaGN) of x [N, C, H, W], zeros in the border of width P. */
export function groupNormSiluForward(
  y: usize, x: usize, gamma: usize, beta: usize, scale: usize, shift: usize,
  N: i32, C: i32, H: i32, W: i32, G: i32, eps: f64, P: i32,
): void {
  const Cg = C / G, HW = H * W, M = Cg * HW, WP = W + 2 * P, planeOut = (H + 2 * P) * WP;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const groupIn = at(x, (n * G + g) * M);
      statistics(groupIn, M, eps);
      const hi = <f32>groupMean, lo = groupMean - <f64>hi;
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci;
        channelAffine(gamma, beta, scale, shift, C, n, c, lo);
        const src = groupIn + (<usize>(ci * HW) << 2), dst = at(y, (n * C + c) * planeOut);
        if (P == 0) normaliseSiluRun(dst, src, HW, hi, affineA, affineB);
        else normaliseSiluPadded(dst, src, H, W, P, hi, affineA, affineB);
      }
    }
  }
}

/**
 * The scalar twin of `groupNormSiluForward`: the textbook statistics and affine in f64 (as groupNormForwardScalar),
 * rounded to f32, then x / (1 + e^-x) with Mathf.exp.
 */
export function groupNormSiluForwardScalar(
  y: usize, x: usize, gamma: usize, beta: usize, scale: usize, shift: usize,
  N: i32, C: i32, H: i32, W: i32, G: i32, eps: f64, P: i32,
): void {
  const Cg = C / G, HW = H * W, M = Cg * HW, WP = W + 2 * P, HP = H + 2 * P;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const first = (n * G + g) * M;
      let sum: f64 = 0;
      for (let i = 0; i < M; i++) sum += <f64>get(x, first + i);
      const mu = M > 0 ? sum / M : 0;
      let squares: f64 = 0;
      for (let i = 0; i < M; i++) squares += (<f64>get(x, first + i) - mu) * (<f64>get(x, first + i) - mu);
      const r = 1 / Math.sqrt((M > 0 ? squares / M : 0) + eps);
      for (let ci = 0; ci < Cg; ci++) {
        const c = g * Cg + ci, nc = n * C + c;
        for (let i = 0; i < HP; i++) for (let j = 0; j < WP; j++) {
          const h = i - P, w = j - P;
          let out: f32 = 0;
          if (h >= 0 && h < H && w >= 0 && w < W) {
            const u = ((<f64>get(x, first + ci * HW + h * W + w) - mu) * r * valueOr(gamma, c, 1) + valueOr(beta, c, 0))
              * (1 + valueOr(scale, nc, 0)) + valueOr(shift, nc, 0);
            const v = <f32>u;
            out = v / (1 + Mathf.exp(-v));
          }
          store<f32>(at(y, (nc * HP + i) * WP + j), out);
        }
      }
    }
  }
}

/** y = silu((x - hi)·a + b) over count floats: groupnorm.ts's normaliseRun, then siluForward's lanes. */
function normaliseSiluRun(y: usize, x: usize, count: i32, hi: f32, a: f32, b: f32): void {
  const vhi = f32x4.splat(hi), va = f32x4.splat(a), vb = f32x4.splat(b);
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(y, i), siluf32x4(f32x4.add(f32x4.mul(f32x4.sub(v128.load(at(x, i)), vhi), va), vb)));
  for (; i < count; i++) store<f32>(at(y, i), normaliseSiluLane(load<f32>(at(x, i)), hi, a, b));
}

/**
 * normaliseSiluRun of one H x W plane into the interior of a plane padded by P zeros (y [H + 2P, W + 2P]). The
 * plane is walked in vectors of 4 as one run (rows of 7 or 14 would leave scalar tails, each a whole e^x);
 * a vector that straddles two rows is stored lane by lane.
 */
function normaliseSiluPadded(y: usize, x: usize, H: i32, W: i32, P: i32, hi: f32, a: f32, b: f32): void {
  const WP = W + 2 * P, HW = H * W;
  zeroRun(y, P * WP);
  for (let h = 0; h < H; h++) {
    const row = at(y, (P + h) * WP);
    zeroRun(row, P);
    zeroRun(at(row, P + W), P);
  }
  zeroRun(at(y, (P + H) * WP), P * WP);
  const vhi = f32x4.splat(hi), va = f32x4.splat(a), vb = f32x4.splat(b);
  const interior = at(y, P * WP + P);
  let h = 0, w = 0, i = 0; // (h, w): the position of element i
  for (; i + 4 <= HW; i += 4) {
    const v = siluf32x4(f32x4.add(f32x4.mul(f32x4.sub(v128.load(at(x, i)), vhi), va), vb));
    if (w + 4 <= W) {
      v128.store(at(interior, h * WP + w), v);
    } else {
      storeLane(interior, WP, W, h, w, f32x4.extract_lane(v, 0));
      storeLane(interior, WP, W, h, w + 1, f32x4.extract_lane(v, 1));
      storeLane(interior, WP, W, h, w + 2, f32x4.extract_lane(v, 2));
      storeLane(interior, WP, W, h, w + 3, f32x4.extract_lane(v, 3));
    }
    w += 4;
    while (w >= W) { w -= W; h++; }
  }
  for (; i < HW; i++) {
    storeLane(interior, WP, W, h, w, normaliseSiluLane(load<f32>(at(x, i)), hi, a, b));
    if (++w == W) { w = 0; h++; }
  }
}

/** Stores v at column w of row h, counting columns past the row's end into the rows below. */
// @ts-ignore: decorator
@inline function storeLane(interior: usize, WP: i32, W: i32, h: i32, w: i32, v: f32): void {
  while (w >= W) { w -= W; h++; }
  store<f32>(at(interior, h * WP + w), v);
}

/** One element as the vector loops compute it (the lane of a splat: the same bits as inside a vector). */
// @ts-ignore: decorator
@inline function normaliseSiluLane(x: f32, hi: f32, a: f32, b: f32): f32 {
  return f32x4.extract_lane(siluf32x4(f32x4.splat((x - hi) * a + b)), 0);
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
