/**
 * Hand-written "models" with the Denoiser surface whose outputs are the exact posterior means of known data, for
 * testing the likelihood and the samplers against closed forms:
 *
 * - `gaussianDenoiser`: data x0 ~ N(mu, s² I). x_t ~ N(sqrt(ab) mu, v I) with v = ab s² + 1 - ab, and
 *   E[x0 | x_t] = mu + sqrt(ab) s² / v (x_t - sqrt(ab) mu), E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) mu) / v:
 *   both linear in x_t, computed in WebAssembly as a[n] x_t + b[n] mu (schedulerAddNoise).
 * - `gaussian8Denoiser`: the 8-mode ring of data/toys.ts, a mixture of 8 Gaussians: E[x0 | x_t] is the
 *   responsibility-weighted mixture of the components' posterior means (computed in float64 JavaScript: a test
 *   fixture, not a library path).
 *
 * Also the closed forms the tests compare with: the Gaussian's entropy and the expected terms of its bound.
 */
import { GAUSSIAN8_CENTERS, GAUSSIAN8_STD, ops, Tensor, type Denoiser, type PredictionType } from '../../bindings/index.ts';
import { ParameterSet } from '../../bindings/nn/parameters.ts';

interface Schedule { alphasCumprod: Float64Array; betas: Float64Array; alphas: Float64Array }

/** The model output (eps, x0 or v) from E[eps | x_t] and E[x0 | x_t], given as linear maps a·x + b·mu. */
function outputOf(predictionType: PredictionType, ab: number, eps: [number, number], x0: [number, number]): [number, number] {
  if (predictionType === 'epsilon') return eps;
  if (predictionType === 'sample') return x0;
  return [Math.sqrt(ab) * eps[0] - Math.sqrt(1 - ab) * x0[0], Math.sqrt(ab) * eps[1] - Math.sqrt(1 - ab) * x0[1]];
}

function surface(sampleShape: number[], forward: Denoiser['forward']): Denoiser {
  return {
    kind: 'exact', config: {}, params: new ParameterSet(), sampleShape, numClasses: 0, forward,
    backward: () => { throw new Error('exact models do not train'); },
  };
}

/** The exact denoiser of N(mu, s² I) data of shape `sampleShape` (mu: one mean per element of a sample). */
export function gaussianDenoiser(schedule: Schedule, mu: readonly number[], s: number, predictionType: PredictionType, sampleShape = [mu.length]): Denoiser {
  return surface(sampleShape, (x, timesteps) => {
    const N = x.shape[0];
    const a = new Float64Array(N), b = new Float64Array(N);
    timesteps.forEach((t, n) => {
      const ab = schedule.alphasCumprod[t], v = ab * s * s + 1 - ab;
      const eps: [number, number] = [Math.sqrt(1 - ab) / v, -Math.sqrt(1 - ab) * Math.sqrt(ab) / v];
      const x0: [number, number] = [Math.sqrt(ab) * s * s / v, (1 - ab) / v];
      [a[n], b[n]] = outputOf(predictionType, ab, eps, x0);
    });
    const means = Tensor.from(Float32Array.from({ length: x.size }, (_, i) => mu[i % mu.length]), x.shape);
    try {
      return ops.schedulerAddNoise(x, means, a, b);
    } finally {
      means.dispose();
    }
  });
}

/** The ring's mode centres and the modes' standard deviation, as data/toys.ts draws them. */
export const RING_CENTERS = GAUSSIAN8_CENTERS.map(([cx, cy]) => [4 * cx / Math.SQRT2, 4 * cy / Math.SQRT2]);
export const RING_STD = GAUSSIAN8_STD;

