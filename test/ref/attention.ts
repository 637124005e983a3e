/**
 * Float64 reference for scaled dot-product attention over BH independent blocks of [T, D]:
 * S = q·kᵀ / sqrt(D), P = softmax(S) along rows (max subtracted), O = P·v, and its analytic gradients.
 */

/** o [BH, T, D] and probs [BH, T, T] in float64. */
export function attentionRef(q: Float64Array, k: Float64Array, v: Float64Array, BH: number, T: number, D: number) {
  const o = new Float64Array(BH * T * D);
  const probs = new Float64Array(BH * T * T);
  const scale = 1 / Math.sqrt(D);
  for (let b = 0; b < BH; b++) {
    const base = b * T * D;
    for (let i = 0; i < T; i++) {
      const row = probs.subarray((b * T + i) * T, (b * T + i + 1) * T);
      for (let j = 0; j < T; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += q[base + i * D + d] * k[base + j * D + d];
        row[j] = s * scale;
      }
      const max = Math.max(...row);
      let sum = 0;
      for (let j = 0; j < T; j++) { row[j] = Math.exp(row[j] - max); sum += row[j]; }
      for (let j = 0; j < T; j++) row[j] /= sum;
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let j = 0; j < T; j++) s += row[j] * v[base + j * D + d];
        o[base + i * D + d] = s;
      }
    }
  }
  return { o, probs };
}

/** dq, dk, dv [BH, T, D] of L = <O, dO> in float64 (the textbook softmax backward). */
export function attentionBackwardRef(
  dO: Float64Array, q: Float64Array, k: Float64Array, v: Float64Array, BH: number, T: number, D: number,
) {
  const { probs } = attentionRef(q, k, v, BH, T, D);
  const dq = new Float64Array(BH * T * D), dk = new Float64Array(BH * T * D), dv = new Float64Array(BH * T * D);
  const scale = 1 / Math.sqrt(D);
  const dS = new Float64Array(T * T);
  for (let b = 0; b < BH; b++) {
    const base = b * T * D, P = probs.subarray(b * T * T, (b + 1) * T * T);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        for (let d = 0; d < D; d++) dv[base + j * D + d] += P[i * T + j] * dO[base + i * D + d];
      }
      let rowDot = 0;
      for (let j = 0; j < T; j++) {
        let dP = 0;
        for (let d = 0; d < D; d++) dP += dO[base + i * D + d] * v[base + j * D + d];
        dS[i * T + j] = dP;
        rowDot += dP * P[i * T + j];
      }
      for (let j = 0; j < T; j++) dS[i * T + j] = P[i * T + j] * (dS[i * T + j] - rowDot) * scale;
    }
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        for (let d = 0; d < D; d++) {
          dq[base + i * D + d] += dS[i * T + j] * k[base + j * D + d];
          dk[base + j * D + d] += dS[i * T + j] * q[base + i * D + d];
        }
      }
    }
  }
  return { dq, dk, dv };
}
