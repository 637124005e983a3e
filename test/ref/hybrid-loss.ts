/**
 * A float64 reference of the hybrid loss (Nichol & Dhariwal 2021, eq. 16, as improved-diffusion's
 * training_losses with RESCALED_MSE computes it), written from the equations with JavaScript's Math: for item n at
 * timestep t with x_t, x0, the prediction p and v (the model's [p, v]):
 *
 *   mse_n = mean((p - target)²) · w_n                            (w_n: Min-SNR weights, or 1)
 *   x0^ = a_t x_t + b_t pStop;  mu = coef1_t x0^ + coef2_t x_t    (pStop: the prediction with its gradient stopped)
 *   log sigma² = frac log beta_t + (1 - frac) log beta~_t (clipped), frac = (v + 1) / 2   ('learned_range'), or v
 *   vb_n = KL(N(mu~, beta~_t) || N(mu, sigma²)) for t > 0, -log p(x0 | mu, sigma) at t = 0, in bits per dimension
 *   loss = mean_n iw_n (mse_n + lambda T vb_n)
 */
import { discretizedElement, gaussianElement, normalKLElement } from './likelihood.ts';

export interface HybridCase {
  /** Items N, channels C of the sample, elements per channel P. */
  N: number; C: number; P: number;
  timesteps: number[];
  x0: ArrayLike<number>; xt: ArrayLike<number>; target: ArrayLike<number>;
  /** float64 schedule */
  betas: Float64Array; alphasCumprod: Float64Array;
  prediction: 'epsilon' | 'sample' | 'v_prediction';
  variance: 'learned_range' | 'learned';
  decoder: 'discretized' | 'gaussian';
  vlbWeight: number;
  mseWeights?: ArrayLike<number>; lossWeights?: ArrayLike<number>;
}

/** The batch loss for predictions `p` (MSE side), `pStop` (the bound's frozen mean) and variance outputs `v`, all [N, C, P]. */
export function hybridLossRef(c: HybridCase, p: ArrayLike<number>, pStop: ArrayLike<number>, v: ArrayLike<number>): number {
  const { N, C, P, betas, alphasCumprod: ab } = c;
  const M = C * P, T = betas.length;
  let total = 0;
  for (let n = 0; n < N; n++) {
    const t = c.timesteps[n];
    const abT = ab[t], abPrev = t > 0 ? ab[t - 1] : 1;
    const coef1 = betas[t] * Math.sqrt(abPrev) / (1 - abT), coef2 = (1 - abPrev) * Math.sqrt(1 - betas[t]) / (1 - abT);
    const posterior = (s: number) => betas[s] * (1 - (s > 0 ? ab[s - 1] : 1)) / (1 - ab[s]);
    const minLog = Math.log(t === 0 ? posterior(1) : posterior(t)), maxLog = Math.log(betas[t]);
    const [a, b] = c.prediction === 'epsilon' ? [1 / Math.sqrt(abT), -Math.sqrt(1 - abT) / Math.sqrt(abT)]
      : c.prediction === 'sample' ? [0, 1] : [Math.sqrt(abT), -Math.sqrt(1 - abT)];
    let squares = 0, vb = 0;
    for (let i = 0; i < M; i++) {
      const j = n * M + i;
      squares += (p[j] - c.target[j]) ** 2;
      const x0Hat = a * c.xt[j] + b * pStop[j];
      const mu = coef1 * x0Hat + coef2 * c.xt[j];
      const trueMu = coef1 * c.x0[j] + coef2 * c.xt[j];
      const frac = (v[j] + 1) / 2;
      const logVar = c.variance === 'learned' ? v[j] : frac * maxLog + (1 - frac) * minLog;
      vb += t === 0
        ? -(c.decoder === 'discretized' ? discretizedElement(c.x0[j], mu, logVar / 2) : gaussianElement(c.x0[j], mu, logVar / 2))
        : normalKLElement(trueMu, minLog, mu, logVar);
    }
    const mse = (squares / M) * (c.mseWeights?.[n] ?? 1);
    total += (c.lossWeights?.[n] ?? 1) * (mse + c.vlbWeight * T * (vb / M) / Math.LN2);
  }
  return total / N;
}
