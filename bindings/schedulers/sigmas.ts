/**
 * Noise levels as sigmas, for the solvers of the ODE view (Karras et al. 2022, "Elucidating the design space of
 * diffusion-based generative models"; Lu et al. 2022, DPM-Solver): a VP sample x_t = alpha_t x0 + sigma_t eps is
 * x_t / alpha_t = x0 + sigma eps in the VE view, with sigma = sigma_t / alpha_t = sqrt((1 - ab_t) / ab_t). The
 * helpers follow diffusers' arithmetic (numpy's interp and linspace, the Karras ramp with rho = 7, `_sigma_to_t`),
 * in float64, with exp, log and pow from the WebAssembly core.
 */
import { log, pow } from '../ops/math.ts';

/** sigma_t = sqrt((1 - ab_t) / ab_t) for every training timestep (increasing with t). */
export function sigmasOf(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((ab) => Math.sqrt((1 - ab) / ab));
}

/** The VP pair of a sigma (diffusers' `_sigma_to_alpha_sigma_t`): alpha_t = 1 / sqrt(sigma² + 1), sigma_t = sigma · alpha_t. */
export function alphaSigmaOf(sigma: number): { alpha: number; sigmaT: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return { alpha, sigmaT: sigma * alpha };
}

/** lambda = log(alpha_t) - log(sigma_t), the half log-SNR that DPM-Solver and UniPC step in. */
export function lambdaOf(sigma: number): number {
  const { alpha, sigmaT } = alphaSigmaOf(sigma);
  return log(alpha) - log(sigmaT);
}

/**
 * numpy's interp(x, arange(len(fp)), fp): linear interpolation on the integer grid, exact at grid points, held
 * at the ends.
 */
export function interpolate(x: number, fp: Float64Array): number {
  const last = fp.length - 1;
  if (x >= last) return fp[last];
  if (x <= 0) return fp[0];
  const j = Math.floor(x);
  if (x === j) return fp[j];
  return (fp[j + 1] - fp[j]) * (x - j) + fp[j];
}

/**
 * The Karras et al. (2022, eq. 5) noise levels: n sigmas from sigmaMax down to sigmaMin, evenly spaced in
 * sigma^(1/rho) with rho = 7.
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  const rho = 7;
  const minInvRho = pow(sigmaMin, 1 / rho), maxInvRho = pow(sigmaMax, 1 / rho);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // numpy's linspace(0, 1, n): i / (n - 1) as i · step, the last one exactly 1.
    const ramp = n === 1 ? 0 : i === n - 1 ? 1 : i * (1 / (n - 1));
    out[i] = pow(maxInvRho + ramp * (minInvRho - maxInvRho), rho);
  }
  return out;
}

/**
 * The (fractional) training timestep of a sigma (diffusers' `_sigma_to_t`): linear interpolation in log sigma
 * between the two training timesteps around it; `logSigmas` are the logs of the training sigmas (increasing).
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float64Array): number {
  const logSigma = log(Math.max(sigma, 1e-10));
  // The last training timestep whose log sigma is at most logSigma (0 if none), so that low + 1 exists.
  let low = 0;
  for (let t = 0; t < logSigmas.length; t++) if (logSigma - logSigmas[t] >= 0) low = t;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low], hi = logSigmas[low + 1];
  const w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}
