/**
 * The posterior q(x_{t_prev} | x_t, x0) of a schedule along a grid of timesteps (Ho et al. 2020, eqs. 6-7), in
 * float64: what the variational bound (likelihood/bound.ts) and the hybrid loss (train/hybrid-loss.ts) need per
 * timestep. A grid of every training timestep is the schedule itself; a strided grid is the respaced chain of
 * improved-diffusion's SpacedDiffusion (Nichol & Dhariwal 2021, §4): beta_i = 1 - ab_{t_i} / ab_{t_{i-1}}.
 *
 *   mu~_i(x0, x_t) = coef1[i] x0 + coef2[i] x_t,   beta~_i = beta_i (1 - ab_{t_{i-1}}) / (1 - ab_{t_i})
 *
 * with ab before the first grid timestep taken as 1. Where the grid steps by one timestep, beta_i and alpha_i are the
 * schedule's own (bit for bit the tables of the full chain).
 */
import { log } from '../ops/math.ts';
import type { PredictionType } from './options.ts';

/** The schedule a table is made from (any scheduler has it). */
export interface Schedule {
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;
}

export interface PosteriorTables {
  /** The grid's timesteps, increasing: entry i of every table belongs to timesteps[i]. */
  timesteps: Int32Array;
  /** beta_i of the (respaced) chain. */
  betas: Float64Array;
  /** mu~_i = coef1[i] x0 + coef2[i] x_t. */
  coef1: Float64Array;
  coef2: Float64Array;
  /** beta~_i, the posterior variance (0 at i = 0). */
  posteriorVariance: Float64Array;
  /** log beta~_i with i = 0 clipped to i = 1 (improved-diffusion's posterior_log_variance_clipped; log beta_0 with a single timestep). */
  posteriorLogVarianceClipped: Float64Array;
  /** log beta_i. */
  logBetas: Float64Array;
}

/**
 * The tables of `schedule` along `grid` (strictly increasing training timesteps; default every one, 0 .. T-1).
 * Throws on a grid that is not strictly increasing or leaves the schedule.
 */
export function posteriorTables(schedule: Schedule, grid?: ArrayLike<number>): PosteriorTables {
  const T = schedule.betas.length;
  const timesteps = grid ? Int32Array.from(grid) : Int32Array.from({ length: T }, (_, t) => t);
  timesteps.forEach((t, i) => {
    if (!Number.isInteger(grid ? grid[i] : t) || t < 0 || t >= T || (i > 0 && t <= timesteps[i - 1])) {
      throw new Error(`posteriorTables: the grid must be strictly increasing timesteps in [0, ${T - 1}], got ${grid ? grid[i] : t} at index ${i}`);
    }
  });
  const K = timesteps.length;
  const { alphasCumprod: ab } = schedule;
  const betas = new Float64Array(K), coef1 = new Float64Array(K), coef2 = new Float64Array(K), posterior = new Float64Array(K);
  for (let i = 0; i < K; i++) {
    const t = timesteps[i], previous = i > 0 ? timesteps[i - 1] : -1;
    const abPrev = previous >= 0 ? ab[previous] : 1;
    const consecutive = t - previous === 1;
    const beta = consecutive ? schedule.betas[t] : 1 - ab[t] / abPrev;
    const alpha = consecutive ? schedule.alphas[t] : 1 - beta;
    betas[i] = beta;
    coef1[i] = beta * Math.sqrt(abPrev) / (1 - ab[t]);
    coef2[i] = (1 - abPrev) * Math.sqrt(alpha) / (1 - ab[t]);
    posterior[i] = beta * (1 - abPrev) / (1 - ab[t]);
  }
  // With a single timestep there is no beta~_1 to clip to: its decoder takes beta_0.
  const clippedFirst = K > 1 ? posterior[1] : betas[0];
  return {
    timesteps, betas, coef1, coef2, posteriorVariance: posterior,
    posteriorLogVarianceClipped: Float64Array.from(posterior, (v, i) => log(i === 0 ? clippedFirst : v)),
    logBetas: betas.map((beta) => log(beta)),
  };
}

/** x0 = onSample · x_t + onOutput · output at ab_t, for each prediction type (as the schedulers compute it). */
export function originalSampleCoefficients(predictionType: PredictionType, ab: number): { onSample: number; onOutput: number } {
  const sqrtAb = Math.sqrt(ab), sqrtOneMinusAb = Math.sqrt(1 - ab);
  switch (predictionType) {
    case 'epsilon': return { onSample: 1 / sqrtAb, onOutput: -sqrtOneMinusAb / sqrtAb };
    case 'sample': return { onSample: 0, onOutput: 1 };
    case 'v_prediction': return { onSample: sqrtAb, onOutput: -sqrtOneMinusAb };
  }
}