/** The exact denoiser of gaussian8 (see the top of the file). */
export function gaussian8Denoiser(schedule: Schedule, predictionType: PredictionType): Denoiser {
  const s2 = RING_STD * RING_STD;
  return surface([2], (x, timesteps) => {
    const values = x.toFloat32Array();
    const out = new Float32Array(values.length);
    timesteps.forEach((t, n) => {
      const ab = schedule.alphasCumprod[t], v = ab * s2 + 1 - ab, r = Math.sqrt(ab);
      const px = values[2 * n], py = values[2 * n + 1];
      const logits = RING_CENTERS.map(([cx, cy]) => -((px - r * cx) ** 2 + (py - r * cy) ** 2) / (2 * v));
      const top = Math.max(...logits);
      const weights = logits.map((l) => Math.exp(l - top));
      const total = weights.reduce((s, w) => s + w, 0);
      let x0x = 0, x0y = 0;
      RING_CENTERS.forEach(([cx, cy], k) => {
        x0x += weights[k] / total * (cx + r * s2 / v * (px - r * cx));
        x0y += weights[k] / total * (cy + r * s2 / v * (py - r * cy));
      });
      const ex = (px - r * x0x) / Math.sqrt(1 - ab), ey = (py - r * x0y) / Math.sqrt(1 - ab);
      const [ox] = outputOf(predictionType, ab, [ex, 0], [x0x, 0]);
      const [oy] = outputOf(predictionType, ab, [ey, 0], [x0y, 0]);
      out[2 * n] = ox;
      out[2 * n + 1] = oy;
    });
    return Tensor.from(out, x.shape);
  });
}

/** The entropy of N(mu, s²) per dimension, in nats. */
export const gaussianEntropy = (s: number): number => 0.5 * Math.log(2 * Math.PI * Math.E * s * s);

/**
 * The log-variances of the bound as likelihood/bound.ts documents them, recomputed here in float64 from the
 * schedule: the true posterior's (clipped at t = 0) and the reverse step's, with the posterior mean coefficients.
 */
export function boundTables(schedule: Schedule, varianceType: 'fixed_small' | 'fixed_large', decoder: 'gaussian' | 'discretized') {
  const { betas, alphas, alphasCumprod: ab } = schedule;
  const T = betas.length;
  const abPrev = (t: number) => (t > 0 ? ab[t - 1] : 1);
  const posterior = Array.from(betas, (beta, t) => beta * (1 - abPrev(t)) / (1 - ab[t]));
  const lvQ = posterior.map((v, t) => Math.log(t === 0 ? posterior[1] : v));
  const lvP = varianceType === 'fixed_small' ? lvQ
    : Array.from(betas, (beta, t) => Math.log(t > 0 || decoder === 'gaussian' ? beta : posterior[1]));
  const coef1 = Array.from(betas, (beta, t) => beta * Math.sqrt(abPrev(t)) / (1 - ab[t]));
  const coef2 = Array.from(alphas, (alpha, t) => (1 - abPrev(t)) * Math.sqrt(alpha) / (1 - ab[t]));
  return { T, lvQ, lvP, coef1, coef2 };
}

/**
 * The expected terms of the bound of the exact Gaussian denoiser, per dimension (continuous data, no clipping):
 * prior E KL(N(sqrt(ab_T) x0, 1 - ab_T) || N(0, 1)); for t >= 1 E KL = 0.5 (-1 + lvP - lvQ + e^(lvQ - lvP) +
 * coef1² V_t e^-lvP), V_t = Var(x0 | x_t) = s² (1 - ab_t) / (ab_t s² + 1 - ab_t); decoder 0.5 ln 2π + 0.5 lvP +
 * 0.5 V_0 e^-lvP.
 */
