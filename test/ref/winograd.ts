/**
 * The error scale of Winograd's F(2x2, 3x3) convolution (Lavin & Gray 2015), for tolerances: per output, in
 * float64 from the definition, the sum of the magnitudes that meet in its f32 computation,
 *   e[n,k,oh,ow] = Σ_c Σ_ξ |Aᵀ|_(i,ξ) |A|_(ξ,j) · |G g_kc Gᵀ|_ξ · (|Bᵀ| |d_c| |B|)_ξ,
 * (tile of (oh, ow), position (i, j) in it; d the tile's 4x4 input with zero padding). Every rounding of the
 * kernel (the transforms, the products, the sum over c) is at most f32's unit roundoff times a partial sum of
 * these magnitudes, so |y - y_exact| <= (C + 8)·u·e up to second order (Higham, "Accuracy and Stability of
 * Numerical Algorithms", 2nd ed., §3.1: n terms summed give γ_n; here C products plus 4 levels of transform
 * on each side, and U rounded once).
 */
import type { ConvDims } from './conv2d.ts';

const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];

/** e [N, K, OH, OW] for a 3x3 stride-1 convolution of x [N, C, H, W] with w [K, C, 3, 3], zero padding d.padding. */
export function winogradErrorScale(x: Float64Array, w: Float64Array, d: ConvDims): Float64Array {
  const { N, C, H, W, K, padding } = d, OH = H + 2 * padding - 2, OW = W + 2 * padding - 2;
  const e = new Float64Array(N * K * OH * OW);
  // |U| per (k, c, ξ), and |Bᵀ| |d| |B| per (n, c, tile, ξ) computed when needed.
  const U = new Float64Array(K * C * 16);
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    let v = 0;
    for (let r = 0; r < 3; r++) for (let s = 0; s < 3; s++) v += G[i][r] * G[j][s] * w[((k * C + c) * 3 + r) * 3 + s];
    U[(k * C + c) * 16 + i * 4 + j] = Math.abs(v);
  }
  const V = new Float64Array(16);
  for (let n = 0; n < N; n++) for (let th = 0; 2 * th < OH; th++) for (let tw = 0; 2 * tw < OW; tw++) {
    for (let c = 0; c < C; c++) {
      V.fill(0);
      for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) {
        const h = 2 * th + a - padding, v = 2 * tw + b - padding;
        const dv = h >= 0 && h < H && v >= 0 && v < W ? Math.abs(x[((n * C + c) * H + h) * W + v]) : 0;
        for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) V[i * 4 + j] += Math.abs(BT[i][a] * BT[j][b]) * dv;
      }
      for (let k = 0; k < K; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
        const oh = 2 * th + i, ow = 2 * tw + j;
        if (oh >= OH || ow >= OW) continue;
        let sum = 0;
        for (let xi = 0; xi < 16; xi++) sum += Math.abs(AT[i][xi >> 2] * AT[j][xi & 3]) * U[(k * C + c) * 16 + xi] * V[xi];
        e[((n * K + k) * OH + oh) * OW + ow] += sum;
      }
    }
  }
  return e;
}
