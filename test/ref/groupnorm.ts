/**
 * Float64 reference for group normalisation and AdaGN, written straight from the definitions:
 *   xhat = (x - mean[n,g]) / sqrt(var[n,g] + eps)   (biased variance over the group's C/G channels x HW)
 *   y = (xhat·gamma[c] + beta[c])·(1 + scale[n,c]) + shift[n,c]
 * and its gradients, derived by hand and checked in the tests against finite differences of `groupNormRef`.
 */

export interface GroupNormCase {
  x: Float64Array;
  gamma: Float64Array;
  beta: Float64Array;
  /** [N, C] each, or absent (no AdaGN). */
  scale?: Float64Array;
  shift?: Float64Array;
  N: number;
  C: number;
  HW: number;
  G: number;
  eps: number;
}

export interface GroupNormRefOutput { y: Float64Array; mean: Float64Array; rstd: Float64Array; xhat: Float64Array }

export function groupNormRef(t: GroupNormCase): GroupNormRefOutput {
  const { N, C, HW, G } = t;
  const Cg = C / G, M = Cg * HW;
  const y = new Float64Array(N * C * HW), xhat = new Float64Array(N * C * HW);
  const mean = new Float64Array(N * G), rstd = new Float64Array(N * G);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const first = (n * G + g) * M;
      let sum = 0;
      for (let i = 0; i < M; i++) sum += t.x[first + i];
      const mu = sum / M;
      let squares = 0;
      for (let i = 0; i < M; i++) squares += (t.x[first + i] - mu) ** 2;
      const r = 1 / Math.sqrt(squares / M + t.eps);
      mean[n * G + g] = mu;
      rstd[n * G + g] = r;
      for (let i = 0; i < M; i++) {
        const e = first + i, c = g * Cg + Math.floor(i / HW);
        xhat[e] = (t.x[e] - mu) * r;
        const s = t.scale ? t.scale[n * C + c] : 0, shift = t.shift ? t.shift[n * C + c] : 0;
        y[e] = (xhat[e] * t.gamma[c] + t.beta[c]) * (1 + s) + shift;
      }
    }
  }
  return { y, mean, rstd, xhat };
}

export interface GroupNormRefGradients {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
  dscale: Float64Array;
  dshift: Float64Array;
}

/** The gradients of L = <y, dy> with respect to x, gamma, beta, scale and shift. */
export function groupNormBackwardRef(t: GroupNormCase, dy: Float64Array): GroupNormRefGradients {
  const { N, C, HW, G } = t;
  const Cg = C / G, M = Cg * HW;
  const { xhat, rstd } = groupNormRef(t);
  const dx = new Float64Array(N * C * HW), dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  const dscale = new Float64Array(N * C), dshift = new Float64Array(N * C);
  const dxhat = new Float64Array(M);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const first = (n * G + g) * M;
      let meanDxhat = 0, meanDxhatXhat = 0;
      for (let i = 0; i < M; i++) {
        const e = first + i, c = g * Cg + Math.floor(i / HW), nc = n * C + c;
        const s = t.scale ? t.scale[nc] : 0;
        dshift[nc] += dy[e];
        dscale[nc] += dy[e] * (xhat[e] * t.gamma[c] + t.beta[c]);
        dbeta[c] += dy[e] * (1 + s);
        dgamma[c] += dy[e] * (1 + s) * xhat[e];
        dxhat[i] = dy[e] * (1 + s) * t.gamma[c];
        meanDxhat += dxhat[i] / M;
        meanDxhatXhat += dxhat[i] * xhat[e] / M;
      }
      const r = rstd[n * G + g];
      for (let i = 0; i < M; i++) dx[first + i] = r * (dxhat[i] - meanDxhat - xhat[first + i] * meanDxhatXhat);
    }
  }
  return { dx, dgamma, dbeta, dscale, dshift };
}
