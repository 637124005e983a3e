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
//
// Speed: SiLU's e^x is most of the work, so each plane is computed as one contiguous run (a row's partial last
// vector would cost a whole e^x), four vectors at a time through simd-math.ts's `siluStore4` (four independent
// chains in flight instead of one). With padding, the run goes into a small static scratch and is then placed
// row by row into the padded output with vector copies, the border zeroed with vector stores; without, straight
// into y. Every element still goes through exactly
// the f32 operations it gets in groupNormForward and siluForward (lanes are independent), so the bits are theirs.
import { zeroRun } from './runs';
import { affineA, affineB, channelAffine, groupMean, statistics, valueOr } from './groupnorm-stats';
import { siluf32x4, siluStore4 } from './simd-math';

// Floats of the static scratch that holds a chunk of whole rows of a plane before they are placed (4 KB, inside
// L1 with the group's input; a 32 x 32 plane fits at once). Rows wider than it are computed straight into y.
// @ts-ignore: decorator
@inline const SCRATCH: i32 = 1024;
const rowScratch: usize = memory.data(SCRATCH * 4, 16);

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

/**
 * y = silu((x - hi)·a + b) over count floats: groupnorm.ts's normaliseRun, then siluForward's lanes. Four
 * vectors per step through `siluStore4`; the last count % 4 floats share one vector (`normaliseSiluTail`), not
 * one each.
 */
function normaliseSiluRun(y: usize, x: usize, count: i32, hi: f32, a: f32, b: f32): void {
  const vhi = f32x4.splat(hi), va = f32x4.splat(a), vb = f32x4.splat(b);
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const p = at(x, i), q = at(y, i);
    const u0 = f32x4.add(f32x4.mul(f32x4.sub(v128.load(p), vhi), va), vb);
    const u1 = f32x4.add(f32x4.mul(f32x4.sub(v128.load(p, 16), vhi), va), vb);
    const u2 = f32x4.add(f32x4.mul(f32x4.sub(v128.load(p, 32), vhi), va), vb);
    const u3 = f32x4.add(f32x4.mul(f32x4.sub(v128.load(p, 48), vhi), va), vb);
    siluStore4(q, u0, u1, u2, u3);
  }
  for (; i + 4 <= count; i += 4) v128.store(at(y, i), siluf32x4(f32x4.add(f32x4.mul(f32x4.sub(v128.load(at(x, i)), vhi), va), vb)));
  if (i < count) normaliseSiluTail(at(y, i), at(x, i), count - i, hi, a, b);
}

/** normaliseSiluRun of 1 to 3 floats in the lanes of one vector (lanes are independent: the same bits). */
function normaliseSiluTail(y: usize, x: usize, count: i32, hi: f32, a: f32, b: f32): void {
  let v = f32x4.splat(load<f32>(x));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(x, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(x, 8));
  const s = siluf32x4(f32x4.add(f32x4.mul(f32x4.sub(v, f32x4.splat(hi)), f32x4.splat(a)), f32x4.splat(b)));
  store<f32>(y, f32x4.extract_lane(s, 0));
  if (count > 1) store<f32>(y, f32x4.extract_lane(s, 1), 4);
  if (count > 2) store<f32>(y, f32x4.extract_lane(s, 2), 8);
}

/**
 * normaliseSiluRun of one H x W plane (P >= 1) into the interior of a plane padded by P zeros (y [H + 2P, W + 2P]).
 * Rows computed one by one would each end in a partial vector, a whole e^x for 1 to 3 floats (and a row of 28 in
 * one group of four vectors and three single ones), so the plane is computed as one run, in chunks of whole rows,
 * into `rowScratch`, then placed row by row. Rows wider than the scratch are computed in place.
 */
function normaliseSiluPadded(y: usize, x: usize, H: i32, W: i32, P: i32, hi: f32, a: f32, b: f32): void {
  const WP = W + 2 * P, interior = at(y, P * WP + P);
  zeroRun(y, P * WP + P);
  if (W > SCRATCH) {
    for (let h = 0; h < H; h++) {
      const row = at(interior, h * WP);
      if (h > 0) zeroGap(row, P);
      normaliseSiluRun(row, at(x, h * W), W, hi, a, b);
    }
  } else {
    const chunk = SCRATCH / max(W, 1);
    for (let h0 = 0; h0 < H; h0 += chunk) {
      const rows = min(chunk, H - h0);
      normaliseSiluRun(rowScratch, at(x, h0 * W), rows * W, hi, a, b);
      for (let r = 0; r < rows; r++) {
        const row = at(interior, (h0 + r) * WP);
        if (h0 + r > 0) zeroGap(row, P);
        placeRow(row, at(rowScratch, r * W), W);
      }
    }
  }
  zeroRun(at(interior, (H - 1) * WP + W), P + P * WP);
}

/**
 * Zeros the 2P floats before interior row `row` (the right border of the row above, the left border of this
 * one) in whole vectors. The up to 3 floats past them are written afterwards: this row's, or (a row narrower
 * than 3) its right border and the rows or bottom border below, all zeroed or written later.
 */
// @ts-ignore: decorator
@inline function zeroGap(row: usize, P: i32): void {
  const zero = f32x4.splat(0), gap = row - (<usize>(2 * P) << 2);
  for (let i = 0; i < 2 * P; i += 4) v128.store(at(gap, i), zero);
}

/** dst[0 .. W) = src[0 .. W): vectors, the last one overlapping its neighbour at W - 4 (W >= 4); lanes when W < 4. */
// @ts-ignore: decorator
@inline function placeRow(dst: usize, src: usize, W: i32): void {
  if (W < 4) {
    for (let w = 0; w < W; w++) store<f32>(at(dst, w), load<f32>(at(src, w)));
    return;
  }
  for (let w = 0; w + 4 < W; w += 4) v128.store(at(dst, w), v128.load(at(src, w)));
  v128.store(at(dst, W - 4), v128.load(at(src, W - 4)));
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
