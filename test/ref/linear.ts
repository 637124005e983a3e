/** Float64 reference for linear layers: y[N, OUT] = x[N, IN] · wᵀ + b, w [OUT, IN]; and its gradients for dy. */
export function linearRef(x: Float64Array, w: Float64Array, b: Float64Array | null, N: number, IN: number, OUT: number): Float64Array {
  const y = new Float64Array(N * OUT);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OUT; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < IN; k++) s += x[n * IN + k] * w[o * IN + k];
      y[n * OUT + o] = s;
    }
  }
  return y;
}

/** dx = dy · w, dw = dyᵀ · x, db = column sums of dy, in float64. */
export function linearBackwardRef(dy: Float64Array, x: Float64Array, w: Float64Array, N: number, IN: number, OUT: number) {
  const dx = new Float64Array(N * IN), dw = new Float64Array(OUT * IN), db = new Float64Array(OUT);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OUT; o++) {
      const g = dy[n * OUT + o];
      db[o] += g;
      for (let k = 0; k < IN; k++) {
        dx[n * IN + k] += g * w[o * IN + k];
        dw[o * IN + k] += g * x[n * IN + k];
      }
    }
  }
  return { dx, dw, db };
}
