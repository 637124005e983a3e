/** Float64 references for the element-wise kernels, written from the definitions (they may use Math). */
type F = Float64Array;
const map = (x: ArrayLike<number>, f: (v: number, i: number) => number): F => Float64Array.from(x, f);

export const sigmoidRef = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
export const siluRef = (x: ArrayLike<number>): F => map(x, (v) => v * sigmoidRef(v));

export function sumRef(x: ArrayLike<number>, square = false): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += square ? x[i] * x[i] : x[i];
  return s;
}

export function mseRef(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
  return s / pred.length;
}

/** x [N, C, HW] + bias [N, C] broadcast over HW. */
export const addChannelBiasRef = (x: ArrayLike<number>, bias: ArrayLike<number>, HW: number): F =>
  map(x, (v, i) => v + bias[Math.floor(i / HW)]);

/** Per-plane mean: x [N*C, HW] -> [N*C]. */
export function globalAvgPoolRef(x: ArrayLike<number>, planes: number, HW: number): F {
  const y = new Float64Array(planes);
  for (let p = 0; p < planes; p++) for (let i = 0; i < HW; i++) y[p] += x[p * HW + i] / HW;
  return y;
}

/** Nearest 2x upsampling of [rows = N*C*H, W] planes. */
export function upsampleRef(x: ArrayLike<number>, rows: number, W: number): F {
  const y = new Float64Array(rows * 4 * W);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < 2; i++) for (let w = 0; w < 2 * W; w++) y[(2 * r + i) * 2 * W + w] = x[r * W + (w >> 1)];
  }
  return y;
}

/** Stable softmax rows and the mean cross-entropy. */
export function softmaxCrossEntropyRef(logits: ArrayLike<number>, labels: ArrayLike<number>, N: number, C: number) {
  const probs = new Float64Array(N * C);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, logits[n * C + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(logits[n * C + j] - m);
    for (let j = 0; j < C; j++) probs[n * C + j] = Math.exp(logits[n * C + j] - m) / s;
    loss += Math.log(s) - (logits[n * C + labels[n]] - m);
  }
  return { loss: loss / N, probs };
}

/** out [N, CA + CB, HW] from a [N, CA, HW] and b [N, CB, HW]. */
export function concatRef(a: ArrayLike<number>, b: ArrayLike<number>, N: number, CA: number, CB: number, HW: number): F {
  const out = new Float64Array(N * (CA + CB) * HW);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < CA * HW; i++) out[n * (CA + CB) * HW + i] = a[n * CA * HW + i];
    for (let i = 0; i < CB * HW; i++) out[n * (CA + CB) * HW + CA * HW + i] = b[n * CB * HW + i];
  }
  return out;
}

/** diffusers' get_timestep_embedding (scale 1), in float64. */
export function timestepEmbeddingRef(t: ArrayLike<number>, dim: number, flip: boolean, shift: number, maxPeriod: number): F {
  const half = Math.floor(dim / 2), out = new Float64Array(t.length * dim);
  for (let n = 0; n < t.length; n++) {
    for (let i = 0; i < half; i++) {
      const e = t[n] * Math.exp((-Math.log(maxPeriod) * i) / (half - shift));
      out[n * dim + (flip ? half + i : i)] = Math.sin(e);
      out[n * dim + (flip ? i : half + i)] = Math.cos(e);
    }
  }
  return out;
}
