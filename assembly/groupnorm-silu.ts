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
        if (P == 0) {
          normaliseSiluRun(dst, src, HW, hi, affineA, affineB);
          continue;
        }
        memory.fill(dst, 0, <usize>(P * WP) << 2);
        for (let h = 0; h < H; h++) {
          const row = at(dst, (P + h) * WP);
          memory.fill(row, 0, <usize>P << 2);
          normaliseSiluRun(at(row, P), at(src, h * W), W, hi, affineA, affineB);
          memory.fill(at(row, P + W), 0, <usize>P << 2);
        }
        memory.fill(at(dst, (P + H) * WP), 0, <usize>(P * WP) << 2);
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
  for (; i + 4 <= count; i += 4) {
    const u = f32x4.add(f32x4.mul(f32x4.sub(v128.load(at(x, i)), vhi), va), vb);
    v128.store(at(y, i), siluf32x4(u));
  }
  for (; i < count; i++) {
    const u = (load<f32>(at(x, i)) - hi) * a + b;
    store<f32>(at(y, i), f32x4.extract_lane(siluf32x4(f32x4.splat(u)), 0));
  }
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize { return p + (<usize>i << 2); }

// @ts-ignore: decorator
@inline function get(p: usize, i: i32): f32 { return load<f32>(p + (<usize>i << 2)); }