export function expectedGaussianTerms(schedule: Schedule, mu: readonly number[], s: number, varianceType: 'fixed_small' | 'fixed_large') {
  const { T, lvQ, lvP, coef1 } = boundTables(schedule, varianceType, 'gaussian');
  const ab = schedule.alphasCumprod;
  const V = (t: number) => s * s * (1 - ab[t]) / (ab[t] * s * s + 1 - ab[t]);
  const meanSquare = mu.reduce((sum, m) => sum + m * m, 0) / mu.length;
  const aT = ab[T - 1];
  const prior = 0.5 * (-1 - Math.log(1 - aT) + (1 - aT) + aT * (meanSquare + s * s));
  const perTimestep = Array.from({ length: T }, (_, t) => (t === 0
    ? 0.5 * Math.log(2 * Math.PI) + 0.5 * lvP[0] + 0.5 * V(0) * Math.exp(-lvP[0])
    : 0.5 * (-1 + lvP[t] - lvQ[t] + Math.exp(lvQ[t] - lvP[t]) + coef1[t] ** 2 * V(t) * Math.exp(-lvP[t]))));
  const total = prior + perTimestep.reduce((a, b) => a + b, 0);
  return { prior, perTimestep, total };
}

/**
 * The same expectation by the other decomposition, E[L] = H(x0) + KL(q(x_T) || N(0, I)) + sum over t of
 * E KL(q(x_{t-1} | x_t) || p(x_{t-1} | x_t)): for Gaussian data the true reverse step is Gaussian with the model's
 * mean and variance beta~_t + coef1² V_t (V_0 for the decoder), so each of these KLs compares two variances only.
 */
export function gaussianBoundGap(schedule: Schedule, mu: readonly number[], s: number, varianceType: 'fixed_small' | 'fixed_large') {
  const { T, lvQ, lvP, coef1 } = boundTables(schedule, varianceType, 'gaussian');
  const ab = schedule.alphasCumprod;
  const V = (t: number) => s * s * (1 - ab[t]) / (ab[t] * s * s + 1 - ab[t]);
  const varianceKL = (trueVariance: number, logVariance: number) =>
    0.5 * (trueVariance / Math.exp(logVariance) - 1 - Math.log(trueVariance) + logVariance);
  const aT = ab[T - 1], vT = aT * s * s + 1 - aT;
  const meanSquare = mu.reduce((sum, m) => sum + m * m, 0) / mu.length;
  let gap = 0.5 * (vT + aT * meanSquare - 1 - Math.log(vT));
  for (let t = 1; t < T; t++) gap += varianceKL(Math.exp(lvQ[t]) + coef1[t] ** 2 * V(t), lvP[t]);
  gap += varianceKL(V(0), lvP[0]);
  return gap;
}

/** log q(x) of the ring after noising to ab (each mode N(sqrt(ab) c, (ab s² + 1 - ab) I)); ab = 1 is the data. */
function ringLogDensity(x: number, y: number, ab: number): number {
  const v = ab * RING_STD * RING_STD + 1 - ab, r = Math.sqrt(ab);
  const logits = RING_CENTERS.map(([cx, cy]) => -((x - r * cx) ** 2 + (y - r * cy) ** 2) / (2 * v));
  const top = Math.max(...logits);
  return top + Math.log(logits.reduce((s, l) => s + Math.exp(l - top), 0) / 8) - Math.log(2 * Math.PI * v);
}

/**
 * Integrals over a grid of [-L, L]² in float64 (the midpoint rule, spacing h), per dimension (halved): the
 * entropy -∫ q log q of the ring noised to ab, and KL(q || N(0, I)). The densities are smooth and negligible
 * beyond L = 8, so the rule is accurate far below the tests' tolerances (the total mass is checked).
 */
export function ringIntegrals(ab = 1, h = 0.02, L = 8): { mass: number; entropy: number; klToStandardNormal: number } {
  let mass = 0, entropy = 0, kl = 0;
  const n = Math.round(2 * L / h);
  for (let i = 0; i < n; i++) {
    const x = -L + (i + 0.5) * h;
    for (let j = 0; j < n; j++) {
      const y = -L + (j + 0.5) * h;
      const lq = ringLogDensity(x, y, ab), q = Math.exp(lq);
      mass += q;
      entropy -= q * lq;
      kl += q * (lq + 0.5 * (x * x + y * y) + Math.log(2 * Math.PI));
    }
  }
  return { mass: mass * h * h, entropy: entropy * h * h / 2, klToStandardNormal: kl * h * h / 2 };
}
