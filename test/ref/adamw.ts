/**
 * Float64 references for the optimizer kernels: torch.optim.AdamW (decoupled weight decay) and the weight EMA,
 * written from the formulas, with no float32 rounding anywhere.
 */
export interface AdamWRefOptions { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }

/** One AdamW step in float64, in place on p, m and v; `step` is 1-based. */
export function adamwRef(
  p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, o: AdamWRefOptions, step: number,
): void {
  const bc1 = 1 - o.beta1 ** step, bc2 = 1 - o.beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    p[i] -= o.lr * o.weightDecay * p[i];
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
    p[i] -= o.lr * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + o.eps);
  }
}

/** ema = decay·ema + (1 - decay)·param in float64, in place on ema. */
export function emaRef(ema: Float64Array, param: ArrayLike<number>, decay: number): void {
  for (let i = 0; i < ema.length; i++) ema[i] = decay * ema[i] + (1 - decay) * param[i];
}
