/**
 * Float64 reference for 2-D convolution (NCHW, weights [K, C, R, S], one stride and one symmetric zero padding
 * for both axes), written straight from the definition:
 *   y[n,k,oh,ow] = b[k] + Σ_{c,r,s} w[k,c,r,s] · x[n, c, oh·stride - padding + r, ow·stride - padding + s]
 * and its gradients for the loss L = <y, dy>.
 */

/** Sizes of one convolution (legend as in assembly/conv2d.ts). */
export interface ConvDims {
  N: number; C: number; H: number; W: number; K: number; R: number; S: number; stride: number; padding: number;
}

export const outHeight = (d: ConvDims): number => Math.floor((d.H + 2 * d.padding - d.R) / d.stride) + 1;
export const outWidth = (d: ConvDims): number => Math.floor((d.W + 2 * d.padding - d.S) / d.stride) + 1;

/** Calls `visit(xIndex, wIndex, yIndex)` for every product term of the convolution whose x is inside the image. */
function forEachTerm(d: ConvDims, visit: (xi: number, wi: number, yi: number) => void): void {
  const { N, C, H, W, K, R, S, stride, padding } = d;
  const OH = outHeight(d), OW = outWidth(d);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const yi = ((n * K + k) * OH + oh) * OW + ow;
    for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
      const h = oh * stride - padding + r, v = ow * stride - padding + s;
      if (h < 0 || h >= H || v < 0 || v >= W) continue;
      visit(((n * C + c) * H + h) * W + v, ((k * C + c) * R + r) * S + s, yi);
    }
  }
}

/** y [N, K, OH, OW] in float64; `b` may be null. */
export function conv2dRef(x: Float64Array, w: Float64Array, b: Float64Array | null, d: ConvDims): Float64Array {
  const OH = outHeight(d), OW = outWidth(d);
  const y = new Float64Array(d.N * d.K * OH * OW);
  if (b !== null) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / (OH * OW)) % d.K];
  forEachTerm(d, (xi, wi, yi) => { y[yi] += w[wi] * x[xi]; });
  return y;
}

/** dx, dw, db of L = <conv2d(x, w, b), dy>, in float64. */
export function conv2dBackwardRef(
  dy: Float64Array, x: Float64Array, w: Float64Array, d: ConvDims,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(d.K);
  forEachTerm(d, (xi, wi, yi) => {
    dx[xi] += w[wi] * dy[yi];
    dw[wi] += x[xi] * dy[yi];
  });
  const P = outHeight(d) * outWidth(d);
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / P) % d.K] += dy[i];
  return { dx, dw, db };
}
